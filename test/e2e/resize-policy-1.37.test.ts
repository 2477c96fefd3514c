/**
 * After a resize, the admission policy on a control plane of Kubernetes 1.37 (e2e/kube-1.37), gates
 * on and off: the policies SharedMemoryAdmissionPolicy synthesizes, applied as they are, run by the
 * real API server for `kubectl patch pod --subresource resize`.
 *
 * - InPlacePodVerticalScalingMemoryBackedVolumes on, resizeVolumes: a pod the policy sized at its
 *   creation keeps, after each resize (growth, shrink, CPU only), the sizeLimit the core's
 *   planResize gives, and kubectl shows the policy's warning; with the webhook registered beside it
 *   (the seam: a pod the policy sized, resized through both), the same.
 * - Gates off, denyUnsafeShrink: a growth passes with the warning of the /dev/shm the pod keeps; a
 *   dangerous shrink is refused with the core's reason and what to do.
 * - hardenMount (a pod's annotation): with VolumeBindMountOptions on, the stored pods carry the
 *   mounts the core gives, bindMountOptions included (a new mount, and mounts of an earlier run
 *   without or with some of them); the webhook alone finds nothing to do on them (the seam), and
 *   pods through both end the same; with it off, the warning that the options were dropped.
 *
 * No node: the pods stay unscheduled, which a resize does not need. The policies act only in a
 * namespace labelled cdk8s-shm.io/inject=enabled.
 */
import { RunningControlPlane, startKube137 } from './support/control-plane';
import { asNew } from './support/corpus';
import { Kube, eventually } from './support/kube';
import { burstablePod, resize as resizeIn, planned, sizeLimit } from './support/resize';
import { area, count } from './support/summary';
import { RegisteredWebhook, registerLocalWebhook } from './support/webhook';
import { NamespaceSelection, SharedMemoryAdmissionPolicyProps } from '../../src';
import { NAMESPACE_OPT_IN_VALUE } from '../../src/constructs/admission-policy/settings';
import { HARDEN_MOUNT_GATE_WARNING, INJECT_ANNOTATION, Policy, applyOperations, planSharedMemory, planToPatch } from '../../src/core';
import { corePolicyOf, synthAdmissionPolicy } from '../support/admission-policy';

area('9 after a resize (1.37)');

const NS = 'e2e-resize-policy';
const WEBHOOK_NS = 'e2e-resize-policy-webhook';
const WEBHOOK_ONLY_NS = 'e2e-resize-webhook-only';
const HARDEN = 'cdk8s-shm.io/harden-mount';

/** Each container's mounts at /dev/shm (the API server adds the service account's beside them). */
const mountsOf = (p: any) => p.spec.containers.map((c: any) => (c.volumeMounts ?? []).filter((m: any) => m.mountPath === '/dev/shm'));

/** What a way in writes: the mounts at /dev/shm, the volume dshm, the annotations. */
const ourParts = (p: any) => ({ mounts: mountsOf(p), volumes: p.spec.volumes.filter((v: any) => v.name === 'dshm'), annotations: p.metadata.annotations });

/** A Burstable pod of the test's namespace. */
const pod = (name: string, limit: string): any => burstablePod(NS, name, limit);


/** A resize of the app container's limits in the test's namespace. */
function resize(kube: Kube, name: string, limits: Record<string, string>, allowFailure = false) {
  return resizeIn(kube, NS, name, limits, allowFailure);
}

interface Env {
  readonly cluster: RunningControlPlane;
  readonly kube: Kube;
  readonly policy: Policy;
  readonly objects: any[];
}

const POLICY_NAME = 'e2e-resize';

/**
 * A 1.37 control plane for the describe block it is called in, with the policies of `props` applied;
 * `resizes`: the block resizes pods, so it waits for the resize policies too.
 */
