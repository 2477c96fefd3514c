/**
 * The pods of the pod-creation benchmark (bench/admission.ts), in three populations:
 *
 * - `sized`: pods the rule sizes (an app container, a native sidecar and an init container, all
 *   with memory limits: 2Gi);
 * - `nothing`: pods that need nothing, in turn: one already sized as a construct writes it (the
 *   core's patch, which `SharedMemory.addTo` applies, with its `cdk8s-shm.io/size-limit`), one
 *   opted out, one without a memory limit, one for Windows;
 * - `mix`: as a namespace has them, most needing nothing: one sized pod in five.
 *
 * Each pod carries its kind as a label, so that the end of the run can check what each way in
 * made of it.
 */
import { DEFAULT_VOLUME_NAME, SIZE_LIMIT_ANNOTATION, INJECT_ANNOTATION, applyOperations, planSharedMemory, planToPatch, resolvePolicy } from '../src/core';

export type Population = 'sized' | 'nothing' | 'mix';
export const POPULATIONS: readonly Population[] = ['sized', 'nothing', 'mix'];

/** What a pod is, as its `bench-kind` label says. */
export type PodKind = 'sized' | 'construct' | 'opted-out' | 'no-limit' | 'windows';
const NEED_NOTHING: readonly PodKind[] = ['construct', 'opted-out', 'no-limit', 'windows'];
export const KIND_LABEL = 'bench-kind';
/** The size the rule gives the sized pod (and the construct gave the one it sized). */
export const SIZE = '2Gi';

/** The kinds of a population, in the order its pods cycle through them. */
export function kindsOf(population: Population): readonly PodKind[] {
  switch (population) {
    case 'sized': return ['sized'];
    case 'nothing': return NEED_NOTHING;
    case 'mix': return ['sized', ...NEED_NOTHING];
  }
}

/** A pod the rule sizes: an app container and a native sidecar with limits, an init container. */
function sizedPod(kind: PodKind = 'sized', limits = true): any {
  const container = (name: string, memory: string, extra: Record<string, unknown> = {}) =>
    ({ name, image: 'registry.example.com/app:1.0.0', ...(limits ? { resources: { limits: { memory } } } : {}), ...extra });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { generateName: 'bench-', labels: { app: 'bench', [KIND_LABEL]: kind } },
    spec: {
      initContainers: [container('setup', '256Mi'), container('proxy', '512Mi', { restartPolicy: 'Always' })],
      containers: [container('app', '4Gi', { volumeMounts: [{ name: 'data', mountPath: '/data' }] })],
      volumes: [{ name: 'data', emptyDir: {} }],
    },
  };
}

/** The pod of a kind. */
export function podOf(kind: PodKind): any {
  switch (kind) {
    case 'sized': return sizedPod();
    case 'construct': {
      const pod = sizedPod('construct');
      return applyOperations(pod, planToPatch(planSharedMemory(pod, resolvePolicy())));
    }
    case 'opted-out': {
      const pod = sizedPod('opted-out');
      pod.metadata.annotations = { [INJECT_ANNOTATION]: 'false' };
      return pod;
    }
    case 'no-limit': return sizedPod('no-limit', false);
    case 'windows': {
      const pod = sizedPod('windows');
      pod.spec.nodeSelector = { 'kubernetes.io/os': 'windows' };
      return pod;
    }
  }
}

/** The request bodies of a population, in the order its pods are created. */
export function bodiesOf(population: Population): string[] {
  return kindsOf(population).map(kind => JSON.stringify(podOf(kind)));
}

/**
 * Checks a pod as it was stored: what the way in made of it.
 * @param sizes whether the way in sizes pods (ours) or not (neither, the no-ops)
 * @returns why the pod is not as expected, or undefined
 */
export function unexpected(pod: any, sizes: boolean): string | undefined {
  const kind = pod.metadata?.labels?.[KIND_LABEL] as PodKind;
  const size = pod.metadata?.annotations?.[SIZE_LIMIT_ANNOTATION];
  const expected = kind === 'construct' || (kind === 'sized' && sizes) ? SIZE : undefined;
  if (size !== expected) return `${kind} pod ${pod.metadata?.name}: ${SIZE_LIMIT_ANNOTATION} ${size ?? 'absent'}, expected ${expected ?? 'absent'}`;
  const shm = (pod.spec?.volumes ?? []).find((v: any) => v.name === DEFAULT_VOLUME_NAME);
  if ((shm?.emptyDir?.sizeLimit) !== expected) return `${kind} pod ${pod.metadata?.name}: volume ${DEFAULT_VOLUME_NAME} ${shm ? `of ${shm.emptyDir?.sizeLimit}` : 'absent'}, expected ${expected ?? 'absent'}`;
  return undefined;
}
