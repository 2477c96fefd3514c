/**
 * `limitFollows` in the webhook over real HTTPS on 127.0.0.1, against a fake API server for the
 * LimitRanges and ResourceQuotas (test/e2e/admission.test.ts has the real one): a limit grows
 * only where the namespace's objects would admit the grown pod; where they would refuse it, or
 * cannot be read, the pod goes through as it came, with warnings that name the object and the fix;
 * pods that grow nothing cost no API call; one read serves a namespace for the cache's time.
 */
import { FakeApiServer, TOKEN } from './support/fake-api-server';
import { podCreateReview } from './support/fixtures';
import { WebhookTarget, admit } from './support/harness';
import { makeTls, writeTlsFiles } from './support/tls';
import { parseWebhookArgs } from '../../../src/contracts/webhook-flags';
import { createLogger } from '../../../src/programs/shared/log';
import { metricValue } from '../../../src/programs/webhook/metrics';
import { RunningServer, StartOptions, startWebhookServer } from '../../../src/programs/webhook/server';

jest.setTimeout(60_000);

const testTls = makeTls();
const files = writeTlsFiles(testTls);
const logs: any[] = [];
const fake = new FakeApiServer();
let baseUrl: string;
const servers: RunningServer[] = [];

beforeAll(async () => {
  baseUrl = await fake.start();
});
afterAll(async () => {
  await Promise.all(servers.map(s => s.close()));
  await fake.close();
});
beforeEach(() => {
  fake.calls.length = 0;
  fake.failWith = undefined;
  fake.hangLists = false;
  fake.limitRanges.clear();
  fake.quotas.clear();
});

async function start(argv: string[], guard: StartOptions['limitGuard'] = {}): Promise<{ server: RunningServer; target: WebhookTarget }> {
  const options = parseWebhookArgs(['--port', '0', '--tls-cert', files.certFile, '--tls-key', files.keyFile, ...argv], {});
  const server = await startWebhookServer({
    ...options,
    host: '127.0.0.1',
    logger: createLogger('debug', line => logs.push(JSON.parse(line))),
    limitGuard: { kube: { baseUrl, token: TOKEN, ca: fake.ca }, ...guard },
  });
  servers.push(server);
  return { server, target: { port: server.port, ca: testTls.caPem } };
}

/** A Guaranteed pod of 1Gi asking for 512Mi of /dev/shm on top: grown, its limit and request are 1536Mi. */
function pod(name = 'p', annotations: Record<string, string> = {}): any {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, annotations: { 'cdk8s-shm.io/size': '512Mi', ...annotations } },
    spec: { containers: [{ name: 'app', image: 'x', resources: { limits: { memory: '1Gi' }, requests: { memory: '1Gi' } } }] },
  };
}

const limitOf = (p: any) => p.spec.containers[0].resources.limits.memory;
const lists = () => fake.calls.filter(c => /limitranges|resourcequotas/.test(c.path)).length;

const maxMemory = (name: string, memory: string) => ({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name }, spec: { limits: [{ type: 'Container', max: { memory } }] } });
const quota = (name: string, hard: string, used: string) => ({
  apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name }, spec: { hard: { 'limits.memory': hard } }, status: { hard: { 'limits.memory': hard }, used: { 'limits.memory': used } },
});

