/**
 * Area 6: every workload of the CLI's fixtures (test/programs/cli/fixtures, the shop chart rendered by
 * helm, the kustomization built by kubectl), of the examples, and every pod of the shared
 * AdmissionReview fixtures is created through the API server with the webhook registered, and the
 * pods that come back are compared with `cdk8s-shm plan -o json` on the same objects: the size,
 * the containers that mount it, the annotation, and nothing injected where the plan skips.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CLI_BUNDLE } from './support/cli';
import { CLI_FIXTURES, NOT_MANIFESTS, corpusSources, deleteStandInNodes, expectPodsAsPlanned, yamlObjects } from './support/corpus';
import { Kube, runAsync } from './support/kube';
import { area, count } from './support/summary';
import { RegisteredWebhook, registerLocalWebhook } from './support/webhook';

area('6 plan parity');

const admin = Kube.admin();
const WEBHOOK_NS = 'e2e-parity-webhook';
const NODE = 'e2e-parity-node';
let webhook: RegisteredWebhook;

beforeAll(async () => {
  await admin.namespace(WEBHOOK_NS);
  await admin.namespace('e2e-parity-probe');
  webhook = await registerLocalWebhook(admin, { namespace: WEBHOOK_NS, name: 'e2e-parity' }, 'e2e-parity-probe');
  // A Node for the DaemonSets: every label their node selectors ask for, no taint.
  await admin.apply([{
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: NODE, labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': NODE, 'cdk8s-shm.io/routing-agent': 'true' } },
  }]);
  // The API server taints a new Node not-ready; a kubelet's first Ready status would lift that.
  await admin.kubectl(['taint', 'node', NODE, 'node.kubernetes.io/not-ready:NoSchedule-']);
});

afterAll(async () => {
  await webhook?.unregister();
  await admin.kubectl(['delete', 'node', NODE, '--ignore-not-found']);
  await deleteStandInNodes(admin);
});

let sourceIndex = 0;

test.each(corpusSources(admin))('$name: the pods from the API server have the /dev/shm cdk8s-shm plan gives', async source => {
  const namespace = `e2e-parity-${++sourceIndex}`;
  await admin.namespace(namespace);
  await expectPodsAsPlanned(admin, namespace, source);
});

describe('cdk8s-shm inject output, piped to kubectl as users do, passes a strict server-side dry run', () => {
  const files = () => fs.readdirSync(CLI_FIXTURES).filter(f => /\.ya?ml$/.test(f) && !NOT_MANIFESTS.has(f)).sort();
  test.each(files())('%s', async file => {
    const run = await runAsync(process.execPath, [CLI_BUNDLE, 'inject', '-f', path.join(CLI_FIXTURES, file)]);
    expect(run.status).toBe(0);
    const objects = yamlObjects(run.stdout);
    for (const namespace of new Set(objects.map(o => o.metadata?.namespace).filter(Boolean))) await admin.namespace(namespace);
    // Objects without a namespace go to `default`, as they would for the user.
    const applied = await admin.kubectl(['apply', '--server-side', '--dry-run=server', '--validate=strict', '-f', '-'], { input: run.stdout });
    expect(applied.stdout.trim().split('\n')).toHaveLength(objects.length);
    count({ objects: objects.length });
  });
});