function clusterFor(gatesOn: boolean, extra: SharedMemoryAdmissionPolicyProps, resizes = true): () => Env {
  let env: Env | undefined;
  beforeAll(async () => {
    const cluster = await startKube137(gatesOn);
    try {
      const kube = new Kube(cluster, cluster.adminKubeconfig, 'admin');
      await kube.namespace(NS, { [INJECT_ANNOTATION]: NAMESPACE_OPT_IN_VALUE });
      const props = { name: POLICY_NAME, namespaceSelection: NamespaceSelection.OPT_IN, ...extra };
      const objects = synthAdmissionPolicy(props);
      await kube.apply(objects);
      count({ objects: objects.length });
      env = { cluster, kube, policy: corePolicyOf(props), objects };
      await waitForPolicies(kube, { resizeVolumes: extra.resizeVolumes === true, resizes, hardened: gatesOn });
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  });
  afterAll(async () => {
    await env?.cluster.stop();
  });
  return () => env!;
}

/**
 * The API server picks up each policy and its binding a moment after they are written: waits until
 * a probe's creation is sized (its volume dshm: the ServiceAccount's projected volume is there either
 * way) and, with `hardened` (the gate on, which keeps them), its mount carries the hardening
 * policy's bindMountOptions; then, with `resizes`, until dry runs of the probe's resizes show each
 * resize policy at work (the warning of a growth, the new sizeLimit with resizeVolumes, else the
 * refusal of a shrink the probe's annotation forbids).
 */
async function waitForPolicies(kube: Kube, wait: { resizeVolumes: boolean; resizes: boolean; hardened: boolean }): Promise<void> {
  const { resizeVolumes, resizes, hardened } = wait;
  const annotations = { 'cdk8s-shm.io/deny-unsafe-shrink': 'true', ...(hardened ? { [HARDEN]: 'true' } : {}) };
  const probe = { ...pod('probe', '2Gi'), metadata: { name: 'probe', namespace: NS, annotations } };
  const inForce = (created: any) => created.spec.volumes?.some((v: any) => v.name === 'dshm')
    && (!hardened || mountsOf(created)[0][0]?.bindMountOptions?.length > 0);
  await eventually('the creation policies are in force', async () => {
    const run = await kube.kubectl(['create', '-o', 'json', '-f', '-'], { input: JSON.stringify(probe), allowFailure: true });
    if (run.status === 0 && inForce(JSON.parse(run.stdout))) return true;
    await kube.kubectl(['delete', 'pod', 'probe', '-n', NS, '--ignore-not-found', '--wait=true']);
    return undefined;
  }, 60_000, 200);
  if (!resizes) return;
  const dryRun = (memory: string) => kube.kubectl(['patch', 'pod', 'probe', '-n', NS, '--subresource', 'resize', '--dry-run=server', '-o', 'json',
    '-p', JSON.stringify({ spec: { containers: [{ name: 'app', resources: { limits: { memory } } }] } })], { allowFailure: true });
  let last = '';
  try {
    await eventually('the resize policies are in force', async () => {
      const grown = await dryRun('4Gi');
      last = `growth: exit ${grown.status}: ${grown.stderr.trim()}`;
      if (grown.status !== 0 || !grown.stderr.includes('-resize-warnings')) return undefined;
      if (resizeVolumes) return sizeLimit(JSON.parse(grown.stdout)) === '2Gi' ? true : undefined;
      const shrunk = await dryRun('1Gi');
      last = `shrink: exit ${shrunk.status}: ${shrunk.stderr.trim()}`;
      return shrunk.stderr.includes('-unsafe-shrink') ? true : undefined;
    }, 60_000, 200);
  } catch (error) {
    throw new Error(`${(error as Error).message}; the last dry run said ${last}`);
  }
}

/** Creates a pod and checks that the policy sized it as the core does. */
async function createSized(env: Env, name: string, limit: string): Promise<any> {
  const [created] = await env.kube.create([pod(name, limit)]);
  const expected = applyOperations(structuredClone(pod(name, limit)), planToPatch(planSharedMemory(pod(name, limit), env.policy)));
  expect(sizeLimit(created)).toBe(sizeLimit(expected));
  return created;
}

/** Resizes and checks the stored pod and kubectl's warnings against planResize; returns the stored pod. */
async function expectResizeAsPlanned(env: Env, stored: any, limits: Record<string, string>): Promise<any> {
  const plan = planned(stored, limits, env.policy);
  const run = await resize(env.kube, stored.metadata.name, limits);
  const after = await env.kube.get('pod', stored.metadata.name, NS);
  expect({ limits: after.spec.containers[0].resources.limits, sizeLimit: sizeLimit(after) })
    .toEqual({ limits: { ...stored.spec.containers[0].resources.limits, ...limits }, sizeLimit: plan.rule && plan.outcome === 'resize' ? plan.rule : plan.current });
  // The Warn policy's message is the core's warning (after the API server's "Validation failed for ..." prefix).
  for (const warning of plan.warnings) expect(run.stderr).toContain(warning);
  if (plan.warnings.length === 0) expect(run.stderr).not.toContain('e2e-resize-resize-warnings');
  count({ pods: 1 });
  return after;
}

describe('gates on: resizeVolumes through the admission policy', () => {
  const env = clusterFor(true, { resizeVolumes: true });

  test('a pod the policy sized follows growth, shrink and a CPU-only resize as planResize says', async () => {
    let stored = await createSized(env(), 'grows', '1Gi');
    expect(sizeLimit(stored)).toBe('512Mi');
    const seen: string[] = [];
    for (const limits of [{ memory: '3Gi' }, { memory: '768Mi' }, { cpu: '2' }] as Array<Record<string, string>>) {
      seen.push(planned(stored, limits, env().policy).action);
      stored = await expectResizeAsPlanned(env(), stored, limits);
    }
    expect(seen).toEqual(['follow', 'follow', 'unchanged']);
    expect(sizeLimit(stored)).toBe('384Mi');
  });

  describe('the seam: the webhook registered beside the policy', () => {
    let webhook: RegisteredWebhook | undefined;
    beforeAll(async () => {
      await env().kube.namespace(WEBHOOK_NS);
      webhook = await registerLocalWebhook(env().kube, { namespace: WEBHOOK_NS, name: 'e2e-resize-seam', resizeVolumes: true }, NS);
    });
    afterAll(async () => {
      await webhook?.unregister();
    });

    test('a pod the policy sized alone, then resized through both, ends as planResize says', async () => {
      // Sized by the policy alone: the webhook was registered after; its size is the core's, which the webhook keeps.
      const stored = await env().kube.get('pod', 'grows', NS);
      const grown = await expectResizeAsPlanned(env(), stored, { memory: '2Gi' });
      expect(sizeLimit(grown)).toBe('1Gi');
      await expectResizeAsPlanned(env(), grown, { memory: '1Gi' });
    });

    test('a pod sized by both, then resized through both, ends as planResize says', async () => {
      const stored = await createSized(env(), 'both', '2Gi');
      const shrunk = await expectResizeAsPlanned(env(), stored, { memory: '1Gi' });
      expect(sizeLimit(shrunk)).toBe('512Mi');
    });
  });
});

/** Pods that ask for hardenMount by their annotation: a fresh one, and two a way in sized before without it (one mount without options, one with some). */
function hardenedPods(): any[] {
  const asking = (name: string) => ({ ...pod(name, '1Gi'), metadata: { name, namespace: NS, annotations: { [HARDEN]: 'true' } } });
  const sizedBefore = (name: string, options?: string[]) => {
    const p = asking(name);
    p.metadata.annotations['cdk8s-shm.io/size-limit'] = '512Mi';
    p.spec.volumes = [{ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '512Mi' } }];
    p.spec.containers[0].volumeMounts = [{ name: 'dshm', mountPath: '/dev/shm', ...(options ? { bindMountOptions: options } : {}) }];
    return p;
  };
  return [asking('hardened'), sizedBefore('hardened-later'), sizedBefore('hardened-partly', ['nosuid'])];
}