describe('with --limit-follows', () => {
  let server: RunningServer;
  let target: WebhookTarget;
  beforeAll(async () => {
    ({ server, target } = await start(['--limit-follows', 'true'], { ttlMs: 60_000 }));
  });

  test('no LimitRange, no quota: the limit grows', async () => {
    const answer = await admit(target, podCreateReview(pod(), 'a', 'free'));
    expect(limitOf(answer.patched)).toBe('1536Mi');
    expect(answer.patched.spec.volumes).toEqual([{ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '512Mi' } }]);
    expect(fake.calls.map(c => c.path).sort()).toEqual(['/api/v1/namespaces/free/limitranges', '/api/v1/namespaces/free/resourcequotas']);
  });

  test('a LimitRange max the grown limit would pass: the pod goes through as it came, with the LimitRange named and the fix', async () => {
    fake.limitRanges.set('capped', [maxMemory('mem-max', '1Gi')]);
    const review = podCreateReview(pod(), 'b', 'capped');
    const answer = await admit(target, review);
    expect(answer.allowed).toBe(true);
    expect(answer.ops).toEqual([]);
    expect(answer.patched).toEqual(review.request.object);
    expect(answer.warnings).toEqual([
      'cdk8s-shm: limitFollows not applied, pod unchanged: LimitRange mem-max would refuse the grown limits',
      "cdk8s-shm: LimitRange mem-max: 'app' limit 1536Mi is above its Container max memory 1Gi",
      "cdk8s-shm: LimitRange mem-max: 'app' request 1536Mi is above its Container max memory 1Gi",
      'cdk8s-shm: fix: raise that max or quota, or ask less /dev/shm; without limit-follows, /dev/shm is a share of the limit',
    ]);
    expect(await metricValue(server.metrics.admissionRequests, { outcome: 'skip', reason: 'limit-refused' })).toBe(1);
  });

  test('a quota with room: grown; without: unchanged', async () => {
    fake.quotas.set('roomy', [quota('team', '8Gi', '1Gi')]);
    fake.quotas.set('full', [quota('team', '8Gi', '7Gi')]);
    expect(limitOf((await admit(target, podCreateReview(pod(), 'c', 'roomy'))).patched)).toBe('1536Mi');
    const full = await admit(target, podCreateReview(pod(), 'd', 'full'));
    expect(full.ops).toEqual([]);
    expect(full.warnings[1]).toBe('cdk8s-shm: ResourceQuota team: limits.memory would reach 8704Mi of its 8Gi (7Gi used)');
  });

  test('one read per namespace for the cache time, shared by the reviews that wait for it', async () => {
    fake.limitRanges.set('busy', [maxMemory('mem-max', '2Gi')]);
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => admit(target, podCreateReview(pod(`p${i}`), `e${i}`, 'busy'))));
    expect(answers.map(a => limitOf(a.patched))).toEqual(Array(8).fill('1536Mi'));
    expect(lists()).toBe(2);
    // The LimitRange changes; the webhook acts on what it read until the cache time is over.
    fake.limitRanges.set('busy', [maxMemory('mem-max', '1Gi')]);
    expect(limitOf((await admit(target, podCreateReview(pod(), 'f', 'busy'))).patched)).toBe('1536Mi');
    expect(lists()).toBe(2);
  });

  test('the grown pods let through since the read count against the quota (a dry run does not)', async () => {
    // Room for two grown pods of 1536Mi above the 1Gi used.
    fake.quotas.set('tight', [quota('team', '4Gi', '1Gi')]);
    const dryRun = podCreateReview(pod('dry'), 'l0', 'tight');
    dryRun.request.dryRun = true;
    expect(limitOf((await admit(target, dryRun)).patched)).toBe('1536Mi');
    const answers = await Promise.all([1, 2, 3].map(i => admit(target, podCreateReview(pod(`t${i}`), `l${i}`, 'tight'))));
    expect(answers.map(a => limitOf(a.patched)).sort()).toEqual(['1536Mi', '1536Mi', '1Gi']);
    expect(answers.find(a => limitOf(a.patched) === '1Gi')!.warnings[1]).toBe('cdk8s-shm: ResourceQuota team: limits.memory would reach 5632Mi of its 4Gi (4Gi used)');
    expect(lists()).toBe(2);
  });

  test('pods that grow no limit cost no API call: opted out, no limit to grow, or grown already', async () => {
    const noLimit = pod();
    delete noLimit.spec.containers[0].resources;
    const optedOut = pod('q', { 'cdk8s-shm.io/inject': 'false' });
    const grown = (await admit(target, podCreateReview(pod(), 'g0', 'again'))).patched;
    fake.calls.length = 0;
    for (const [i, p] of [noLimit, optedOut, grown].entries()) await admit(target, podCreateReview(p, `g${i + 1}`, 'other'));
    expect(fake.calls).toEqual([]);
  });
});

