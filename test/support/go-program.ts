/**
 * Small Go programs the tests use as oracles (the runtime's own path cleaning, the API server's
 * CEL): built from test/support/go/<name> with the local Go toolchain and the Go module proxy,
 * cached under ~/.cache/cdk8s-shm/go by a hash of their sources and the Go version, so that only
 * the first run pays for the build.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const SOURCES = path.join(__dirname, 'go');
const CACHE = path.join(os.homedir(), '.cache', 'cdk8s-shm', 'go');

/** Builds (once) and returns the path of the program in test/support/go/<name>. */
export function goProgram(name: string): string {
  const dir = path.join(SOURCES, name);
  const hash = crypto.createHash('sha256');
  hash.update(execFileSync('go', ['version'], { encoding: 'utf8' }));
  for (const file of fs.readdirSync(dir).sort()) hash.update(file).update(fs.readFileSync(path.join(dir, file)));
  const binary = path.join(CACHE, `${name}-${hash.digest('hex').slice(0, 16)}`);
  if (fs.existsSync(binary)) return binary;
  fs.mkdirSync(CACHE, { recursive: true });
  // Another test worker may build at the same time: build to a private name, then rename.
  const temporary = `${binary}.${process.pid}.tmp`;
  // The machine is shared: no more than two compiler processes.
  const result = spawnSync('go', ['build', '-p', '2', '-o', temporary, '.'], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, GOMAXPROCS: '2', GOFLAGS: '-mod=readonly', GOTOOLCHAIN: 'local' },
  });
  if (result.status !== 0) throw new Error(`go build in ${dir} failed: ${result.stderr || result.error}`);
  fs.renameSync(temporary, binary);
  return binary;
}

/** Runs a built program with JSON on stdin and returns its JSON answer. */
export function runGoProgram<T>(binary: string, input: unknown): T {
  return JSON.parse(execFileSync(binary, [], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }));
}
