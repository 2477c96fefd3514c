/**
 * Area 2: `limitFollows` through the webhook on the real API server, whose LimitRanger and
 * ResourceQuota admission run after the mutating webhooks. The shipped bundle runs as a local
 * process with the ServiceAccount token and RBAC SharedMemoryWebhook deploys (the ClusterRole that
 * reads LimitRanges and ResourceQuotas), registered by url. A limit grows where the namespace
 * admits the grown pod; where a LimitRange or a quota would refuse it, the pod is admitted as the
 * user wrote it (the grown one is refused, shown by creating it) and kubectl prints the warning
 * naming the object; where RBAC forbids the read, nothing grows either, and the warning says why.
 */
import { WebhookTls } from '../../src';
import { Kube, Run, eventually } from './support/kube';
import { area, count } from './support/summary';
import { LocalWebhook, deleteClusterScoped, makeServingCertificate, mountNamespaceUnavailable, only, serverContainer, startLocalWebhook, synthWebhook, waitForWebhook, withUrl } from './support/webhook';
import { SIZE_ANNOTATION, applyOperations, planSharedMemory, planToPatch, resolvePolicy } from '../../src/core';

area('2 webhook admission');

const admin = Kube.admin();
const WEBHOOK_NS = 'e2e-limit-guard-webhook';
const PROBE = 'e2e-limit-guard';
const CAPPED = 'e2e-limit-guard-capped';
const ROOMY = 'e2e-limit-guard-roomy';
const FULL = 'e2e-limit-guard-full';
const LOCKED = 'e2e-limit-guard-locked';
const props = { namespace: WEBHOOK_NS, name: 'e2e-limit-guard', limitFollows: true };
const unavailable = mountNamespaceUnavailable();
const maybe = unavailable ? test.skip : test;
let objects: any[] = [];
let webhook: LocalWebhook | undefined;
let serviceAccount: string;

beforeAll(async () => {
  if (unavailable) return;
  for (const ns of [WEBHOOK_NS, PROBE, CAPPED, ROOMY, FULL, LOCKED]) await admin.namespace(ns);
  const { ca, serving } = makeServingCertificate({ name: props.name, namespace: props.namespace });
  objects = synthWebhook({ ...props, tls: WebhookTls.provided({ secretName: 'unused', caBundle: ca.certPem }) });
  // What the construct deploys for the server's API access, as it deploys it.
  await admin.apply(objects.filter(o => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind)));
  serviceAccount = only(objects, 'ServiceAccount').metadata.name;
  const container = serverContainer(objects);
  webhook = await startLocalWebhook(admin.cluster, {
    args: container.args,
    nodeOptions: container.env.find((e: any) => e.name === 'NODE_OPTIONS')?.value,
    serving,
    serviceAccount: { token: await admin.token(WEBHOOK_NS, serviceAccount), caPem: admin.cluster.caPem },
  });
  await admin.apply([withUrl(only(objects, 'MutatingWebhookConfiguration'), webhook.port)]);
  await waitForWebhook(admin, PROBE);
  await admin.apply([
    { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'mem-max', namespace: CAPPED }, spec: { limits: [{ type: 'Container', max: { memory: '1Gi' } }] } },
    quota('team', ROOMY, '8Gi'),
    quota('team', FULL, '1280Mi'),
  ]);
  // The API server refuses every pod of a namespace whose quota the controller has not counted yet.
  for (const ns of [ROOMY, FULL]) {
    await eventually(`the quota of ${ns} counted`, async () => (await admin.get('resourcequota', 'team', ns))?.status?.used ?? undefined);
  }
  count({ objects: 1 });
});

afterAll(async () => {
  await deleteClusterScoped(admin, objects);
  await webhook?.stop();
});

function quota(name: string, namespace: string, memory: string): any {
  return { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name, namespace }, spec: { hard: { 'limits.memory': memory, 'requests.memory': memory } } };
}

/** A Guaranteed pod of 1Gi that asks for 512Mi of /dev/shm on top: grown, its limit and request are 1536Mi. */
function pod(name: string): any {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, annotations: { [SIZE_ANNOTATION]: '512Mi' } },
    spec: { containers: [{ name: 'app', image: 'registry.example.com/app:1.0.0', resources: { limits: { memory: '1Gi' }, requests: { memory: '1Gi' } } }] },
  };
}

async function create(object: any, namespace: string): Promise<{ admitted: any; warnings: string[] }> {
  const run = await admin.kubectl(['create', '-n', namespace, '-o', 'json', '-f', '-'], { input: JSON.stringify(object) });
  const warnings = run.stderr.split('\n').filter(line => line.startsWith('Warning: ')).map(line => line.slice('Warning: '.length));
  return { admitted: JSON.parse(run.stdout), warnings };
}