/** Creates each pod with kubectl (its warnings), and returns the runs and the stored pods. */
async function createEach(env: Env, pods: readonly any[]) {
  const runs = [];
  for (const p of pods) runs.push(await env.kube.kubectl(['create', '-f', '-', '-o', 'json'], { input: JSON.stringify(p) }));
  return { runs, stored: runs.map(r => JSON.parse(r.stdout)) };
}

describe('gates on: hardenMount through the admission policy', () => {
  // Creations only: no resize policy is needed.
  const env = clusterFor(true, {}, false);

  test('the stored pods carry the mounts the core gives them, bindMountOptions included; the warning is left out where they were kept', async () => {
    const pods = hardenedPods();
    const { runs, stored } = await createEach(env(), pods);
    pods.forEach((p, i) => {
      const expected = applyOperations(structuredClone(p), planToPatch(planSharedMemory(p, env().policy)));
      expect({ pod: p.metadata.name, mounts: mountsOf(stored[i]) }).toEqual({ pod: p.metadata.name, mounts: mountsOf(expected) });
      expect(mountsOf(stored[i])[0][0].bindMountOptions).toEqual(expect.arrayContaining(['nosuid', 'nodev', 'noexec']));
      expect(runs[i].stderr).not.toContain(HARDEN_MOUNT_GATE_WARNING);
    });
    count({ pods: pods.length });
  });

  describe('the seam: the webhook registered beside the policy', () => {
    // The policy acts only in NS (labelled); the webhook in every namespace, WEBHOOK_ONLY_NS among them.
    let webhook: RegisteredWebhook | undefined;
    beforeAll(async () => {
      await env().kube.namespace(WEBHOOK_ONLY_NS);
      webhook = await registerLocalWebhook(env().kube, { namespace: WEBHOOK_NS, name: 'e2e-harden-seam' }, WEBHOOK_ONLY_NS);
    });
    afterAll(async () => {
      await webhook?.unregister();
    });
    const outcomeOf = (namespace: string, name: string) => eventually(`the webhook's log line for ${namespace}/${name}`, async () =>
      webhook!.process.logs.find(e => e.msg === 'admission' && e.pod === `${namespace}/${name}`)?.outcome as string | undefined);

    test('pods the policy hardened alone come out of the webhook alone unchanged, and it says it found nothing to do', async () => {
      for (const p of hardenedPods()) {
        // As the policy stored it (before the webhook was registered), created again where only the webhook acts.
        const stored = await env().kube.get('pod', p.metadata.name, NS);
        const again = await env().kube.json(['create', '-n', WEBHOOK_ONLY_NS, '--dry-run=server', '-f', '-'], { input: JSON.stringify(asNew(stored)) });
        expect({ pod: p.metadata.name, ...ourParts(again) }).toEqual({ pod: p.metadata.name, ...ourParts(stored) });
        expect({ pod: p.metadata.name, outcome: await outcomeOf(WEBHOOK_ONLY_NS, p.metadata.name) }).toEqual({ pod: p.metadata.name, outcome: 'unchanged' });
        count({ pods: 1 });
      }
    });

    test('pods created through both end as the core plans them', async () => {
      // The API server orders the mutating policies as a Go map gives them (calculatePolicyData in
      // k8s.io/apiserver's policy_source.go): when the hardening policy runs before the sizing policy,
      // the webhook after them adds the options, and the policy's reinvocation finds them there.
      const pods = hardenedPods().map(p => ({ ...p, metadata: { ...p.metadata, name: `${p.metadata.name}-both` } }));
      const { stored } = await createEach(env(), pods);
      pods.forEach((p, i) => {
        const expected = applyOperations(structuredClone(p), planToPatch(planSharedMemory(p, env().policy)));
        expect({ pod: p.metadata.name, ...ourParts(stored[i]) }).toEqual({ pod: p.metadata.name, ...ourParts(expected) });
      });
      count({ pods: pods.length });
    });
  });
});

