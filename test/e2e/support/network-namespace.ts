/**
 * The e2e run's own network: a network namespace that this launcher creates (`ip netns add`),
 * runs the whole jest run in (`nsenter --net`, which switches the network only: the mounts and
 * cgroups stay the machine's, as the kubelet and runc need), and deletes when the run ends. The
 * control plane, the node, the CNI bridge, every pod address and every client of the tests live
 * in it; nothing is ever added to the machine's own interfaces, and no traffic can leave it (its
 * only interfaces are its loopback, the bridge and the pods' veths).
 *
 *   ts-node test/e2e/support/network-namespace.ts COMMAND [ARGS...]
 *
 * `npm run e2e` and `npm run bench` run through it (the pod-creation benchmark starts a control plane).
 *
 * Namespaces of runs that died (their launcher's pid is gone) are deleted first. When the command
 * ends, the launcher checks that the run left nothing on the machine (`runLeftovers`): no process,
 * mount, cgroup or directory of its own, and its namespace (with every interface in it) is gone;
 * anything left fails the run.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { leftovers } from './node/host';
import { alive, runOrThrow } from './process-group';

/** Set for the command: the name of the namespace it runs in. */
export const NETNS_ENV = 'CDK8S_SHM_E2E_NETNS';
/** Set for the command: a file where global-setup.ts writes the run's directory, for the check after it. */
export const RUN_RECORD_ENV = 'CDK8S_SHM_E2E_RUN_RECORD';
const PREFIX = 'cdk8s-shm-e2e-';
const NETNS_DIR = '/run/netns';

/** The addresses inside the namespace. */
export const NETWORK = {
  /** The node's address: on the CNI bridge, which is also the pods' gateway. */
  nodeIp: '10.244.0.1',
  podCidr: '10.244.0.0/24',
  bridge: 'cdk8s-shm0',
  /** ClusterIPs: kube-proxy turns them into the endpoints' addresses, inside the namespace too. */
  serviceCidr: '10.96.0.0/24',
  /** The \`kubernetes\` Service's ClusterIP (the range's first address): what pods dial for the API. */
  kubernetesServiceIp: '10.96.0.1',
} as const;

/**
 * Throws unless this process runs in the network namespace its launcher made (the one
 * /run/netns/NAME holds), never the machine's own: what creates interfaces or binds beyond
 * loopback calls this first.
 */
export function assertRunNamespace(): string {
  const name = process.env[NETNS_ENV];
  if (!name) throw new Error(`not in the e2e run's network namespace (${NETNS_ENV} is not set): run the e2e suites with 'npm run e2e'`);
  const ours = fs.statSync('/proc/self/ns/net');
  const run = fs.statSync(`${NETNS_DIR}/${name}`);
  if (ours.ino !== run.ino || ours.dev !== run.dev) {
    throw new Error(`${NETNS_ENV}=${name}, but this process is not in that network namespace: refusing to touch its interfaces`);
  }
  return name;
}

function ip(args: readonly string[]): void {
  runOrThrow('ip', args);
}

/** Deletes the namespaces of earlier runs whose launcher is gone. */
function reapDeadNamespaces(): void {
  if (!fs.existsSync(NETNS_DIR)) return;
  for (const entry of fs.readdirSync(NETNS_DIR)) {
    const pid = Number(entry.startsWith(PREFIX) ? entry.slice(PREFIX.length) : NaN);
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) {
      try {
        ip(['netns', 'delete', entry]);
      } catch {
        // Another run reaped it first.
      }
    }
  }
}

/** Runs `command` in a fresh namespace and resolves with its exit code; the namespace is deleted after. */
export async function runInNamespace(command: readonly string[]): Promise<number> {
  reapDeadNamespaces();
  const name = `${PREFIX}${process.pid}`;
  const record = path.join(os.tmpdir(), `${name}.run`);
  fs.rmSync(record, { force: true });
  ip(['netns', 'add', name]);
  try {
    ip(['-n', name, 'link', 'set', 'lo', 'up']);
    const child = spawn('nsenter', [`--net=${NETNS_DIR}/${name}`, '--', ...command], {
      stdio: 'inherit',
      env: { ...process.env, [NETNS_ENV]: name, [RUN_RECORD_ENV]: record },
    });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + os.constants.signals[signal] : 1)));
    });
  } finally {
    ip(['netns', 'delete', name]);
  }
}

/** What a finished run left on the machine; empty when nothing. */
export function runLeftovers(name: string, record: string): string[] {
  const left: string[] = [];
  if (fs.existsSync(`${NETNS_DIR}/${name}`)) left.push(`network namespace ${name}`);
  const dir = fs.existsSync(record) ? fs.readFileSync(record, 'utf8').trim() : '';
  if (dir) {
    left.push(...leftovers(dir, path.basename(dir)));
    if (fs.existsSync(dir)) left.push(`directory ${dir}`);
    for (const entry of fs.readdirSync('/proc').filter(e => /^\d+$/.test(e))) {
      try {
        if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir)) left.push(`process ${entry}`);
      } catch {
        // gone
      }
    }
  }
  return left;
}

if (require.main === module) {
  const command = process.argv.slice(2);
  if (command.length === 0) {
    process.stderr.write('usage: network-namespace.ts COMMAND [ARGS...]\n');
    process.exit(2);
  }
  runInNamespace(command).then(code => {
    const name = `${PREFIX}${process.pid}`;
    const record = path.join(os.tmpdir(), `${name}.run`);
    const left = runLeftovers(name, record);
    fs.rmSync(record, { force: true });
    if (left.length > 0) {
      process.stderr.write(`the run left these on the machine:\n  ${left.join('\n  ')}\n`);
      process.exit(code === 0 ? 1 : code);
    }
    process.stdout.write('The run left nothing behind: no process, mount, cgroup, directory, network namespace or interface of its own.\n');
    process.exit(code);
  }, error => {
    process.stderr.write(`network-namespace: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
