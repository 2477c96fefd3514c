/**
 * In-place resizes as the 1.37 tests make them: one app container's limits through
 * `kubectl patch pod --subresource resize`, the pods they resize, and what the core plans for the same resize.
 */
import { Kube } from './kube';
import { Policy, planResize } from '../../../src/core';

/** A Burstable pod (requests below limits, so the QoS class survives a resize of the limits). */
export function burstablePod(namespace: string, name: string, limit: string, annotations: Record<string, string> = {}): any {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
    spec: {
      containers: [{
        name: 'app',
        image: 'registry.example.com/app:1.0.0',
        resources: { requests: { memory: '128Mi', cpu: '100m' }, limits: { memory: limit, cpu: '1' } },
      }],
    },
  };
}

/** The sizeLimit of the pod's volume `dshm`. */
export const sizeLimit = (pod: any): unknown => pod.spec.volumes.find((v: any) => v.name === 'dshm').emptyDir.sizeLimit;

/** `kubectl patch pod --subresource resize` of the app container's limits; returns kubectl's run. */
export function resize(kube: Kube, namespace: string, name: string, limits: Record<string, string>, allowFailure = false) {
  const patch = { spec: { containers: [{ name: 'app', resources: { limits } }] } };
  return kube.kubectl(['patch', 'pod', name, '-n', namespace, '--subresource', 'resize', '-p', JSON.stringify(patch), '-o', 'json'], { allowFailure });
}

/** What the core plans for this resize of the stored pod (the webhook and the policies see the same two pods). */
export function planned(stored: any, limits: Record<string, string>, policy: Policy) {
  const resized = structuredClone(stored);
  resized.spec.containers[0].resources.limits = { ...resized.spec.containers[0].resources.limits, ...limits };
  return planResize(stored, resized, policy);
}
