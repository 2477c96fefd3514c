/**
 * The library as npm publishes it, in apps as users make them: `npm pack` of the repository (lib/
 * must be built: `npm test` compiles first), and apps that install it beside their own
 * dependencies from the npm registry.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const REPO = path.join(__dirname, '..', '..');

/** Runs a command; returns its standard output, or throws with both outputs. */
export function run(command: string, args: readonly string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** Packs the library into `root`; returns the tarball's path. */
export function packLibrary(root: string): string {
  const name = execFileSync('npm', ['pack', REPO, '--pack-destination', root, '--loglevel=error'], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop()!;
  return path.join(root, name);
}

/**
 * Makes an app in `dir` with these dependencies and the packed library, and installs it. `plus28`,
 * the tarball of cdk8s-shm-plus-28, goes in too when given.
 */
export function installApp(dir: string, dependencies: Record<string, string>, tarball: string, plus28?: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const ours = { 'cdk8s-shm': `file:${tarball}`, ...(plus28 ? { 'cdk8s-shm-plus-28': `file:${plus28}` } : {}) };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({
    name: 'app', version: '1.0.0', private: true, dependencies: { ...dependencies, ...ours },
  }, null, 2));
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], dir);
}