test('RBAC refused: nothing grows, and the warnings say why and what to grant', async () => {
  const { target } = await start(['--limit-follows', 'true']);
  fake.failWith = { status: 403, reason: 'Forbidden' };
  const answer = await admit(target, podCreateReview(pod(), 'h', 'locked'));
  expect(answer.allowed).toBe(true);
  expect(answer.ops).toEqual([]);
  expect(answer.warnings).toEqual([
    "cdk8s-shm: limitFollows not applied, pod unchanged: cannot read the namespace's LimitRanges and ResourceQuotas",
    expect.stringMatching(/^cdk8s-shm: GET (limitranges|resourcequotas): HTTP 403 \(RBAC forbids it\)$/),
    "cdk8s-shm: fix: let the webhook's ServiceAccount get and list limitranges and resourcequotas (SharedMemoryWebhook does)",
  ]);
  expect(logs.some(l => l.level === 'warn' && l.namespace === 'locked' && /limitFollows grows no limit there/.test(l.msg))).toBe(true);
});

test('an API server that does not answer: the pod goes through unchanged once the timeout is over', async () => {
  const { target } = await start(['--limit-follows', 'true'], { timeoutMs: 300 });
  fake.hangLists = true;
  const started = Date.now();
  const answer = await admit(target, podCreateReview(pod(), 'i', 'slow'));
  expect(Date.now() - started).toBeLessThan(3_000);
  expect(answer.ops).toEqual([]);
  expect(answer.warnings[1]).toMatch(/no answer within 300 ms/);
});

test('outside a cluster, without an API server to ask: unchanged, and said so', async () => {
  const options = parseWebhookArgs(['--port', '0', '--tls-cert', files.certFile, '--tls-key', files.keyFile], {});
  const saved = process.env.KUBERNETES_SERVICE_HOST;
  delete process.env.KUBERNETES_SERVICE_HOST;
  const server = await startWebhookServer({ ...options, host: '127.0.0.1', logger: createLogger('error', () => undefined) });
  servers.push(server);
  try {
    const answer = await admit({ port: server.port, ca: testTls.caPem }, podCreateReview(pod('r', { 'cdk8s-shm.io/limit-follows': 'true' }), 'j', 'default'));
    expect(answer.ops).toEqual([]);
    expect(answer.warnings[1]).toBe('cdk8s-shm: KUBERNETES_SERVICE_HOST and _PORT are not set: the webhook reaches the API server only from inside a cluster');
  } finally {
    if (saved !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved;
  }
});

test('after so many grown pods counted in a namespace, it is read again rather than counted on', async () => {
  const { target } = await start(['--limit-follows', 'true'], { maxAdmitted: 2, ttlMs: 60_000 });
  fake.quotas.set('many', [quota('team', '64Gi', '0')]);
  for (const i of [1, 2, 3]) await admit(target, podCreateReview(pod(`m${i}`), `m${i}`, 'many'));
  expect(lists()).toBe(4);
});

test('the cache holds a bounded number of namespaces, and forgets after its time', async () => {
  let now = 0;
  const { target } = await start(['--limit-follows', 'true'], { maxNamespaces: 2, ttlMs: 10_000, now: () => now });
  for (const namespace of ['n1', 'n2', 'n3']) await admit(target, podCreateReview(pod(), namespace, namespace));
  expect(lists()).toBe(6);
  await admit(target, podCreateReview(pod(), 'k3', 'n3'));
  expect(lists()).toBe(6);
  // n1 was dropped for n3.
  await admit(target, podCreateReview(pod(), 'k1', 'n1'));
  expect(lists()).toBe(8);
  now += 10_000;
  await admit(target, podCreateReview(pod(), 'k1b', 'n1'));
  expect(lists()).toBe(10);
});
