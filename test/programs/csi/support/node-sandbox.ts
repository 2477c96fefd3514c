/**
 * A node, as far as the CSI plugin can tell, inside private Linux namespaces (as root): nothing
 * of the machine's own mounts, /dev/shm or IPC objects is touched.
 *
 * - The sandbox: a mount and IPC namespace standing in for the node's. A tmpfs there (`rshared`,
 *   like a node's root mount) holds the node's /run stand-in (where the domain directory is) and
 *   the kubelet's pods directory.
 * - The plugin "container": its own mount namespace below the sandbox's, with the domain directory
 *   bound rshared (the DaemonSet's Bidirectional hostPath mount) and the bundled plugin running in
 *   it, serving a unix socket the test talks to as the kubelet would.
 * - "Pods": processes in their own IPC and mount namespace (below the sandbox's) with a published
 *   target bound at /dev/shm, as a container runtime binds a volume into a container.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const PLUGIN_BUNDLE = path.join(__dirname, '..', '..', '..', '..', 'lib', 'bundle', 'csi-plugin.js');
const CSI_PROTO = path.join(__dirname, '..', '..', '..', '..', 'src', 'programs', 'csi', 'proto', 'csi.proto');

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface PluginProcess {
  readonly child: ChildProcess;
  readonly socket: string;
  /** The plugin's JSON log lines so far. */
  logs(): any[];
  /** The log lines with this message, once there are at least `count` of them (they arrive through a pipe, after the answer). */
  waitForLogs(msg: string, count?: number): Promise<any[]>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

