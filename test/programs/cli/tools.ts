/**
 * The real helm and kubectl binaries, fetched by scripts/fetch-tools.sh into .tmp/tools (cached),
 * so that a clean CI machine gets them without making them dependencies.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const REPO = path.join(__dirname, '..', '..', '..');

/** Fetches (once) and returns the path of `helm` or `kubectl`. */
export function tool(name: 'helm' | 'kubectl'): string {
  return execFileSync(path.join(REPO, 'scripts', 'fetch-tools.sh'), [name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/** Bundles the CLI and the webhook server as the build does; returns the bundled CLI's path. */
export function bundle(): string {
  execFileSync(process.execPath, ['scripts/bundle.mjs'], { cwd: REPO, stdio: 'pipe' });
  return path.join(REPO, 'lib', 'bundle', 'cli.js');
}

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program and returns its exit code and output; never throws on a non-zero exit. */
export function run(command: string, args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Run {
  const result = spawnSync(command, args, {
    input: options.input,
    env: options.env ?? process.env,
    cwd: options.cwd ?? REPO,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Writes the README's Helm 4 post-renderer plugin (type postrenderer/v1, running
 * `cdk8s-shm inject` from the bundled CLI at `cli`) into a new directory `dir`, for
 * `helm plugin install DIR`; returns `dir`. Its name is `cdk8s-shm`.
 */
export function writePostRendererPlugin(dir: string, cli: string): string {
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'plugin.yaml'), [
    'apiVersion: v1',
    'name: cdk8s-shm',
    'type: postrenderer/v1',
    'version: 0.1.0',
    'runtime: subprocess',
    'runtimeConfig:',
    '  platformCommand:',
    '    - command: ${HELM_PLUGIN_DIR}/inject.sh',
    '',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'inject.sh'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} inject "$@"\n`, { mode: 0o755 });
  return dir;
}

/** What a measured `node` process used, from its own `process.resourceUsage()` at exit. */
export interface NodeUsage {
  readonly status: number | null;
  readonly stderr: string;
  readonly wallMs: number;
  /** User plus system CPU time. */
  readonly cpuMs: number;
  /** Peak resident set size. */
  readonly maxRssMiB: number;
}

/** Reports the process's resource usage into the file named by CDK8S_SHM_USAGE_FILE as it exits. */
const USAGE_PRELOAD = `process.on('exit', () => {
  const u = process.resourceUsage();
  require('fs').writeFileSync(process.env.CDK8S_SHM_USAGE_FILE, JSON.stringify({ cpuUs: u.userCPUTime + u.systemCPUTime, maxRssKiB: u.maxRSS }));
});
`;

/**
 * Runs `node SCRIPT ARGS` with standard output into `stdoutFile` and reports its CPU time and peak
 * RSS as the process itself saw them (a preloaded exit hook), so that nothing else in this process
 * is counted.
 */
export function runNodeMeasured(script: string, args: readonly string[], stdoutFile: string): NodeUsage {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-shm-usage-'));
  try {
    const preload = path.join(dir, 'usage.js');
    const usageFile = path.join(dir, 'usage.json');
    fs.writeFileSync(preload, USAGE_PRELOAD);
    const out = fs.openSync(stdoutFile, 'w');
    const started = process.hrtime.bigint();
    let result;
    try {
      result = spawnSync(process.execPath, ['--require', preload, script, ...args], {
        cwd: REPO,
        env: { ...process.env, CDK8S_SHM_USAGE_FILE: usageFile },
        stdio: ['ignore', out, 'pipe'],
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      });
    } finally {
      fs.closeSync(out);
    }
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    if (result.error) throw result.error;
    const usage = JSON.parse(fs.readFileSync(usageFile, 'utf8')) as { cpuUs: number; maxRssKiB: number };
    return { status: result.status, stderr: result.stderr, wallMs, cpuMs: usage.cpuUs / 1000, maxRssMiB: usage.maxRssKiB / 1024 };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