describe('gates off: the warning reaches kubectl, and denyUnsafeShrink refuses a dangerous shrink', () => {
  const env = clusterFor(false, { denyUnsafeShrink: true });

  test('a growth passes with the warning of the /dev/shm the pod keeps; a dangerous shrink is refused with why and what to do', async () => {
    const stored = await createSized(env(), 'kept', '2Gi');
    const grown = await resize(env().kube, 'kept', { memory: '4Gi' });
    expect(sizeLimit(JSON.parse(grown.stdout))).toBe('1Gi');
    const growth = planned(stored, { memory: '4Gi' }, env().policy);
    expect(growth.warnings).toEqual(['/dev/shm stays 1Gi until the pod is recreated; the rule gives 2Gi under the new limits']);
    expect(grown.stderr).toContain("Warning: Validation failed for ValidatingAdmissionPolicy 'e2e-resize-resize-warnings' with binding 'e2e-resize-resize-warnings': "
      + growth.warnings[0]);

    const current = await env().kube.get('pod', 'kept', NS);
    const plan = planned(current, { memory: '1Gi' }, env().policy);
    expect(plan.outcome).toBe('deny');
    const shrunk = await resize(env().kube, 'kept', { memory: '1Gi' }, true);
    expect(shrunk.status).not.toBe(0);
    expect(shrunk.stderr).toContain("ValidatingAdmissionPolicy 'e2e-resize-unsafe-shrink' with binding 'e2e-resize-unsafe-shrink' denied request: ");
    expect(shrunk.stderr).toContain(plan.denial);
    expect((await env().kube.get('pod', 'kept', NS)).spec.containers[0].resources.limits.memory).toBe('4Gi');
    count({ pods: 1 });
  });

  test('hardenMount: the API server drops bindMountOptions, and the policy\'s warning that says so reaches kubectl', async () => {
    const pods = hardenedPods();
    const { runs, stored } = await createEach(env(), pods);
    pods.forEach((p, i) => {
      const options = mountsOf(stored[i]).flat().filter((m: any) => m.bindMountOptions);
      expect({ pod: p.metadata.name, options }).toEqual({ pod: p.metadata.name, options: [] });
      expect(runs[i].stderr).toContain(`Warning: Validation failed for ValidatingAdmissionPolicy 'e2e-resize-warnings' with binding 'e2e-resize-warnings': ${HARDEN_MOUNT_GATE_WARNING}`);
    });
    count({ pods: pods.length });
  });
});