/** The pod as the webhook would grow it, created by itself: what the API server makes of the grown limits. */
async function createGrown(object: any, namespace: string): Promise<Run> {
  const plan = planSharedMemory(object, resolvePolicy({ limitFollows: true }));
  const grown = applyOperations(structuredClone(object), planToPatch(plan));
  expect(grown.spec.containers[0].resources.limits.memory).toBe('1536Mi');
  grown.metadata = { name: `${object.metadata.name}-grown`, annotations: { 'cdk8s-shm.io/inject': 'false' } };
  return admin.kubectl(['create', '-n', namespace, '--dry-run=server', '-f', '-'], { input: JSON.stringify(grown), allowFailure: true });
}

const memoryOf = (p: any) => p.spec.containers[0].resources;

maybe('a quota with room: the limit and request grow, /dev/shm is on top', async () => {
  const { admitted } = await create(pod('roomy'), ROOMY);
  expect(memoryOf(admitted)).toEqual({ limits: { memory: '1536Mi' }, requests: { memory: '1536Mi' } });
  expect(admitted.spec.volumes).toContainEqual({ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '512Mi' } });
  count({ pods: 1 });
});

maybe('a LimitRange max the grown limit would pass: admitted as written, and kubectl shows which LimitRange and the fix', async () => {
  const refused = await createGrown(pod('capped'), CAPPED);
  expect(refused.status).not.toBe(0);
  expect(refused.stderr).toContain('maximum memory usage per Container is 1Gi, but limit is 1536Mi');
  const { admitted, warnings } = await create(pod('capped'), CAPPED);
  expect(memoryOf(admitted)).toEqual({ limits: { memory: '1Gi' }, requests: { memory: '1Gi' } });
  expect(admitted.spec.volumes?.some((v: any) => v.name === 'dshm')).toBeFalsy();
  expect(warnings).toEqual([
    'cdk8s-shm: limitFollows not applied, pod unchanged: LimitRange mem-max would refuse the grown limits',
    "cdk8s-shm: LimitRange mem-max: 'app' limit 1536Mi is above its Container max memory 1Gi",
    "cdk8s-shm: LimitRange mem-max: 'app' request 1536Mi is above its Container max memory 1Gi",
    'cdk8s-shm: fix: raise that max or quota, or ask less /dev/shm; without limit-follows, /dev/shm is a share of the limit',
  ]);
  count({ pods: 1 });
});

maybe('a quota without room for the grown pod: admitted as written, with the quota named', async () => {
  const refused = await createGrown(pod('full'), FULL);
  expect(refused.status).not.toBe(0);
  expect(refused.stderr).toContain('exceeded quota: team');
  const { admitted, warnings } = await create(pod('full'), FULL);
  expect(memoryOf(admitted)).toEqual({ limits: { memory: '1Gi' }, requests: { memory: '1Gi' } });
  expect(warnings).toContain('cdk8s-shm: ResourceQuota team: limits.memory would reach 1536Mi of its 1280Mi (0 used)');
  count({ pods: 1 });
});

maybe('RBAC forbids reading LimitRanges: nothing grows, and kubectl shows why and what to grant', async () => {
  const binding = only(objects, 'ClusterRoleBinding').metadata.name;
  await admin.kubectl(['delete', 'clusterrolebinding', binding]);
  const asWebhook = await admin.asServiceAccount(WEBHOOK_NS, serviceAccount);
  await eventually('RBAC to forbid the webhook reading LimitRanges', async () => ((await asWebhook.can('list', 'limitranges', { namespace: LOCKED })) ? undefined : true));
  const { admitted, warnings } = await create(pod('locked'), LOCKED);
  expect(memoryOf(admitted)).toEqual({ limits: { memory: '1Gi' }, requests: { memory: '1Gi' } });
  expect(warnings).toEqual([
    "cdk8s-shm: limitFollows not applied, pod unchanged: cannot read the namespace's LimitRanges and ResourceQuotas",
    expect.stringMatching(/^cdk8s-shm: GET (limitranges|resourcequotas): HTTP 403 \(RBAC forbids it\)$/),
    "cdk8s-shm: fix: let the webhook's ServiceAccount get and list limitranges and resourcequotas (SharedMemoryWebhook does)",
  ]);
  expect(webhook!.logs.some(l => l.level === 'warn' && l.namespace === LOCKED)).toBe(true);
  count({ pods: 1 });
});
