/**
 * After a resize, on a control plane of Kubernetes 1.37 (e2e/kube-1.37), gates on and off: the
 * webhook, registered as SharedMemoryWebhook synthesizes it (rules for pods and pods/resize), is
 * called by the real API server for `kubectl patch pod --subresource resize`.
 *
 * - InPlacePodVerticalScalingMemoryBackedVolumes on, resizeVolumes: the stored pod's sizeLimit after
 *   each resize (growth, shrink, CPU only) equals the core's planResize; VolumeBindMountOptions on,
 *   hardenMount: the stored pod keeps bindMountOptions nosuid,nodev,noexec.
 * - Gates off: the API server drops a sizeLimit change of a resize and the bindMountOptions of a
 *   create without a word (why resizeVolumes must match the cluster, and why hardenMount warns); the
 *   webhook's warnings reach kubectl; denyUnsafeShrink refuses a dangerous shrink, saying why and
 *   what to do.
 *
 * No node: the pods stay unscheduled, which a resize does not need. The run's own control plane
 * (1.36) is not used.
 */
import { KUBE_137_MODULE, RunningControlPlane, kubeVersion, startKube137 } from './support/control-plane';
import { Kube } from './support/kube';
import { burstablePod, resize as resizeIn, planned, sizeLimit } from './support/resize';
import { area, count } from './support/summary';
import { RegisteredWebhook, registerLocalWebhook } from './support/webhook';
import { parseWebhookArgs } from '../../src/contracts/webhook-flags';
import { Policy, resolvePolicy } from '../../src/core';

area('9 after a resize (1.37)');

const NS = 'e2e-resize';
const WEBHOOK_NS = 'e2e-resize-webhook';

/** A Burstable pod of the test's namespace. */
const pod = (name: string, limit: string, annotations: Record<string, string> = {}): any => burstablePod(NS, name, limit, annotations);

const shmMount = (p: any) => p.spec.containers[0].volumeMounts.find((m: any) => m.mountPath === '/dev/shm');

/** A resize of the app container's limits in the test's namespace. */
function resize(kube: Kube, name: string, limits: Record<string, string>, allowFailure = false) {
  return resizeIn(kube, NS, name, limits, allowFailure);
}

interface Env {
  readonly cluster: RunningControlPlane;
  readonly kube: Kube;
  readonly webhook: RegisteredWebhook;
  readonly policy: Policy;
}

