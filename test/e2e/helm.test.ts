/**
 * Area 5: Helm against the API server. `helm install` of the chart creates everything it renders;
 * the bundled server, started with the arguments of the Deployment that helm installed and with a
 * token of the ServiceAccount it installed, brings up self-managed TLS on the installed RBAC and
 * Secret, and pods created afterwards come back with the core's /dev/shm. `helm install
 * --post-renderer cdk8s-shm` (the README's Helm 4 plugin running `cdk8s-shm inject`) installs a
 * chart whose pods come back with the /dev/shm that `cdk8s-shm plan -o json` gives the same chart.
 * `helm install --set wayIn=policy` with the resize values installs the policies of a resize.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { CLI_BUNDLE, planJson } from './support/cli';
import { REPO } from './support/control-plane';
import { Kube, eventually } from './support/kube';
import { comparable, devShmOf, expectedPod } from './support/pods';
import { CHART_DIR, gvk } from './support/sources';
import { area, count } from './support/summary';
import { LocalWebhook, exposeLocalService, mountNamespaceUnavailable, startLocalWebhook, waitForWebhook } from './support/webhook';
import { parseWebhookArgs } from '../../src/contracts/webhook-flags';
import { Policy, SIZE_LIMIT_ANNOTATION, resolvePolicy } from '../../src/core';
import { writePostRendererPlugin } from '../programs/cli/tools';

area('5 Helm');

const admin = Kube.admin();
const SHOP_CHART = path.join(REPO, 'test', 'programs', 'cli', 'fixtures', 'shop-chart');

const objectsOf = (yaml: string) => parseAllDocuments(yaml).map(d => d.toJS()).filter(o => o);

const reason = mountNamespaceUnavailable();
const describeTls = reason === undefined ? describe : describe.skip;
const suffix = reason === undefined ? '' : ` [SKIPPED: ${reason}]`;

describeTls(`helm install of the chart, and its webhook serving pods${suffix}`, () => {
  const RELEASE_NS = 'e2e-helm';
  const PODS = 'e2e-helm-pods';
  let manifest: any[];
  let webhook: LocalWebhook | undefined;
  let service: { name: string; namespace: string };

  beforeAll(async () => {
    await admin.namespace(PODS);
    await admin.helm(['install', 'cdk8s-shm', CHART_DIR, '--namespace', RELEASE_NS, '--create-namespace']);
    manifest = objectsOf((await admin.helm(['get', 'manifest', 'cdk8s-shm', '--namespace', RELEASE_NS])).stdout);
    count({ objects: manifest.length });
  });

  afterAll(async () => {
    if (service) exposeLocalService(admin.cluster, service, undefined);
    await webhook?.stop();
    await admin.helm(['uninstall', 'cdk8s-shm', '--namespace', RELEASE_NS], { allowFailure: true });
  });

  test('every object the chart rendered is in the cluster', async () => {
    expect(manifest.map(gvk).sort()).toEqual(expect.arrayContaining(['apps/v1/Deployment', 'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration', 'v1/Secret']));
    for (const object of manifest) {
      const namespace = object.metadata.namespace;
      const group = object.apiVersion.includes('/') ? `.${object.apiVersion.split('/')[0]}` : '';
      const found = await admin.get(`${object.kind}${group}`, object.metadata.name, namespace);
      expect({ object: `${gvk(object)} ${object.metadata.name}`, found: found !== undefined }).toEqual({ object: `${gvk(object)} ${object.metadata.name}`, found: true });
    }
  });

  test('the installed Deployment\'s server, with the installed ServiceAccount, makes its certificate and then sizes pods', async () => {
    const deployment = manifest.find(o => o.kind === 'Deployment');
    const installed = await admin.get('deployment', deployment.metadata.name, RELEASE_NS);
    const container = installed.spec.template.spec.containers[0];
    const svc = manifest.find(o => o.kind === 'Service').metadata;
    service = { name: svc.name, namespace: svc.namespace };
    webhook = await startLocalWebhook(admin.cluster, {
      args: container.args,
      nodeOptions: container.env.find((e: any) => e.name === 'NODE_OPTIONS').value,
      serviceAccount: { token: await admin.token(RELEASE_NS, installed.spec.template.spec.serviceAccountName), caPem: admin.cluster.caPem },
    });
    exposeLocalService(admin.cluster, service, webhook.port);
    await waitForWebhook(admin, PODS);

    const policy: Policy = resolvePolicy(parseWebhookArgs(container.args, {}).policy);
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'after-helm' },
      spec: { initContainers: [{ name: 'sidecar', image: 'i', restartPolicy: 'Always', resources: { limits: { memory: '1Gi' } } }], containers: [{ name: 'main', image: 'i', resources: { limits: { memory: '6Gi' } } }] },
    };
    const admitted = await admin.json(['create', '-n', PODS, '-f', '-'], { input: JSON.stringify(pod) });
    // The reference: the same pod where the chart's webhook does not look (its own namespace).
    const plain = await admin.json(['create', '-n', RELEASE_NS, '--dry-run=server', '-f', '-'], { input: JSON.stringify(pod) });
    expect(devShmOf(plain)).toBe('runtime default');
    expect(comparable(admitted)).toEqual(comparable(expectedPod(plain, policy)));
    expect(admitted.metadata.annotations[SIZE_LIMIT_ANNOTATION]).toBeDefined();
    count({ pods: 1 });
  });
});

describe('helm install --post-renderer cdk8s-shm (the README\'s Helm 4 plugin)', () => {
  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(admin.cluster.dir, 'plugin-'));
    const plugin = writePostRendererPlugin(path.join(dir, 'cdk8s-shm-helm-plugin'), CLI_BUNDLE);
    await admin.helm(['plugin', 'install', plugin]);
  });

  test.each([
    ['the default policy', []],
    ['--post-renderer-args --ratio=0.25', ['--ratio=0.25']],
  ])('%s: the installed pods have the /dev/shm that cdk8s-shm plan gives the rendered chart', async (_name, flags: string[]) => {
    const namespace = `e2e-shop-${flags.length ? 'ratio' : 'default'}`;
    const rendered = objectsOf((await admin.helm(['template', 'shop', SHOP_CHART, '--namespace', namespace])).stdout);
    const plans = await planJson(rendered, flags);
    await admin.helm(['install', 'shop', SHOP_CHART, '--namespace', namespace, '--create-namespace', '--post-renderer', 'cdk8s-shm',
      ...flags.flatMap(f => ['--post-renderer-args', f])]);
    const installed = objectsOf((await admin.helm(['get', 'manifest', 'shop', '--namespace', namespace])).stdout);
    count({ objects: installed.length });
    const workloads = installed.filter(o => o.spec?.template?.spec);
    expect(workloads.length).toBeGreaterThan(0);
    for (const workload of workloads) {
      const plan = plans.find(p => p.kind === workload.kind && p.name === workload.metadata.name)!;
      expect(plan).toBeDefined();
      expect(plan.action).toBe('inject');
      const selector = Object.entries(workload.spec.selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(',');
      const pods = await eventually(`pods of ${workload.kind} ${workload.metadata.name}`, async () => {
        const found = await admin.list('pods', namespace, selector);
        return found.length === (workload.spec.replicas ?? 1) ? found : undefined;
      });
      for (const pod of pods) {
        expect(devShmOf(pod)).toBe(plan.shmSize);
        expect(pod.metadata.annotations[SIZE_LIMIT_ANNOTATION]).toBe(plan.shmSize);
        const mounted = pod.spec.containers.filter((c: any) => (c.volumeMounts ?? []).some((m: any) => m.mountPath === '/dev/shm')).map((c: any) => c.name);
        expect(mounted).toEqual(plan.targets);
      }
      count({ pods: pods.length });
    }
    await admin.helm(['uninstall', 'shop', '--namespace', namespace]);
  });
});

describe('helm install of the chart with wayIn=policy, resizeVolumes and denyUnsafeShrink', () => {
  const RELEASE = 'e2e-policy';
  const RELEASE_NS = 'e2e-helm-policy';

  afterAll(async () => {
    await admin.helm(['uninstall', RELEASE, '--namespace', RELEASE_NS], { allowFailure: true });
  });

  test('the policies of a resize are installed, the MutatingAdmissionPolicy that follows one among them', async () => {
    // Opt-in namespaces, none labelled: the policies size no pod of the other tests while installed.
    await admin.helm(['install', RELEASE, CHART_DIR, '--namespace', RELEASE_NS, '--create-namespace', '--set', 'wayIn=policy',
      '--set', 'policy.resizeVolumes=true', '--set', 'policy.denyUnsafeShrink=true', '--set', 'webhook.namespaceSelection=opt-in']);
    const manifest = objectsOf((await admin.helm(['get', 'manifest', RELEASE, '--namespace', RELEASE_NS])).stdout);
    count({ objects: manifest.length });
    expect(manifest.map(o => `${o.kind} ${o.metadata.name}`)).toEqual(expect.arrayContaining([
      `MutatingAdmissionPolicy ${RELEASE}-resize`, `MutatingAdmissionPolicyBinding ${RELEASE}-resize`,
      `ValidatingAdmissionPolicy ${RELEASE}-unsafe-shrink`, `ValidatingAdmissionPolicyBinding ${RELEASE}-unsafe-shrink`,
    ]));
    for (const object of manifest) {
      const found = await admin.get(`${object.kind}.admissionregistration.k8s.io`, object.metadata.name);
      expect({ object: `${object.kind} ${object.metadata.name}`, found: found !== undefined }).toEqual({ object: `${object.kind} ${object.metadata.name}`, found: true });
    }
    const resize = await admin.get('MutatingAdmissionPolicy.admissionregistration.k8s.io', `${RELEASE}-resize`);
    expect(resize.spec.matchConstraints.resourceRules[0].resources).toEqual(['pods/resize']);
    const policyMap = resize.spec.variables.find((v: any) => v.name === 'policy').expression;
    expect(policyMap).toContain("'denyUnsafeShrink': 'true'");
  });
});
