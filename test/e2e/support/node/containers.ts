/**
 * Reading what the containers on the real node did: their pods, their ends (OOM kills, start
 * errors), the lines they printed (through the API server: `kubectl logs`), and the transcript the
 * e2e prints after its summary.
 */
import * as fs from 'fs';
import { controlPlane } from '../control-plane';
import { Kube, eventually, runAsync } from '../kube';

/**
 * The pods a workload's controllers made: owned by it, or by a ReplicaSet or Job it owns (a
 * Deployment's, a CronJob's), found through their owner references.
 */
export async function podsOwnedBy(kube: Kube, namespace: string, kind: string, name: string): Promise<any[]> {
  const middle = [...await kube.list('replicasets', namespace), ...await kube.list('jobs', namespace)];
  const owns = (o: any, k: string, n: string) => (o.metadata.ownerReferences ?? []).some((r: any) => r.kind === k && r.name === n);
  const owners = [{ kind, name }, ...middle.filter(m => owns(m, kind, name)).map(m => ({ kind: m.kind, name: m.metadata.name }))];
  return (await kube.list('pods', namespace)).filter((p: any) => owners.some(o => owns(p, o.kind, o.name)));
}

/** The pods of a namespace whose name starts with `prefix`. */
export async function podsNamed(kube: Kube, namespace: string, prefix: string): Promise<any[]> {
  return (await kube.list('pods', namespace)).filter((p: any) => p.metadata.name.startsWith(prefix));
}

/** Waits for the first pod whose name starts with `prefix` to satisfy `ready`, and returns it. */
export async function waitForPod(
  kube: Kube, namespace: string, prefix: string, what: string, ready: (pod: any) => boolean, timeoutMs = 180_000,
): Promise<any> {
  let last: any;
  try {
    return await eventually(`pod ${namespace}/${prefix}*: ${what}`, async () => {
      const pods = await podsNamed(kube, namespace, prefix);
      last = pods[0];
      return pods.find(ready);
    }, timeoutMs, 500);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nlast seen: ${JSON.stringify(last?.status ?? null)}`);
  }
}

/** The status of one container (init containers included). */
export function containerStatus(pod: any, container: string): any {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].find((s: any) => s.name === container);
}

/** How a container ended, as the kubelet reported it. */
export interface ContainerEnd {
  readonly containerID: string;
  readonly reason: string;
  readonly exitCode: number;
  readonly message?: string;
}

/**
 * Watches the pods of a namespace (`kubectl get pods --watch`, every update the API server
 * stores) and collects each end of `container` in a pod named `prefix*`, in order, until `enough`
 * says so. A restart can follow an end within a second: polling would miss ends that watching sees.
 */
export async function watchContainerEnds(
  kube: Kube, namespace: string, prefix: string, container: string, enough: (ends: readonly ContainerEnd[]) => boolean, timeoutMs = 240_000,
): Promise<ContainerEnd[]> {
  const ends: ContainerEnd[] = [];
  const deadline = Date.now() + timeoutMs;
  // One watch of 20 s after another (kubectl is stopped at the end of each); each starts with the
  // current state, so only an end replaced within the moment between two watches could be missed.
  let output = '';
  while (!enough(ends)) {
    if (Date.now() > deadline) {
      throw new Error(`${namespace}/${prefix}* container ${container}: ${ends.length} ends seen within ${timeoutMs / 1000} s: ${JSON.stringify(ends)}; the last watch printed: ${output.slice(-2000)}`);
    }
    const run = await runAsync(kube.kubectlPath, ['--kubeconfig', kube.kubeconfig, 'get', 'pods', '-n', namespace, '--watch', '-o', 'json'], { timeoutMs: 20_000 });
    output = `${run.stdout}${run.stderr}`;
    // One indented JSON object per update: each ends with a "}" of its own at the start of a line.
    const pods = run.stdout.split(/^}$/m).filter(text => text.trim().startsWith('{')).map(text => JSON.parse(`${text}}`));
    for (const pod of pods) {
      if (!pod.metadata.name.startsWith(prefix)) continue;
      const status = (pod.status?.containerStatuses ?? []).find((s: any) => s.name === container);
      // An end shows as the state until the restart, then as the last state.
      for (const end of [status?.lastState?.terminated, status?.state?.terminated]) {
        if (!end?.containerID || ends.some(e => e.containerID === end.containerID)) continue;
        ends.push({ containerID: end.containerID, reason: end.reason, exitCode: end.exitCode, ...(end.message ? { message: end.message } : {}) });
      }
    }
  }
  return ends;
}

/** A container printed `marker` on a line of its own (read through the API server: kubectl logs). */
export async function waitForLine(
  kube: Kube, namespace: string, pod: string, container: string, marker: string, timeoutMs = 180_000,
): Promise<string[]> {
  return eventually(`${namespace}/${pod} container ${container} printed '${marker}'`, async () => {
    const lines = await logLines(kube, namespace, pod, container);
    return lines.includes(marker) ? lines : undefined;
  }, timeoutMs, 500);
}

export async function logLines(kube: Kube, namespace: string, pod: string, container: string, previous = false): Promise<string[]> {
  const run = await kube.kubectl(['logs', '-n', namespace, pod, '-c', container, ...(previous ? ['--previous'] : [])], { allowFailure: true });
  if (run.status !== 0) throw new Error(run.stderr.trim());
  return run.stdout.split('\n').filter(Boolean);
}

/** The value after `key ` on the line that starts with it (`df 65536` -> `65536`). */
export function field(lines: readonly string[], key: string): string {
  const line = lines.find(l => l.startsWith(`${key} `));
  if (line === undefined) throw new Error(`no line '${key} ...' in:\n${lines.join('\n')}`);
  return line.slice(key.length + 1);
}

/** The script of the articles' experiment: `df` of /dev/shm, then `dd` of `mib` MiB into it, then what was written. */
export function fillScript(mib: number, then = 'exec sleep 3600'): string {
  return [
    'echo "df $(df -k /dev/shm | tail -1)"',
    'echo "mount $(grep " /dev/shm " /proc/mounts)"',
    `dd if=/dev/zero of=/dev/shm/fill bs=1M count=${mib} 2>/tmp/dd.err; echo "dd-exit $?"`,
    'echo "dd-error $(head -1 /tmp/dd.err)"',
    'echo "dd-last $(tail -1 /tmp/dd.err)"',
    'echo "written $(stat -c %s /dev/shm/fill)"',
    'echo done',
    then,
  ].join('\n');
}

/** `df -k` of /dev/shm as a container printed it: the size in KiB (the second field). */
export function dfKib(lines: readonly string[]): number {
  return Number(field(lines, 'df').trim().split(/\s+/)[1]);
}

/** Adds a line to the transcript global-teardown.ts prints after the summary. */
export function transcript(line: string): void {
  fs.appendFileSync(`${controlPlane().dir}/transcript.txt`, `${line}\n`);
}