async function setUp(gatesOn: boolean, props: Record<string, unknown>): Promise<Env> {
  const cluster = await startKube137(gatesOn);
  try {
    const kube = new Kube(cluster, cluster.adminKubeconfig, 'admin');
    for (const ns of [WEBHOOK_NS, NS]) await kube.namespace(ns);
    const webhook = await registerLocalWebhook(kube, { namespace: WEBHOOK_NS, name: 'e2e-resize', ...props }, NS);
    const policy = resolvePolicy(parseWebhookArgs(webhook.container.args, {}).policy);
    return { cluster, kube, webhook, policy };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/** A 1.37 control plane for the describe block it is called in, with the webhook registered with `props`. */
function clusterFor(gatesOn: boolean, props: Record<string, unknown>): () => Env {
  let env: Env | undefined;
  beforeAll(async () => {
    env = await setUp(gatesOn, props);
  });
  afterAll(async () => {
    await env?.webhook.unregister();
    await env?.cluster.stop();
  });
  return () => env!;
}

test('the control plane is the pinned 1.37 release', async () => {
  expect(kubeVersion(KUBE_137_MODULE)).toMatch(/^v1\.37\./);
});

describe('gates on: resizeVolumes and hardenMount', () => {
  const env = clusterFor(true, { resizeVolumes: true, hardenMount: true });

  test('the API server is v1.37 with the gates on', async () => {
    const version = await env().kube.json(['version']);
    expect(version.serverVersion.gitVersion).toBe(kubeVersion(KUBE_137_MODULE));
  });

  test('each resize through the API server and the webhook leaves the sizeLimit the core plans', async () => {
    const [created] = await env().kube.create([pod('grows', '1Gi')]);
    expect(sizeLimit(created)).toBe('512Mi');
    let stored = created;
    for (const [limits, expected] of [[{ memory: '3Gi' }, '1536Mi'], [{ memory: '768Mi' }, '384Mi'], [{ cpu: '2' }, '384Mi']] as const) {
      const plan = planned(stored, limits, env().policy);
      const run = await resize(env().kube, 'grows', limits);
      const after = JSON.parse(run.stdout);
      expect(sizeLimit(after)).toBe(plan.rule);
      expect(sizeLimit(after)).toBe(expected);
      expect(after.spec.containers[0].resources.limits).toMatchObject(limits);
      // The warning of a following /dev/shm, and nothing for a resize of CPU only.
      if (plan.action === 'follow') expect(run.stderr).toContain(`Warning: cdk8s-shm: /dev/shm follows the resize: ${plan.current} -> ${plan.rule}`);
      else expect(run.stderr).not.toContain('cdk8s-shm');
      stored = await env().kube.get('pod', 'grows', NS);
      expect(sizeLimit(stored)).toBe(expected);
      count({ pods: 1 });
    }
  });

  test('hardenMount: the stored pod keeps bindMountOptions nosuid,nodev,noexec', async () => {
    const run = await env().kube.kubectl(['create', '-f', '-', '-o', 'json'], { input: JSON.stringify(pod('hardened', '1Gi')) });
    expect(shmMount(JSON.parse(run.stdout))).toEqual({ name: 'dshm', mountPath: '/dev/shm', bindMountOptions: ['nosuid', 'nodev', 'noexec'] });
    expect(run.stderr).toContain('Warning: cdk8s-shm: /dev/shm nosuid,nodev,noexec needs VolumeBindMountOptions (1.37+)');
    count({ pods: 1 });
  });
});

describe('gates off: what the API server drops, the warning, and denyUnsafeShrink', () => {
  const env = clusterFor(false, { hardenMount: true, denyUnsafeShrink: true });

  test('without the gate a sizeLimit change in a resize is dropped without a word (resizeVolumes must match the cluster)', async () => {
    const [created] = await env().kube.create([pod('dropped', '1Gi')]);
    const volumes = [{ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }];
    const patch = { spec: { containers: [{ name: 'app', resources: { limits: { memory: '2Gi' } } }], volumes } };
    const run = await env().kube.kubectl(['patch', 'pod', 'dropped', '-n', NS, '--subresource', 'resize', '-p', JSON.stringify(patch), '-o', 'json']);
    expect(sizeLimit(JSON.parse(run.stdout))).toBe(sizeLimit(created));
    expect(JSON.parse(run.stdout).spec.containers[0].resources.limits.memory).toBe('2Gi');
  });

  test('hardenMount: the API server drops bindMountOptions, and kubectl shows the warning that says so', async () => {
    const run = await env().kube.kubectl(['create', '-f', '-', '-o', 'json'], { input: JSON.stringify(pod('unhardened', '1Gi')) });
    expect(shmMount(JSON.parse(run.stdout))).toEqual({ name: 'dshm', mountPath: '/dev/shm' });
    expect(run.stderr).toContain('Warning: cdk8s-shm: /dev/shm nosuid,nodev,noexec needs VolumeBindMountOptions (1.37+); without it the API server drops them');
  });

  test('a growth passes with the warning of the /dev/shm the pod keeps; a dangerous shrink is refused with why and what to do', async () => {
    await env().kube.create([pod('kept', '2Gi')]);
    const grown = await resize(env().kube, 'kept', { memory: '4Gi' });
    expect(sizeLimit(JSON.parse(grown.stdout))).toBe('1Gi');
    expect(grown.stderr).toContain('Warning: cdk8s-shm: /dev/shm stays 1Gi until the pod is recreated; the rule gives 2Gi under the new limits');

    const shrunk = await resize(env().kube, 'kept', { memory: '1Gi' }, true);
    expect(shrunk.status).not.toBe(0);
    expect(shrunk.stderr).toContain('admission webhook "pods.cdk8s-shm.io" denied the request: cdk8s-shm: the resize lowers the memory limit of '
      + "container 'app' to 1Gi, at or below its /dev/shm of 1Gi, which keeps its size until the pod is recreated");
    expect(shrunk.stderr).toContain('Keep the limit above 1Gi, recreate the pod with the new limits (the rule gives it 512Mi)');
    expect((await env().kube.get('pod', 'kept', NS)).spec.containers[0].resources.limits.memory).toBe('4Gi');
    count({ pods: 2 });
  });
});
