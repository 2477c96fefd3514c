/**
 * `hardenMount`: our `/dev/shm` mounts ask for what the runtime mounts its own with (`nosuid`,
 * `nodev`, `noexec`) through `volumeMounts[].bindMountOptions`; mounts of ours from an earlier run
 * gain what they lack, and nothing a mount has is taken away.
 */
import { applyOps, container, podObject, sidecar } from './fixtures';
import { HARDENED_MOUNT_OPTIONS, HARDEN_MOUNT_GATE_WARNING, PolicyInput, planForAdmissionPolicy, planSharedMemory, planToPatch, resolvePolicy } from '../../src/core';

const plan = (pod: any, input: PolicyInput = {}) => planSharedMemory(pod, resolvePolicy(input));
const sized = (pod: any, input: PolicyInput = {}) => applyOps(pod, planToPatch(plan(pod, input)));
const shmMounts = (pod: any) => [...pod.spec.containers, ...pod.spec.initContainers ?? []]
  .flatMap((c: any) => (c.volumeMounts ?? []).filter((m: any) => m.mountPath === '/dev/shm'));

const pod = () => podObject('p', { containers: [container('app', '2Gi')], initContainers: [sidecar('proxy', '256Mi')] });

test('the API accepts exactly the three options the runtime mounts its own /dev/shm with', () => {
  expect([...HARDENED_MOUNT_OPTIONS].sort()).toEqual(['nodev', 'noexec', 'nosuid']);
});

test('every mount we add carries them, and planning again finds nothing to do', () => {
  const patched = sized(pod(), { hardenMount: true });
  expect(shmMounts(patched)).toEqual([
    { name: 'dshm', mountPath: '/dev/shm', bindMountOptions: HARDENED_MOUNT_OPTIONS },
    { name: 'dshm', mountPath: '/dev/shm', bindMountOptions: HARDENED_MOUNT_OPTIONS },
  ]);
  expect(patched.metadata.annotations['cdk8s-shm.io/harden-mount']).toBe('true');
  expect(plan(patched, { hardenMount: true }).action).toBe('unchanged');
  // The pod carries the choice: a way in without the setting reaches the same answer.
  expect(plan(patched).action).toBe('unchanged');
});

test('without it, mounts are as before: no bindMountOptions', () => {
  expect(shmMounts(sized(pod())).every((m: any) => !('bindMountOptions' in m))).toBe(true);
});

test('a pod sized earlier gains the options on its mounts, keeping what they had', () => {
  const earlier = sized(pod());
  earlier.spec.initContainers[0].volumeMounts[0].bindMountOptions = ['noexec'];
  const result = plan(earlier, { hardenMount: true });
  expect(result.action).toBe('update');
  expect(result.edits!.hardenMounts.map(h => [h.name, h.options])).toEqual([
    ['app', HARDENED_MOUNT_OPTIONS],
    ['proxy', ['noexec', 'nosuid', 'nodev']],
  ]);
  const patched = applyOps(earlier, planToPatch(result));
  expect(shmMounts(patched).map((m: any) => [...m.bindMountOptions].sort())).toEqual([['nodev', 'noexec', 'nosuid'], ['nodev', 'noexec', 'nosuid']]);
  expect(plan(patched, { hardenMount: true }).action).toBe('unchanged');
});

test("a pod's own cdk8s-shm.io/harden-mount decides over the way in's setting", () => {
  const optedOut = podObject('p', { containers: [container('app', '2Gi')] }, { annotations: { 'cdk8s-shm.io/harden-mount': 'false' } });
  expect(shmMounts(sized(optedOut, { hardenMount: true }))[0].bindMountOptions).toBeUndefined();
  const optedIn = podObject('p', { containers: [container('app', '2Gi')] }, { annotations: { 'cdk8s-shm.io/harden-mount': 'true' } });
  expect(shmMounts(sized(optedIn))[0].bindMountOptions).toEqual(HARDENED_MOUNT_OPTIONS);
});

test("mounts that are not ours are never touched: a pod's own /dev/shm is left alone", () => {
  const own = podObject('p', {
    containers: [container('app', '2Gi', { volumeMounts: [{ name: 'mine', mountPath: '/dev/shm' }] })],
    volumes: [{ name: 'mine', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }],
  });
  expect(plan(own, { hardenMount: true })).toMatchObject({ action: 'skip', reason: 'user-shm-mount' });
});

test('asking for them always says what they need: without VolumeBindMountOptions the API server drops them without a word', () => {
  const first = plan(pod(), { hardenMount: true });
  expect(first.warnings).toContainEqual({ code: 'harden-mount-gate', message: HARDEN_MOUNT_GATE_WARNING });
  expect(`cdk8s-shm: ${HARDEN_MOUNT_GATE_WARNING}`.length).toBeLessThan(120);
  // Nothing asked, nothing said: a pod already hardened, and a pod without the setting.
  expect(plan(sized(pod(), { hardenMount: true }), { hardenMount: true }).warnings.map(w => w.code)).not.toContain('harden-mount-gate');
  expect(plan(pod()).warnings.map(w => w.code)).not.toContain('harden-mount-gate');
});

test('the admission policy adds them as every way in does: a pod that asks for them is planned as the webhook plans it', () => {
  const asking = podObject('p', { containers: [container('app', '2Gi')] }, { annotations: { 'cdk8s-shm.io/harden-mount': 'true' } });
  expect(planForAdmissionPolicy(asking, resolvePolicy({}))).toEqual(planSharedMemory(asking, resolvePolicy({})));
  expect(planForAdmissionPolicy(asking, resolvePolicy({})).edits?.mountOptions).toEqual(HARDENED_MOUNT_OPTIONS);
});
