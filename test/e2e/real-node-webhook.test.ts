/**
 * Area 8, the real node: the webhook as users deploy it. `SharedMemoryWebhook`'s own objects (its
 * Deployment running the bundle from a ConfigMap with the stock Node.js image, its Service,
 * self-managed TLS, probes, a Pod Security `restricted` namespace) run on the node; only the image
 * is mapped. Its pods reach the API server through the `kubernetes` Service (kube-proxy), write
 * their certificate and publish the CA bundle; the API server calls them through their Service
 * (the service network stands in for cluster DNS, kube-proxy routes the ClusterIP to a ready pod).
 * Then the pods of a business Deployment, created by its ReplicaSet, are sized by them and run
 * with the `/dev/shm` `cdk8s-shm plan` gives; how many per minute this machine creates, admits,
 * runs and checks is the area's figure.
 */
import * as http from 'http';
import { planJson } from './support/cli';
import { Kube, asStream, eventually } from './support/kube';
import { containerStatus, dfKib, logLines, transcript, waitForLine } from './support/node/containers';
import { forNode } from './support/node/node-copies';
import { serviceConnections } from './support/service-network';
import { area, count } from './support/summary';
import { deleteClusterScoped, exposeLocalService, only, synthWebhook, waitForWebhook } from './support/webhook';
import { NamespaceSelection } from '../../src';
import { NAMESPACE_OPT_IN_VALUE } from '../../src/constructs/admission-policy/settings';
import { INJECT_ANNOTATION, SIZE_LIMIT_ANNOTATION } from '../../src/core';

area('8 real node');

const admin = Kube.admin();
const SYSTEM = 'e2e-node-webhook-system';
const BUSINESS = 'e2e-node-business';
const REPLICAS = 8;
const objects = forNode(synthWebhook({ namespace: SYSTEM, name: 'e2e-node-webhook', namespaceSelection: NamespaceSelection.OPT_IN }));
const service = only(objects, 'Service');

/** A business Deployment as its team writes it: a limit, nothing about /dev/shm. */
const business = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'trainer', namespace: BUSINESS },
  spec: {
    replicas: REPLICAS,
    selector: { matchLabels: { app: 'trainer' } },
    template: {
      metadata: { labels: { app: 'trainer' } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'trainer', image: 'pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime', resources: { limits: { memory: '768Mi' } } }],
      },
    },
  },
};

/** The sum of a metric's samples whose labels include `label`, from a webhook pod's /metrics. */
async function metric(podIp: string, name: string, label: string): Promise<number> {
  const port = only(objects, 'Deployment').spec.template.spec.containers[0].ports.find((p: any) => p.name === 'metrics').containerPort;
  const text = await new Promise<string>((resolve, reject) => {
    http.get({ host: podIp, port, path: '/metrics', timeout: 5_000 }, res => {
      let body = '';
      res.on('data', chunk => (body += chunk));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
  return text.split('\n').filter(l => l.startsWith(`${name}{`) && l.includes(label)).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

beforeAll(async () => {
  await admin.apply(objects);
  count({ objects: objects.length });
}, 120_000);

afterAll(async () => {
  exposeLocalService(admin.cluster, { name: service.metadata.name, namespace: SYSTEM }, undefined);
  await admin.kubectl(['delete', '-f', '-', '--ignore-not-found', '--wait=false'], { input: asStream(objects.filter(o => o.kind !== 'Namespace')) });
  await deleteClusterScoped(admin, objects);
  await admin.kubectl(['delete', 'namespace', SYSTEM, BUSINESS, '--ignore-not-found', '--wait=false']);
});

describe('5. the webhook as a pod', () => {
  test('its pods start, reach the API server through the kubernetes Service, publish their CA and become ready', async () => {
    const deployment = only(objects, 'Deployment');
    const ready = await eventually(`Deployment ${deployment.metadata.name} ready`, async () => {
      const found = await admin.get('deployment', deployment.metadata.name, SYSTEM);
      return found?.status?.readyReplicas === deployment.spec.replicas ? found : undefined;
    }, 240_000, 1000);
    expect(ready.status.readyReplicas).toBe(deployment.spec.replicas);
    const configuration = await admin.get('mutatingwebhookconfiguration', only(objects, 'MutatingWebhookConfiguration').metadata.name);
    expect(configuration.webhooks[0].clientConfig.caBundle).toMatch(/^[A-Za-z0-9+/=]{100,}$/);
    const pods = await admin.list('pods', SYSTEM, Object.entries(deployment.spec.selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(','));
    count({ ran: pods.length });
    // The namespace the construct made enforces restricted, and its pods were admitted there.
    expect((await admin.get('namespace', SYSTEM)).metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const pod of pods) expect(containerStatus(pod, pod.spec.containers[0].name).ready).toBe(true);
  }, 300_000);

  test(`${REPLICAS} pods of a business Deployment are sized by it, run, and have the planned /dev/shm; the figure: pods per minute`, async () => {
    const clusterIp = (await admin.get('service', service.metadata.name, SYSTEM)).spec.clusterIP;
    exposeLocalService(admin.cluster, { name: service.metadata.name, namespace: SYSTEM }, `${clusterIp}:${service.spec.ports[0].port}`);
    await admin.namespace(BUSINESS, { [INJECT_ANNOTATION]: NAMESPACE_OPT_IN_VALUE });
    await waitForWebhook(admin, BUSINESS);
    const [plan] = await planJson([business]);
    expect(plan.action).toBe('inject');

    const started = Date.now();
    await admin.create([forNode(business, { commands: { trainer: 'echo "df $(df -k /dev/shm | tail -1)"; echo done; exec sleep 3600' } })]);
    const pods = await eventually(`${REPLICAS} trainer pods running`, async () => {
      const found = await admin.list('pods', BUSINESS, 'app=trainer');
      return found.length === REPLICAS && found.every((p: any) => containerStatus(p, 'trainer')?.state?.running) ? found : undefined;
    }, 300_000, 500);
    for (const pod of pods) {
      const lines = await waitForLine(admin, BUSINESS, pod.metadata.name, 'trainer', 'done');
      expect(pod.metadata.annotations[SIZE_LIMIT_ANNOTATION]).toBe(plan.shmSize);
      expect(BigInt(dfKib(lines))).toBe(BigInt(plan.shmSizeBytes!) / 1024n);
    }
    const seconds = (Date.now() - started) / 1000;
    count({ ran: pods.length, pods: pods.length });
    // The API server called the webhook's pods through their Service.
    expect(serviceConnections(admin.cluster.serviceLogFile)).toContainEqual(expect.objectContaining({
      authority: `${service.metadata.name}.${SYSTEM}.svc:${service.spec.ports[0].port}`, routed: true,
    }));
    // And the pods answered: their own counters, read on their metrics port at their pod addresses.
    const webhookPods = await admin.list('pods', SYSTEM, 'app.kubernetes.io/name=cdk8s-shm-webhook');
    const injected = (await Promise.all(webhookPods.map((p: any) => metric(p.status.podIP, 'cdk8s_shm_admission_requests_total', 'outcome="inject"'))))
      .reduce((a, b) => a + b, 0);
    expect(injected).toBeGreaterThanOrEqual(REPLICAS);
    const lines = await logLines(admin, BUSINESS, pods[0].metadata.name, 'trainer');
    transcript(`[webhook pod] trainer: ${lines[0]} (plan: ${plan.shmSize})`);
    transcript(`[figure] ${REPLICAS} pods created through the webhook pods, run and checked in ${seconds.toFixed(1)} s: ${(REPLICAS * 60 / seconds).toFixed(0)} pods per minute`);
  }, 400_000);
});