export class NodeSandbox {
  /** Starts the sandbox; `dispose()` ends it and everything in it. */
  public static async start(): Promise<NodeSandbox> {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'shm-csi-'));
    const node = path.join(work, 'node');
    fs.mkdirSync(node);
    const child = spawn('unshare', ['--mount', '--ipc', '--fork', '--kill-child', '--propagation', 'private', 'bash', '-c', [
      'set -e',
      `mount -t tmpfs -o size=16m node-root '${node}'`,
      `mount --make-rshared '${node}'`,
      `mkdir -p '${node}/run/cdk8s-shm/agent' '${node}/kubelet/pods'`,
      'echo "ready $$"',
      'exec sleep 3600',
    ].join('\n')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      let err = '';
      child.stdout!.on('data', chunk => {
        out += chunk;
        const match = /ready (\d+)/.exec(out);
        if (match) resolve(Number(match[1]));
      });
      child.stderr!.on('data', chunk => { err += chunk; });
      child.on('exit', code => reject(new Error(`the sandbox exited (${code}): ${err}`)));
    });
    return new NodeSandbox(work, node, pid, child);
  }

  /** The domain directory on the "node" (a hostPath of the DaemonSet). */
  public readonly domainDir: string;
  /** The kubelet's pods directory on the "node". */
  public readonly podsDir: string;
  private readonly plugins: PluginProcess[] = [];
  private pluginRuns = 0;

  private constructor(public readonly work: string, public readonly node: string, public readonly pid: number, private readonly child: ChildProcess) {
    this.domainDir = path.join(node, 'run', 'cdk8s-shm', 'agent');
    this.podsDir = path.join(node, 'kubelet', 'pods');
  }

  /** Runs a bash script in the sandbox's mount and IPC namespaces (the node's view). */
  public run(script: string, env: Record<string, string> = {}): RunResult {
    const result = spawnSync('nsenter', ['-t', String(this.pid), '-m', '-i', '--', 'bash', '-c', script], {
      encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  /**
   * Runs `command` as a container of a pod whose volume is published at `target`: its own IPC and
   * mount namespace, the target bound at /dev/shm (propagation None, as the runtime does it).
   */
  public inPod(target: string, command: string, env: Record<string, string> = {}): RunResult {
    return this.run(`unshare --ipc --mount --propagation unchanged sh -c 'mount --rbind "$TARGET" /dev/shm && mount --make-rprivate /dev/shm && ${command.replace(/'/g, "'\\''")}'`,
      { TARGET: target, ...env });
  }

  /**
   * Starts the bundled plugin in its own "container" with `args` after the sandbox's paths.
   * @param mountTools a directory whose `mount` and `umount` the plugin runs instead of the machine's
   */
  public async startPlugin(args: readonly string[], mountTools?: string): Promise<PluginProcess> {
    const container = path.join(this.work, `plugin-${++this.pluginRuns}`);
    const domainInContainer = path.join(container, 'shm-domain');
    const staging = path.join(container, 'staging');
    const socket = path.join(this.work, 'csi', 'csi.sock');
    fs.mkdirSync(domainInContainer, { recursive: true });
    fs.mkdirSync(staging, { recursive: true });
    const argv = [
      `--endpoint=${socket}`, `--domain-path=${domainInContainer}`, `--target-root=${this.podsDir}`, `--staging-path=${staging}`, '--log-level=debug', ...args,
    ];
    const child = spawn('nsenter', ['-t', String(this.pid), '-m', '-i', '--', 'unshare', '--mount', '--propagation', 'unchanged', 'sh', '-c',
      // The DaemonSet's Bidirectional hostPath mount of the domain directory.
      `mount --rbind '${this.domainDir}' '${domainInContainer}' && mount --make-rshared '${domainInContainer}' && PATH="$PLUGIN_PATH" exec "$@"`,
      'plugin', process.execPath, PLUGIN_BUNDLE, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PLUGIN_PATH: mountTools ? `${mountTools}:${process.env.PATH}` : process.env.PATH },
    });
    const lines: string[] = [];
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)));
    const logs = () => lines.map(line => {
      try {
        return JSON.parse(line);
      } catch {
        return { unparsed: line };
      }
    });
    // Serving once the log says so; fail fast if it exits first.
    const deadline = Date.now() + 20_000;
    while (!logs().some(l => l.msg === 'serving')) {
      if (child.exitCode !== null) throw new Error(`the plugin exited (${child.exitCode}): ${stderr}\n${lines.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`the plugin did not start: ${stderr}\n${lines.join('\n')}`);
      await new Promise(r => setTimeout(r, 50));
    }
    const waitForLogs = async (msg: string, count = 1) => {
      const until = Date.now() + 5_000;
      for (;;) {
        const found = logs().filter(l => l.msg === msg);
        if (found.length >= count || Date.now() > until) return found;
        await new Promise(r => setTimeout(r, 20));
      }
    };
    const plugin: PluginProcess = {
      child,
      socket,
      logs,
      waitForLogs,
      stop: async () => {
        if (child.exitCode === null) child.kill('SIGTERM');
        return exited;
      },
    };
    this.plugins.push(plugin);
    return plugin;
  }

  /** A target path as the kubelet makes it for a pod's inline volume. */
  public targetFor(podUid: string, volume = 'shm'): string {
    return path.join(this.podsDir, podUid, 'volumes', 'kubernetes.io~csi', volume, 'mount');
  }

  /** The sandbox's mountinfo line for `mountPoint`, or undefined. */
  public mountLine(mountPoint: string): string | undefined {
    const lines = this.run('cat /proc/self/mountinfo').stdout.split('\n');
    return lines.filter(line => line.split(' ')[4] === mountPoint).pop();
  }

  public async dispose(): Promise<void> {
    for (const plugin of this.plugins) await plugin.stop();
    // The sandbox's own process (the forked child of unshare), then unshare.
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    if (this.child.exitCode === null) await new Promise(resolve => this.child.on('exit', resolve));
    fs.rmSync(this.work, { recursive: true, force: true });
  }
}

/** A CSI client as the kubelet is one: Identity and Node over the plugin's unix socket. */
export class CsiClient {
  private readonly identity: grpc.Client;
  private readonly nodeClient: grpc.Client;

  constructor(socket: string) {
    const definition = protoLoader.loadSync(CSI_PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    const csi = (grpc.loadPackageDefinition(definition).csi as grpc.GrpcObject).v1 as grpc.GrpcObject;
    const address = `unix://${socket}`;
    this.identity = new (csi.Identity as grpc.ServiceClientConstructor)(address, grpc.credentials.createInsecure());
    this.nodeClient = new (csi.Node as grpc.ServiceClientConstructor)(address, grpc.credentials.createInsecure());
  }

  public identityCall(method: string, request: object = {}): Promise<any> {
    return call(this.identity, method, request);
  }

  public node(method: string, request: object = {}): Promise<any> {
    return call(this.nodeClient, method, request);
  }

  public close(): void {
    this.identity.close();
    this.nodeClient.close();
  }
}

/** The response, or `{ code, details }` for a gRPC error. */
function call(client: grpc.Client, method: string, request: object): Promise<any> {
  return new Promise(resolve => {
    (client as any)[method](request, { deadline: Date.now() + 30_000 }, (error: grpc.ServiceError | null, response: any) => {
      resolve(error ? { code: error.code, details: error.details } : response);
    });
  });
}

/** The volume context the kubelet sends (podInfoOnMount: true) for pod `name` of `namespace`. */
export function podContext(namespace: string, name: string, serviceAccount = 'default', domain = 'agent'): Record<string, string> {
  return {
    'domain': domain,
    'csi.storage.k8s.io/ephemeral': 'true',
    'csi.storage.k8s.io/pod.namespace': namespace,
    'csi.storage.k8s.io/pod.name': name,
    'csi.storage.k8s.io/pod.uid': `uid-${name}`,
    'csi.storage.k8s.io/serviceAccount.name': serviceAccount,
  };
}

/** A mount volume capability, as the kubelet sends for an inline volume. */
export const MOUNT_CAPABILITY = { mount: { fs_type: '', mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
