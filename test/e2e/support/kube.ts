/**
 * kubectl and helm against the e2e control plane, as a user (the admin's client certificate) or
 * as a ServiceAccount (a TokenRequest token). Every call is asynchronous: a test must never block
 * its event loop while the API server calls back into something it runs.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ControlPlaneState, controlPlane, sleep, writeKubeconfig } from './control-plane';
import { tool } from '../../programs/cli/tools';

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** @default 120 s */
  readonly timeoutMs?: number;
}

/** Runs a program to its end; never throws on a non-zero exit (look at `status`). */
export function runAsync(command: string, args: readonly string[], options: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    // Without input, stdin is closed: a program that never reads it (ip, helm) cannot raise EPIPE.
    const stdin = options.input === undefined ? 'ignore' : 'pipe';
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: [stdin, 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', chunk => (stdout += chunk));
    child.stderr?.on('data', chunk => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', error => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', status => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    if (child.stdin) {
      // A program may exit before it reads all its input; its exit status says what went wrong, not EPIPE.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }
  });
}

/** Thrown when kubectl or helm fails; the message has the command and its stderr. */
export class CommandError extends Error {
  constructor(readonly command: string, readonly run: Run) {
    super(`${command} exited ${run.status}: ${run.stderr.trim() || run.stdout.trim()}`);
    this.name = 'CommandError';
  }
}

/** Polls `probe` until it returns something other than undefined; fails naming `what`, with the last error. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(intervalMs);
  }
}

/**
 * Turns objects into the stream kubectl reads: one JSON document each, in order. (Not a `List`:
 * kubectl validates a List against its own copy of the schema instead of asking the API server
 * for strict field validation.)
 */
export function asStream(objects: readonly unknown[]): string {
  return objects.map(object => JSON.stringify(object)).join('\n---\n') + '\n';
}

export class Kube {
  /** The admin (a `system:masters` client certificate). */
  static admin(): Kube {
    const cluster = controlPlane();
    return new Kube(cluster, cluster.adminKubeconfig, 'admin');
  }

  constructor(readonly cluster: ControlPlaneState, readonly kubeconfig: string, readonly who: string) {}

  get kubectlPath(): string {
    return this.cluster.kubectl;
  }

  /** Runs kubectl; throws a CommandError on a non-zero exit unless `allowFailure`. */
  async kubectl(args: readonly string[], options: RunOptions & { allowFailure?: boolean } = {}): Promise<Run> {
    const run = await runAsync(this.kubectlPath, ['--kubeconfig', this.kubeconfig, ...args], { ...options, env: { PATH: process.env.PATH, HOME: this.cluster.dir, ...options.env } });
    if (run.status !== 0 && !options.allowFailure) throw new CommandError(`kubectl ${args.join(' ')} (as ${this.who})`, run);
    return run;
  }

  /** kubectl with `-o json`, parsed. */
  async json(args: readonly string[], options: RunOptions = {}): Promise<any> {
    const run = await this.kubectl([...args, '-o', 'json'], options);
    return JSON.parse(run.stdout);
  }

  /** Creates objects (`kubectl create`); returns them as the API server stored them, in order. */
  async create(objects: readonly unknown[], extra: readonly string[] = []): Promise<any[]> {
    if (objects.length === 0) return [];
    const result = await this.json(['create', '-f', '-', ...extra], { input: asStream(objects) });
    return result.kind === 'List' ? result.items : [result];
  }

  /** Server-side apply (`--force-conflicts`), as a GitOps tool would. */
  async apply(objects: readonly unknown[], extra: readonly string[] = []): Promise<Run> {
    return this.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=cdk8s-shm-e2e', '-f', '-', ...extra], { input: asStream(objects) });
  }

  /** One object, or undefined when it does not exist. */
  async get(resource: string, name: string, namespace?: string): Promise<any | undefined> {
    const run = await this.kubectl(['get', resource, name, ...(namespace ? ['-n', namespace] : []), '-o', 'json'], { allowFailure: true });
    if (run.status === 0) return JSON.parse(run.stdout);
    if (/NotFound|not found/.test(run.stderr)) return undefined;
    throw new CommandError(`kubectl get ${resource} ${name}`, run);
  }

  /** The items of a list (`kubectl get RESOURCE -n NAMESPACE [-l SELECTOR]`). */
  async list(resource: string, namespace: string, selector?: string): Promise<any[]> {
    return (await this.json(['get', resource, '-n', namespace, ...(selector ? ['-l', selector] : [])])).items;
  }

  /** Creates a namespace with these labels (and annotations), or relabels it. */
  async namespace(name: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): Promise<void> {
    await this.namespacesGone([name]);
    await this.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels, annotations } }]);
    // Pods are refused until the namespace has its default ServiceAccount: the controller manager
    // makes it, or, on a control plane without one, this does as the controller would.
    if (!this.cluster.controllerManager) await this.apply([{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: name } }]);
    await eventually(`ServiceAccount default in ${name}`, () => this.get('serviceaccount', 'default', name));
  }

  /**
   * Waits until none of these namespaces is being deleted. Suites share one control plane and
   * delete their namespaces without waiting (`--wait=false`); the API server refuses new content
   * in a terminating namespace, so a suite that takes the same name again waits here first.
   */
  async namespacesGone(names: readonly string[]): Promise<void> {
    for (const name of names) {
      await eventually(`namespace ${name} not terminating`, async () => {
        const found = await this.get('namespace', name);
        return found?.status?.phase === 'Terminating' ? undefined : true;
      }, 180_000);
    }
  }

  /** A bound ServiceAccount token (TokenRequest), as a projected volume would hold it. */
  async token(namespace: string, serviceAccount: string, durationSeconds = 3600): Promise<string> {
    const run = await this.kubectl(['create', 'token', serviceAccount, '-n', namespace, `--duration=${durationSeconds}s`]);
    return run.stdout.trim();
  }

  /** kubectl as that ServiceAccount: a token kubeconfig in the run directory. */
  async asServiceAccount(namespace: string, serviceAccount: string): Promise<Kube> {
    const token = await this.token(namespace, serviceAccount);
    const file = path.join(this.cluster.dir, `sa-${namespace}-${serviceAccount}.kubeconfig`);
    writeKubeconfig(file, this.cluster.server, this.cluster.caFile, { token });
    return new Kube(this.cluster, file, `system:serviceaccount:${namespace}:${serviceAccount}`);
  }

  /** `kubectl auth can-i` for this user. */
  async can(verb: string, resource: string, options: { namespace?: string } = {}): Promise<boolean> {
    const run = await this.kubectl(['auth', 'can-i', verb, resource, ...(options.namespace ? ['-n', options.namespace] : [])], { allowFailure: true });
    return run.stdout.trim() === 'yes';
  }

  /** Runs the real helm (fetched by scripts/fetch-tools.sh) against the control plane; throws on failure unless `allowFailure`. */
  async helm(args: readonly string[], options: RunOptions & { allowFailure?: boolean } = {}): Promise<Run> {
    const home = path.join(this.cluster.dir, 'helm');
    fs.mkdirSync(home, { recursive: true });
    const run = await runAsync(tool('helm'), [...args, '--kubeconfig', this.kubeconfig], {
      ...options,
      env: {
        PATH: `${path.dirname(this.cluster.kubectl)}:${process.env.PATH}`,
        HOME: home,
        HELM_CACHE_HOME: path.join(home, 'cache'),
        HELM_CONFIG_HOME: path.join(home, 'config'),
        HELM_DATA_HOME: path.join(home, 'data'),
        ...options.env,
      },
    });
    if (run.status !== 0 && !options.allowFailure) throw new CommandError(`helm ${args.join(' ')}`, run);
    return run;
  }
}
