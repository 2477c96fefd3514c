/**
 * Area 8, the real node: after an in-place resize (Kubernetes v1.36, this node's cgroup v1). The
 * kubelet lowers the container's memory limit in place; the tmpfs at /dev/shm keeps the size it was
 * mounted with, the hazard the ways in warn about (src/core/resize.ts):
 *
 * - created with a 512Mi limit, the application gets a 256Mi /dev/shm; the resize brings the limit
 *   down to 256Mi, and `df` still shows 256Mi, now the whole limit: filling it OOM-kills the
 *   application (it holds 32 MiB of its own);
 * - the same application created with the 256Mi limit gets the rule's 128Mi and fills it to ENOSPC;
 * - `cdk8s-shm check` on the live pod names it, and the core's `planResize` of the same resize gives
 *   the warning the webhook sends to kubectl.
 *
 * The sizes are the CLI's and the core's for the same objects, never figures of this test.
 */
import { ApiObject, App, Chart } from 'cdk8s';
import { stringify } from 'yaml';
import { CLI_BUNDLE, planJson } from './support/cli';
import { Kube, eventually, runAsync } from './support/kube';
import { application } from './support/node/application';
import { containerStatus, dfKib, field, logLines, transcript, waitForPod, watchContainerEnds } from './support/node/containers';
import { forNode } from './support/node/node-copies';
import { area, count } from './support/summary';
import { SharedMemory } from '../../src';
import { bytesCeil, planResize, resolvePolicy } from '../../src/core';

area('8 real node');

const admin = Kube.admin();
const NS = 'e2e-node-resize';
const APP_MIB = 32;
const NEW_LIMIT = '256Mi';

/** cgroup v1: the container's own memory cgroup is mounted at /sys/fs/cgroup/memory. */
const CGROUP_LIMIT = '/sys/fs/cgroup/memory/memory.limit_in_bytes';

/**
 * `df` and the cgroup's limit; then, once the limit is at most `fillAt` bytes (after the resize, or
 * at once), `df` again and the application filling /dev/shm.
 */
function script(fillAt: bigint): string {
  return [
    'echo "df $(df -k /dev/shm | tail -1)"',
    `echo "limit $(cat ${CGROUP_LIMIT})"`,
    `while [ "$(cat ${CGROUP_LIMIT})" -gt ${fillAt} ]; do sleep 0.2; done`,
    `echo "limit-now $(cat ${CGROUP_LIMIT})"`,
    'echo "df-now $(df -k /dev/shm | tail -1)"',
    `exec shmtool app ${APP_MIB} /dev/shm/fill 1024`,
  ].join('\n');
}

/** The application as the construct sizes it with this limit, as the node runs it. */
async function run(name: string, limit: string): Promise<any> {
  const chart = new Chart(new App(), name);
  SharedMemory.addTo(new ApiObject(chart, name, application(name, NS, limit)));
  const objects = chart.toJson();
  const [plan] = await planJson(objects);
  await admin.create(forNode(objects, { commands: { app: script(bytesCeil(NEW_LIMIT)) } }));
  count({ objects: objects.length });
  return plan;
}

const kib = (lines: readonly string[], key: string) => Number(field(lines, key).trim().split(/\s+/)[1]);

beforeAll(async () => {
  await admin.namespace(NS);
});

afterAll(async () => {
  await admin.kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=false']);
});

