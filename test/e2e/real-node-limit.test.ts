/**
 * Area 8, the real node: the correct limit. The same application (it holds 160 MiB of its own
 * memory, then fills its whole /dev/shm) under a 256Mi limit, with the same 128Mi /dev/shm:
 *
 * - as a share of the limit (the default), shared memory comes out of the application's memory:
 *   160 + 128 MiB do not fit in 256Mi, and the kernel OOM-kills it;
 * - with `limitFollows`, the limit grows by the /dev/shm size (to 384Mi): the application fills
 *   /dev/shm to ENOSPC and keeps running.
 *
 * The sizes and limits are `cdk8s-shm plan -o json`'s for the same workloads.
 */
import { ApiObject, App, Chart } from 'cdk8s';
import { planJson } from './support/cli';
import { Kube, eventually } from './support/kube';
import { application } from './support/node/application';
import { containerStatus, dfKib, logLines, transcript, waitForPod, watchContainerEnds } from './support/node/containers';
import { forNode } from './support/node/node-copies';
import { area, count } from './support/summary';
import { SharedMemory, SharedMemoryOptions } from '../../src';
import { bytesCeil } from '../../src/core';

area('8 real node');

const admin = Kube.admin();
const NS = 'e2e-node-limit';
const APP_MIB = 160;

const SCRIPT = `echo "df $(df -k /dev/shm | tail -1)"\nexec shmtool app ${APP_MIB} /dev/shm/fill 1024`;

/** The application as the construct sizes it with these options, as the node runs it. */
async function run(name: string, options: SharedMemoryOptions): Promise<{ plan: any; objects: any[] }> {
  const chart = new Chart(new App(), name);
  SharedMemory.addTo(new ApiObject(chart, name, application(name, NS, '256Mi')), options);
  const objects = chart.toJson();
  const [plan] = await planJson(objects);
  await admin.create(forNode(objects, { commands: { app: SCRIPT } }));
  count({ objects: objects.length });
  return { plan, objects };
}

beforeAll(async () => {
  await admin.namespace(NS);
});

afterAll(async () => {
  await admin.kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=false']);
});

test('the same application and /dev/shm: OOM-killed as a share of its limit, running with limitFollows', async () => {
  const share = await run('share', {});
  const follows = await run('follows', { limitFollows: true });
  // The same /dev/shm; only the limit differs.
  expect(share.plan.shmSizeBytes).toBe(follows.plan.shmSizeBytes);
  expect(follows.plan.declaredPodMemoryLimit).toBe(share.plan.podMemoryLimit);
  expect(follows.plan.limitGrowth).toEqual([{ container: 'app', before: '256Mi', after: '384Mi', requestGrows: false }]);
  const limitOf = (objects: any[]) => objects[0].spec.template.spec.containers[0].resources.limits.memory;
  expect(bytesCeil(limitOf(follows.objects))).toBe(BigInt(follows.plan.podMemoryLimitBytes));

  // As a share: the application's memory and its shared memory do not fit in the limit.
  const ends = await watchContainerEnds(admin, NS, 'share-', 'app', seen => seen.length >= 1);
  expect(ends[0]).toMatchObject({ reason: 'OOMKilled', exitCode: 137 });
  count({ ran: 1 });
  transcript(`[share of 256Mi] app holding ${APP_MIB} MiB, filling /dev/shm ${share.plan.shmSize}: ${ends[0].reason} (exit ${ends[0].exitCode})`);

  // With limitFollows: /dev/shm fills to ENOSPC and the application runs on.
  const pod = await waitForPod(admin, NS, 'follows-', 'running', p => containerStatus(p, 'app')?.state?.running !== undefined);
  const lines = await eventually('the application reported', async () => {
    const printed = await logLines(admin, NS, pod.metadata.name, 'app');
    return printed.some(l => l.startsWith('fill ')) ? printed : undefined;
  });
  count({ ran: 1 });
  expect(BigInt(dfKib(lines))).toBe(BigInt(follows.plan.shmSizeBytes) / 1024n);
  expect(lines.find(l => l.startsWith('fill '))).toMatch(new RegExp(`wrote ${follows.plan.shmSizeBytes} bytes, stopped: No space left on device$`));
  await new Promise(resolve => setTimeout(resolve, 5_000));
  const after = containerStatus(await admin.get('pod', pod.metadata.name, NS), 'app');
  expect(after.state.running).toBeDefined();
  expect(after.restartCount).toBe(0);
  transcript(`[limitFollows, 256Mi -> ${follows.plan.podMemoryLimit}] app: ${lines.find(l => l.startsWith('app '))}; ${lines.find(l => l.startsWith('fill '))}; restarts: 0`);
}, 300_000);

