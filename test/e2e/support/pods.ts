/**
 * Comparing what the API server returns with what the core says, for the same pod.
 *
 * The reference is the pod as the API server stores it without the webhook (a server-side dry run
 * in a namespace the webhook does not see: defaulted, with its ServiceAccount token volume, exactly
 * what the webhook is sent). The core plans that pod, and its patch applied to it is what the pod
 * admitted through the webhook must be: not one field more or less.
 */
import { Planner, Policy, applyOperations, planSharedMemory, planToPatch } from '../../../src/core';

/** The pod the core makes of `plain` under `policy`: its plan's patch applied. */
export function expectedPod(plain: any, policy: Policy, planner: Planner = planSharedMemory): any {
  const plan = planner(plain, policy);
  return applyOperations(plain, planToPatch(plan));
}

/**
 * What must agree between two pods: annotations and spec, with the random suffix of the
 * ServiceAccount token volume (`kube-api-access-xxxxx`) made equal.
 */
export function comparable(pod: any): { annotations: Record<string, string>; spec: any } {
  const text = JSON.stringify({ annotations: pod.metadata?.annotations ?? {}, spec: pod.spec });
  return JSON.parse(text.replace(/kube-api-access-[a-z0-9]{5}/g, 'kube-api-access-xxxxx'));
}

/** The `/dev/shm` of a pod in a word: the size of the memory emptyDir mounted there, or what else is. */
export function devShmOf(pod: any): string {
  const spec = pod.spec ?? {};
  const mount = [...(spec.containers ?? []), ...(spec.initContainers ?? [])].flatMap((c: any) => c.volumeMounts ?? []).find((m: any) => m.mountPath === '/dev/shm');
  if (!mount) return 'runtime default';
  const volume = (spec.volumes ?? []).find((v: any) => v.name === mount.name);
  if (volume?.emptyDir?.medium === 'Memory') return volume.emptyDir.sizeLimit ?? 'memory, no sizeLimit';
  return `volume ${mount.name}`;
}