test('a resize lowers the limit in place and /dev/shm keeps its size: filling it OOM-kills the application', async () => {
  const resizedPlan = await run('resized', '512Mi');
  const freshPlan = await run('fresh', NEW_LIMIT);
  expect(BigInt(resizedPlan.shmSizeBytes)).toBeGreaterThan(BigInt(freshPlan.shmSizeBytes));

  const pod = await waitForPod(admin, NS, 'resized-', 'running', p => containerStatus(p, 'app')?.state?.running !== undefined);
  const before = await eventually('the application printed its limit', async () => {
    const printed = await logLines(admin, NS, pod.metadata.name, 'app');
    return printed.some(l => l.startsWith('limit ')) ? printed : undefined;
  });
  expect(BigInt(dfKib(before))).toBe(BigInt(resizedPlan.shmSizeBytes) / 1024n);
  expect(BigInt(field(before, 'limit'))).toBe(bytesCeil('512Mi'));

  // The resize, as kubectl sends it; the kubelet applies it in place (no restart).
  const body = { spec: { containers: [{ name: 'app', resources: { limits: { memory: NEW_LIMIT } } }] } };
  await admin.kubectl(['patch', 'pod', pod.metadata.name, '-n', NS, '--subresource', 'resize', '--type', 'strategic', '-p', JSON.stringify(body)]);
  const live = await eventually('the kubelet applied the resize', async () => {
    const current = await admin.get('pod', pod.metadata.name, NS);
    const inForce = containerStatus(current, 'app')?.resources?.limits?.memory;
    return inForce !== undefined && bytesCeil(inForce) === bytesCeil(NEW_LIMIT) ? current : undefined;
  }, 120_000, 500);
  const after = await eventually('the application saw the new limit', async () => {
    const printed = await logLines(admin, NS, pod.metadata.name, 'app');
    return printed.some(l => l.startsWith('df-now ')) ? printed : undefined;
  });
  expect(BigInt(field(after, 'limit-now'))).toBe(bytesCeil(NEW_LIMIT));
  // The hazard: the tmpfs keeps its first size, now the whole limit.
  expect(kib(after, 'df-now')).toBe(dfKib(before));
  expect(BigInt(kib(after, 'df-now')) * 1024n).toBeGreaterThanOrEqual(bytesCeil(NEW_LIMIT));

  // What the ways in say about this very resize: the core's warning (the webhook's), and check on the live pod.
  const stored = structuredClone(pod);
  const resize = planResize(stored, live, resolvePolicy({}));
  expect(resize).toMatchObject({ action: 'follow', outcome: 'allow', currentBytes: BigInt(resizedPlan.shmSizeBytes), ruleBytes: BigInt(freshPlan.shmSizeBytes) });
  expect(resize.warnings).toContain(`/dev/shm ${resizedPlan.shmSize} is at or above the new ${NEW_LIMIT} limit of container 'app': shared memory alone can OOM-kill it`);
  const check = await runAsync(process.execPath, [CLI_BUNDLE, 'check'], { input: stringify({ apiVersion: 'v1', kind: 'List', items: [live] }) });
  expect(check.status).toBe(1);
  expect(check.stdout).toContain(`Pod '${pod.metadata.name}' in namespace '${NS}': /dev/shm ${resizedPlan.shmSize} no longer matches its limits: the rule gives ${freshPlan.shmSize}`);

  // Filling the /dev/shm it kept: shared memory alone takes the application past its new limit.
  const ends = await watchContainerEnds(admin, NS, 'resized-', 'app', seen => seen.length >= 1);
  expect(ends[0]).toMatchObject({ reason: 'OOMKilled', exitCode: 137 });
  count({ ran: 1 });
  transcript(`[resize 512Mi -> ${NEW_LIMIT}, cgroup v1] /dev/shm before ${dfKib(before)} KiB, after ${kib(after, 'df-now')} KiB; `
    + `app holding ${APP_MIB} MiB, filling it: ${ends[0].reason} (exit ${ends[0].exitCode}); check: exit ${check.status}`);

  // The same application created with the new limit: the rule's size, filled to ENOSPC, still running.
  const fresh = await waitForPod(admin, NS, 'fresh-', 'running', p => containerStatus(p, 'app')?.state?.running !== undefined);
  const lines = await eventually('the fresh application reported', async () => {
    const printed = await logLines(admin, NS, fresh.metadata.name, 'app');
    return printed.some(l => l.startsWith('fill ')) ? printed : undefined;
  });
  expect(BigInt(dfKib(lines))).toBe(BigInt(freshPlan.shmSizeBytes) / 1024n);
  expect(lines.find(l => l.startsWith('fill '))).toMatch(new RegExp(`wrote ${freshPlan.shmSizeBytes} bytes, stopped: No space left on device$`));
  expect(containerStatus(await admin.get('pod', fresh.metadata.name, NS), 'app').restartCount).toBe(0);
  count({ ran: 1 });
  transcript(`[created at ${NEW_LIMIT}] /dev/shm ${freshPlan.shmSize}: ${lines.find(l => l.startsWith('fill '))}; restarts: 0`);
}, 300_000);
