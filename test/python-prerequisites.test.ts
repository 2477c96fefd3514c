/**
 * scripts/python-prerequisites.sh, which .ci/run calls before anything builds the wheel: on a
 * Debian machine whose python3 lacks venv and ensurepip (python3-venv is a package of its own
 * there) it installs them with apt-get, through sudo when it is not root; where they are there it
 * changes nothing; without apt-get it says what is missing. The machine is a PATH of stand-ins: a
 * python3 that has venv once python3-venv is installed, an apt-get and a sudo that record their
 * calls, an id that says who runs it.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const SCRIPT = path.join(__dirname, '..', 'scripts', 'python-prerequisites.sh');

interface Machine {
  /** Whether python3 can make a virtual environment with pip from the start. */
  readonly venv: boolean;
  readonly root: boolean;
  readonly aptGet: boolean;
}

function run(machine: Machine): { status: number | null; stderr: string; calls: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-shm-python-prereq-'));
  const bin = path.join(dir, 'bin');
  const log = path.join(dir, 'calls');
  const installed = path.join(dir, 'python3-venv-installed');
  fs.mkdirSync(bin);
  if (machine.venv) fs.writeFileSync(installed, '');
  const stub = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  stub('python3', `[ -e '${installed}' ]`);
  stub('id', `echo ${machine.root ? 0 : 1000}`);
  fs.symlinkSync('/usr/bin/env', path.join(bin, 'env'));
  if (machine.aptGet) {
    stub('apt-get', `echo "apt-get $*" >> '${log}'\ncase "$*" in *python3-venv*) : > '${installed}';; esac`);
  }
  stub('sudo', `echo "sudo $*" >> '${log}'\nexec "$@"`);
  try {
    const result = spawnSync('/bin/sh', [SCRIPT], { encoding: 'utf8', env: { PATH: bin } });
    const calls = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [];
    return { status: result.status, stderr: result.stderr, calls };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('where python3 has venv and ensurepip, nothing is installed', () => {
  expect(run({ venv: true, root: true, aptGet: true })).toEqual({ status: 0, stderr: '', calls: [] });
});

test('on Debian as root, apt-get installs python3-venv', () => {
  const result = run({ venv: false, root: true, aptGet: true });
  expect(result.status).toBe(0);
  expect(result.calls).toEqual([
    'apt-get update -qq',
    'apt-get install -y -qq --no-install-recommends python3 python3-venv',
  ]);
});

test('on Debian as another user, through sudo', () => {
  const result = run({ venv: false, root: false, aptGet: true });
  expect(result.status).toBe(0);
  expect(result.calls).toEqual([
    'sudo apt-get update -qq',
    'apt-get update -qq',
    'sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv',
    'apt-get install -y -qq --no-install-recommends python3 python3-venv',
  ]);
});

test('without apt-get, it fails saying what is missing', () => {
  const result = run({ venv: false, root: true, aptGet: false });
  expect(result.status).toBe(1);
  expect(result.stderr).toContain('python3 with its venv module and ensurepip is needed');
});
