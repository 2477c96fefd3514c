/**
 * The Helm chart charts/cdk8s-shm: regenerated from the constructs it must equal the committed one
 * (no drift), the real `helm` lints it and renders it with several value sets, the rendered objects
 * pass the Kubernetes schema, and for the same settings they equal what the constructs synthesize.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Chart, Duration, Size } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { CHART_VALUE_SETS as V } from './value-sets';
import { BUNDLE_IN_CHART, PLUGIN_IN_CHART, generateChart } from '../../scripts/helm-chart';
import { AgentDelivery, NamespaceSelection, PodSelection, podspec, SharedMemoryAgent, SharedMemoryDomain, SharedMemoryWebhook, WebhookFailurePolicy, WebhookNetworkPolicy, WebhookTls } from '../../src';
import { parseCsiPluginArgs } from '../../src/contracts/csi-flags';
import { parseWebhookArgs } from '../../src/contracts/webhook-flags';
import { createCertificateAuthority } from '../../src/programs/webhook/x509';
import { bundle, run, tool } from '../programs/cli/tools';
import { expectValidAgainstSchema } from '../support/schema';
import { PLACEMENT_PROPS, PLACEMENT_VALUES } from '../support/webhook-props';

const REPO = path.join(__dirname, '..', '..');
const COMMITTED = path.join(REPO, 'charts', 'cdk8s-shm');
let chartDir: string;
let helm: string;
let serverBundle: string;
let pluginBundle: string;

beforeAll(() => {
  bundle();
  serverBundle = fs.readFileSync(path.join(REPO, 'lib', 'bundle', 'webhook.js'), 'utf8');
  pluginBundle = fs.readFileSync(path.join(REPO, 'lib', 'bundle', 'csi-plugin.js'), 'utf8');
  chartDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-shm-chart-')), 'cdk8s-shm');
  generateChart(chartDir);
  helm = tool('helm');
}, 180_000);

afterAll(() => {
  if (chartDir) fs.rmSync(path.dirname(chartDir), { recursive: true, force: true });
});

function listFiles(dir: string, prefix = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(e => e.isDirectory()
    ? listFiles(path.join(dir, e.name), `${prefix}${e.name}/`)
    : [`${prefix}${e.name}`]).sort();
}

/** `helm template` with `--set` pairs; returns the objects (throws with helm's stderr on failure). */
function template(sets: readonly string[] = [], extra: readonly string[] = []): any[] {
  const result = run(helm, ['template', 'cdk8s-shm', chartDir, '--namespace', 'cdk8s-shm', ...sets.flatMap(s => ['--set', s]), ...extra]);
  if (result.status !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout).map(d => d.toJS()).filter(o => o);
}

function find(objects: readonly any[], kind: string): any {
  return objects.find(o => o.kind === kind);
}

function containerOf(objects: readonly any[]): any {
  return find(objects, 'Deployment').spec.template.spec.containers[0];
}

/** Objects keyed and sorted as Helm sorts nothing: by kind and name. */
function byKey(objects: readonly any[]): Record<string, any> {
  return Object.fromEntries(objects.map(o => [`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o]));
}

describe('the committed chart', () => {
  test('equals a fresh generation from the constructs (everything but the bundled programs)', () => {
    const bundled = [BUNDLE_IN_CHART, PLUGIN_IN_CHART];
    const fresh = listFiles(chartDir).filter(f => !bundled.includes(f));
    const committed = listFiles(COMMITTED).filter(f => !bundled.includes(f));
    expect(committed).toEqual(fresh);
    for (const file of fresh) {
      expect({ file, text: fs.readFileSync(path.join(COMMITTED, file), 'utf8') }).toEqual({ file, text: fs.readFileSync(path.join(chartDir, file), 'utf8') });
    }
  });

  test('the server and plugin bundles are the build\'s, and git ignores the copies', () => {
    expect(fs.readFileSync(path.join(chartDir, BUNDLE_IN_CHART), 'utf8')).toBe(serverBundle);
    expect(fs.readFileSync(path.join(chartDir, PLUGIN_IN_CHART), 'utf8')).toBe(pluginBundle);
    const ignored = fs.readFileSync(path.join(COMMITTED, 'files', '.gitignore'), 'utf8');
    expect(ignored).toMatch(/^webhook\.js$/m);
    expect(ignored).toMatch(/^csi-plugin\.js$/m);
  });
});

describe('helm lint', () => {
  test.each([
    ['defaults', V.defaults.sets],
    ['cert-manager', V.certManager.sets],
    ['agent', V.agentLint.sets],
    ['agent, hostPath delivery', V.agentHostPath.sets],
  ])('%s: no errors', (_name, sets) => {
    const result = run(helm, ['lint', chartDir, '--strict', ...sets.flatMap(s => ['--set', s])]);
    expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(result.status).toBe(0);
  });
});

describe('helm template', () => {
  test('defaults: a self-managed TLS webhook, 2 replicas, Ignore, the bundled server', () => {
    const objects = template();
    expect(objects.map(o => o.kind).sort()).toEqual([
      'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'MutatingWebhookConfiguration', 'PodDisruptionBudget',
      'ResourceQuota', 'Role', 'RoleBinding', 'Secret', 'Service', 'ServiceAccount',
      'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'ValidatingAdmissionPolicyBinding',
    ]);
    expectValidAgainstSchema(objects);
    const deployment = find(objects, 'Deployment');
    expect(deployment.metadata).toMatchObject({ name: 'cdk8s-shm-webhook', namespace: 'cdk8s-shm' });
    expect(deployment.spec.replicas).toBe(2);
    expect(containerOf(objects).args).toEqual([
      '--port=8443', '--metrics-port=9090', '--tls-mode=self-managed', '--tls-secret=cdk8s-shm/cdk8s-shm-webhook-tls', '--webhook-configuration=cdk8s-shm-webhook',
      '--service=cdk8s-shm-webhook.cdk8s-shm', '--pod-selection=opt-out',
    ]);
    expect(find(objects, 'ConfigMap').data['webhook.js']).toBe(serverBundle);
    expect(deployment.spec.template.metadata.annotations['cdk8s-shm.io/server-checksum']).toBe(crypto.createHash('sha256').update(serverBundle).digest('hex'));
    const webhook = find(objects, 'MutatingWebhookConfiguration').webhooks[0];
    expect(webhook).toMatchObject({ failurePolicy: 'Ignore', timeoutSeconds: 5, sideEffects: 'None', reinvocationPolicy: 'IfNeeded' });
    expect(webhook.namespaceSelector.matchExpressions).toEqual([{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'cdk8s-shm'] }]);
    expect(find(objects, 'PodDisruptionBudget').spec).toMatchObject({ minAvailable: 1 });
  });

  test('the defaults equal what SharedMemoryWebhook synthesizes with the same settings', () => {
    // The chart always passes --pod-selection; the construct only when given. Policy defaults are no flags:
    // the webhook writes the settings it is given onto the pods it sizes.
    const construct = synthWebhook({ createNamespace: false, podSelection: PodSelection.OPT_OUT });
    expect(byKey(template())).toEqual(byKey(construct));
  });

  test('cert-manager, one replica, opt-in namespaces, policy values: equal to the construct too', () => {
    const objects = template(V.certManagerOptInPolicy.sets);
    expectValidAgainstSchema(objects, ['Issuer', 'Certificate']);
    expect(find(objects, 'Certificate').spec.issuerRef).toEqual({ name: 'cdk8s-shm-webhook-selfsigned', kind: 'Issuer' });
    expect(find(objects, 'PodDisruptionBudget').spec).toMatchObject({ maxUnavailable: 1 });
    expect(find(objects, 'Namespace').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(byKey(objects)).toEqual(byKey(synthWebhook({
      tls: WebhookTls.certManager(),
      replicas: 1,
      namespaceSelection: NamespaceSelection.OPT_IN,
      excludedNamespaces: ['monitoring'],
      ratio: 0.25,
      minimum: Size.mebibytes(256),
      maximum: Size.gibibytes(8),
      podSelection: PodSelection.OPT_IN,
      failurePolicy: WebhookFailurePolicy.FAIL,
      timeout: Duration.seconds(3),
    })));
  });

  test('pod placement, resources, ports, extra labels and annotations, a NetworkPolicy: equal to the construct', () => {
    const values = path.join(path.dirname(chartDir), 'placement-values.yaml');
    fs.writeFileSync(values, [
      ...PLACEMENT_VALUES,
      'networkPolicy:',
      '  enabled: true',
      '  apiServerCidrs: [10.0.0.0/24, fd00::/64]',
      '  apiServerPorts: [6443]',
      '  metricsNamespaces: [monitoring, observability]',
      '',
    ].join('\n'));
    const objects = template([], ['--values', values]);
    expectValidAgainstSchema(objects);
    const construct = synthWebhook({
      createNamespace: false,
      podSelection: PodSelection.OPT_OUT,
      ...PLACEMENT_PROPS,
      networkPolicy: WebhookNetworkPolicy.restrict({ apiServerCidrs: ['10.0.0.0/24', 'fd00::/64'], apiServerPorts: [6443], metricsNamespaces: ['monitoring', 'observability'] }),
    });
    expect(byKey(objects)).toEqual(byKey(construct));
    expect(find(objects, 'NetworkPolicy').spec.egress).toEqual([{ ports: [{ port: 6443, protocol: 'TCP' }], to: [{ ipBlock: { cidr: '10.0.0.0/24' } }, { ipBlock: { cidr: 'fd00::/64' } }] }]);
    expect(containerOf(objects).ports.map((p: any) => p.containerPort)).toEqual([10250, 9443]);
  });

  test('a NetworkPolicy with the defaults, outside self-managed TLS: egress to the API server alone (limitFollows reads LimitRanges and quotas)', () => {
    const objects = template(['networkPolicy.enabled=true', 'tls.mode=cert-manager']);
    expect(find(objects, 'NetworkPolicy').spec).toMatchObject({
      ingress: [{ ports: [{ port: 8443, protocol: 'TCP' }] }],
      egress: [{ ports: [{ port: 443, protocol: 'TCP' }, { port: 6443, protocol: 'TCP' }] }],
    });
    expect(byKey(objects)).toEqual(byKey(synthWebhook({
      createNamespace: false,
      podSelection: PodSelection.OPT_OUT,
      tls: WebhookTls.certManager(),
      networkPolicy: WebhookNetworkPolicy.restrict(),
    })));
  });

  test('a priority class of your own gets no quota; admissionPolicies=false drops the policies', () => {
    const objects = template(['webhook.priorityClassName=platform-high', 'webhook.admissionPolicies=false']);
    expect(objects.some(o => o.kind === 'ResourceQuota' || o.kind.startsWith('ValidatingAdmissionPolicy'))).toBe(false);
    expect(find(objects, 'Deployment').spec.template.spec.priorityClassName).toBe('platform-high');
    expect(byKey(objects)).toEqual(byKey(synthWebhook({
      createNamespace: false,
      podSelection: PodSelection.OPT_OUT,
      priorityClassName: 'platform-high',
      admissionPolicies: false,
    })));
    const quota = find(template(['webhook.priorityClassName=system-node-critical']), 'ResourceQuota');
    expect(quota.spec.scopeSelector.matchExpressions).toEqual([{ scopeName: 'PriorityClass', operator: 'In', values: ['system-node-critical'] }]);
  });

  test('installed into kube-system (not created): no quota there', () => {
    const result = run(helm, ['template', 'cdk8s-shm', chartDir, '--namespace', 'kube-system']);
    expect(result.status).toBe(0);
    const kinds = parseAllDocuments(result.stdout).map(d => d.toJS()).filter(o => o).map(o => o.kind);
    expect(kinds).not.toContain('ResourceQuota');
    expect(kinds).not.toContain('Namespace');
  });

  test.each(['kube-system', 'kube-public', 'kube-node-lease', 'default'])('namespace.create=true in %s is refused', namespace => {
    const result = run(helm, ['template', 'cdk8s-shm', chartDir, '--namespace', namespace, '--set', 'namespace.create=true']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(`namespace.create would relabel ${namespace}, a namespace the cluster owns`);
  });

  test('the agent creating kube-system is refused; deploying into it unchanged is not', () => {
    const agent = ['agent.enabled=true', 'agent.image=registry.example.com/agent:1.0.0', 'agent.namespace=kube-system'];
    expect(() => template(agent)).toThrow('agent.createNamespace would relabel kube-system, a namespace the cluster owns');
    const objects = template([...agent, 'agent.createNamespace=false']);
    expect(objects.some(o => o.kind === 'Namespace' && o.metadata.name === 'kube-system')).toBe(false);
    expect(find(objects, 'DaemonSet').metadata.namespace).toBe('kube-system');
    // No quota in kube-system, and one next to an agent elsewhere.
    expect(objects.filter(o => o.kind === 'ResourceQuota').map(o => o.metadata.namespace)).toEqual(['cdk8s-shm']);
    expect(template(agent.slice(0, 2)).filter(o => o.kind === 'ResourceQuota').map(o => o.metadata.namespace).sort()).toEqual(['cdk8s-shm', 'shm-agent']);
  });

  test('images by digest are accepted, malformed digests refused by the values schema', () => {
    const digest = `sha256:${'0f'.repeat(32)}`;
    const objects = template([`webhook.nodeImage=docker.io/library/node:24.19.0-alpine3.24@${digest}`]);
    expect(containerOf(objects).image).toBe(`docker.io/library/node:24.19.0-alpine3.24@${digest}`);
    expect(containerOf(template([`webhook.image=registry.example.com/webhook@${digest}`])).image).toBe(`registry.example.com/webhook@${digest}`);
    expect(() => template(['webhook.nodeImage=node@sha256:abc'])).toThrow('nodeImage');
    expect(() => template(['agent.enabled=true', 'agent.image=a:1', 'agent.mounterImage=busybox@sha256:xyz'])).toThrow('mounterImage');
  });

  test('cert-manager: the CA chain, and its namespace never sent to the webhook', () => {
    const objects = template(['tls.mode=cert-manager', 'tls.certManager.namespace=certs', 'webhook.excludedNamespaces={certs,monitoring}']);
    expect(objects.filter(o => o.kind === 'Certificate').map(o => o.metadata.name).sort()).toEqual(['cdk8s-shm-webhook', 'cdk8s-shm-webhook-ca']);
    expect(objects.filter(o => o.kind === 'Issuer').map(o => o.metadata.name).sort()).toEqual(['cdk8s-shm-webhook-ca', 'cdk8s-shm-webhook-selfsigned']);
    expect(find(objects, 'MutatingWebhookConfiguration').webhooks[0].namespaceSelector.matchExpressions[0].values)
      .toEqual(['kube-system', 'cdk8s-shm', 'certs', 'monitoring']);
    expect(byKey(objects)).toEqual(byKey(synthWebhook({
      createNamespace: false,
      podSelection: PodSelection.OPT_OUT,
      tls: WebhookTls.certManager({ namespace: 'certs' }),
      excludedNamespaces: ['certs', 'monitoring'],
    })));
  });

  test('cert-manager with an existing ClusterIssuer: no Issuer of our own', () => {
    const objects = template(V.certManagerClusterIssuer.sets);
    expect(find(objects, 'Issuer')).toBeUndefined();
    expect(find(objects, 'Certificate').spec.issuerRef).toEqual({ name: 'letsencrypt', kind: 'ClusterIssuer' });
    expect(find(objects, 'MutatingWebhookConfiguration').metadata.annotations).toEqual({ 'cert-manager.io/inject-ca-from': 'cdk8s-shm/cdk8s-shm-webhook' });
    expectValidAgainstSchema(objects, ['Certificate']);
  });

  test('provided TLS: the caBundle (PEM or base64) and the Secret', () => {
    const pem = createCertificateAuthority({ commonName: 'chart-ca', validityMs: 3600_000 }).certPem;
    const objects = template(['tls.mode=provided', 'tls.provided.secretName=my-tls'], ['--set-string', `tls.provided.caBundle=${pem}`]);
    expectValidAgainstSchema(objects);
    expect(Buffer.from(find(objects, 'MutatingWebhookConfiguration').webhooks[0].clientConfig.caBundle, 'base64').toString()).toBe(pem);
    const base64 = Buffer.from(pem).toString('base64');
    const fromBase64 = template(['tls.mode=provided', 'tls.provided.secretName=my-tls', `tls.provided.caBundle=${base64}`]);
    expect(find(fromBase64, 'MutatingWebhookConfiguration').webhooks[0].clientConfig.caBundle).toBe(base64);
    expect(byKey(fromBase64)).toEqual(byKey(synthWebhook({
      createNamespace: false,
      podSelection: PodSelection.OPT_OUT,
      tls: WebhookTls.provided({ secretName: 'my-tls', caBundle: base64 }),
    })));
    expect(() => template(['tls.mode=provided', 'tls.provided.secretName=my-tls', 'tls.provided.caBundle=not-a-certificate']))
      .toThrow('tls.provided.caBundle must be PEM (-----BEGIN CERTIFICATE-----) or the base64 of that PEM');
    expect(find(objects, 'Deployment').spec.template.spec.volumes).toContainEqual({ name: 'tls', secret: { secretName: 'my-tls' } });
    expect(containerOf(objects).args).toContain('--tls-mode=files');
    expect(find(objects, 'Role')).toBeUndefined();
  });

  test('replicas 3, own image, fixed size for pods without a limit: the server accepts the args', () => {
    const objects = template(V.ownImageFixedSize.sets);
    expectValidAgainstSchema(objects);
    expect(find(objects, 'Deployment').spec.replicas).toBe(3);
    expect(find(objects, 'ConfigMap')).toBeUndefined();
    const container = containerOf(objects);
    expect(container.image).toBe('registry.example.com/cdk8s-shm-webhook:1.0.0');
    expect(container.command).toBeUndefined();
    const options = parseWebhookArgs(container.args, {});
    expect(options.policy).toEqual({ podSelection: 'opt-out', podsWithoutLimit: 'fixed', fixedSize: '1Gi' });
  });

  test('sizeUnboundedShm: one flag, equal to the construct', () => {
    const objects = template(['policy.sizeUnboundedShm=true']);
    expect(containerOf(objects).args).toContain('--size-unbounded-shm=true');
    expect(parseWebhookArgs(containerOf(objects).args, {}).policy).toEqual({ podSelection: 'opt-out', sizeUnboundedShm: true });
    expect(byKey(objects)).toEqual(byKey(synthWebhook({ createNamespace: false, podSelection: PodSelection.OPT_OUT, sizeUnboundedShm: true })));
  });

  test('resizeVolumes and denyUnsafeShrink: one flag each, equal to the construct, which registers pods/resize either way', () => {
    const objects = template(['policy.resizeVolumes=true', 'policy.denyUnsafeShrink=true']);
    expect(containerOf(objects).args).toEqual(expect.arrayContaining(['--resize-volumes=true', '--deny-unsafe-shrink=true']));
    expect(parseWebhookArgs(containerOf(objects).args, {}).policy).toEqual({ podSelection: 'opt-out', resizeVolumes: true, denyUnsafeShrink: true });
    const props = { createNamespace: false, podSelection: PodSelection.OPT_OUT, resizeVolumes: true, denyUnsafeShrink: true };
    expect(byKey(objects)).toEqual(byKey(synthWebhook(props)));
    expect(find(template(), 'MutatingWebhookConfiguration').webhooks[0].rules.map((r: any) => r.resources)).toEqual([['pods'], ['pods/resize']]);
  });

  test('the agent: off by default; on, the agent and its CSI node plugin in their own privileged namespace', () => {
    expect(template().some(o => o.kind === 'DaemonSet' || o.kind === 'CSIDriver')).toBe(false);
    const objects = template(V.agent.sets);
    expectValidAgainstSchema(objects);
    const daemonSet = objects.find(o => o.kind === 'DaemonSet' && o.metadata.name === 'shm-agent');
    expect(daemonSet.metadata).toMatchObject({ name: 'shm-agent', namespace: 'shm-agent' });
    const spec = daemonSet.spec.template.spec;
    expect(spec.containers[0]).toMatchObject({ image: 'registry.example.com/agent:1.0.0', command: ['/agent', '--serve'], resources: { limits: { memory: '256Mi' } } });
    expect(spec.initContainers).toBeUndefined();
    expect(spec.volumes).toEqual([{ name: 'shm-agent-shm', csi: { driver: 'shm-agent.cdk8s-shm.io', volumeAttributes: { domain: 'shm-agent' } } }]);
    expect(spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', 'cdk8s-shm.io/shm-agent': 'true' });
    expect(spec.hostIPC).toBeUndefined();
    expect(objects.find(o => o.kind === 'Namespace' && o.metadata.name === 'shm-agent').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
    expect(find(objects, 'CSIDriver').spec).toMatchObject({ attachRequired: false, podInfoOnMount: true, volumeLifecycleModes: ['Ephemeral'] });
    const plugin = objects.find(o => o.kind === 'DaemonSet' && o.metadata.name === 'shm-agent-csi');
    const options = parseCsiPluginArgs(plugin.spec.template.spec.containers[0].args);
    expect(options.domainSizeBytes).toBe(512n * 2n ** 20n);
    expect(options.tenants).toEqual([{ namespace: 'shm-agent', serviceAccount: 'default' }]);
    expect(objects.find(o => o.kind === 'ConfigMap' && o.metadata.name === 'shm-agent-csi').data['csi-plugin.js']).toBe(pluginBundle);
    expect(plugin.spec.template.metadata.annotations['cdk8s-shm.io/plugin-checksum']).toBe(crypto.createHash('sha256').update(pluginBundle).digest('hex'));

    // Equal to the construct with the same settings.
    const app = new App();
    const chart = new Chart(app, 'chart');
    new SharedMemoryAgent(chart, 'agent', {
      name: 'shm-agent',
      namespace: 'shm-agent',
      domain: SharedMemoryDomain.tmpfs({ size: Size.mebibytes(512) }),
      containers: [{
        name: 'agent',
        image: 'registry.example.com/agent:1.0.0',
        command: ['/agent', '--serve'],
        args: [],
        resources: {
          cpu: { request: podspec.Cpu.millis(100), limit: podspec.Cpu.millis(500) },
          memory: { request: Size.mebibytes(128), limit: Size.mebibytes(256) },
        },
      }],
    });
    const agentObjects = objects.filter(o => o.metadata.namespace === 'shm-agent' || o.metadata.name.startsWith('shm-agent'));
    expect(agentObjects.map(o => o.kind).sort()).toEqual(['CSIDriver', 'ConfigMap', 'DaemonSet', 'DaemonSet', 'Namespace', 'ResourceQuota']);
    const construct = chart.toJson();
    for (const o of construct) if (o.spec?.template?.spec?.containers?.[0]?.args?.length === 0) delete o.spec.template.spec.containers[0].args;
    for (const o of agentObjects) if (o.spec?.template?.spec?.containers?.[0]?.args === null) delete o.spec.template.spec.containers[0].args;
    expect(byKey(agentObjects)).toEqual(byKey(construct));
  });

  test('the agent with the hostPath delivery: the mounter sizes the tmpfs, no CSI objects', () => {
    const objects = template(V.agentHostPath.sets);
    expectValidAgainstSchema(objects);
    expect(objects.filter(o => o.kind === 'DaemonSet').map(o => o.metadata.name)).toEqual(['shm-agent']);
    expect(find(objects, 'CSIDriver')).toBeUndefined();
    expect(find(objects, 'ConfigMap')?.data?.['csi-plugin.js']).toBeUndefined();
    const spec = find(objects, 'DaemonSet').spec.template.spec;
    expect(spec.initContainers[0].command[2]).toContain(`size=${512 * 2 ** 20}`);
    expect(spec.volumes[0].hostPath).toEqual({ path: '/run/cdk8s-shm/shm-agent', type: 'DirectoryOrCreate' });

    // Equal to the construct with the same settings.
    const app = new App();
    const chart = new Chart(app, 'chart');
    new SharedMemoryAgent(chart, 'agent', {
      name: 'shm-agent',
      namespace: 'shm-agent',
      delivery: AgentDelivery.hostPath(),
      domain: SharedMemoryDomain.tmpfs({ size: Size.mebibytes(512) }),
      containers: [{
        name: 'agent',
        image: 'a:1',
        command: [],
        args: [],
        resources: {
          cpu: { request: podspec.Cpu.millis(100), limit: podspec.Cpu.millis(500) },
          memory: { request: Size.mebibytes(128), limit: Size.mebibytes(256) },
        },
      }],
    });
    const strip = (o: any) => {
      const c = o.spec?.template?.spec?.containers?.[0];
      for (const field of ['command', 'args']) if (c && (c[field] === null || c[field]?.length === 0)) delete c[field];
      return o;
    };
    const agentObjects = objects.filter(o => o.metadata.namespace === 'shm-agent' || o.metadata.name === 'shm-agent').map(strip);
    expect(byKey(agentObjects)).toEqual(byKey(chart.toJson().map(strip)));
  });

  test('tenants, the node image and the kubelet directory from values reach the plugin', () => {
    const objects = template(V.agentTenants.sets);
    expectValidAgainstSchema(objects);
    const pod = objects.find(o => o.kind === 'DaemonSet' && o.metadata.name === 'shm-agent-csi').spec.template.spec;
    const options = parseCsiPluginArgs(pod.containers[0].args);
    expect(options.tenants).toEqual([{ namespace: 'shm-agent', serviceAccount: 'default' }, { namespace: 'shop' }, { namespace: 'ml', serviceAccount: 'trainer' }]);
    expect(options.targetRoot).toBe('/var/lib/k0s/kubelet/pods');
    expect(options.registrationSocket).toBe('/var/lib/k0s/kubelet/plugins_registry/shm-agent.cdk8s-shm.io-reg.sock');
    expect(options.kubeletEndpoint).toBe('/var/lib/k0s/kubelet/plugins/shm-agent.cdk8s-shm.io/csi.sock');
    expect(pod.containers.map((c: any) => c.image)).toEqual(['n:2']);
    expect(pod.volumes.find((v: any) => v.name === 'registration-dir').hostPath.path).toBe('/var/lib/k0s/kubelet/plugins_registry');
  });

  test('the agent with System V on every node', () => {
    const objects = template(V.agentSystemV.sets);
    const spec = objects.find(o => o.kind === 'DaemonSet' && o.metadata.name === 'shm-agent').spec.template.spec;
    expect(spec.hostIPC).toBe(true);
    const plugin = objects.find(o => o.kind === 'DaemonSet' && o.metadata.name === 'shm-agent-csi').spec.template.spec;
    expect(plugin.hostIPC).toBeUndefined();
    expect(plugin.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expectValidAgainstSchema(objects);
  });

  test.each([
    [['policy.ratio=2'], 'ratio'],
    [['tls.mode=vault'], 'mode'],
    [['policy.podsWithoutLimit=fixed'], "policy.fixedSize is required when policy.podsWithoutLimit is 'fixed'"],
    [['tls.mode=provided'], 'tls.provided.'],
    [['agent.enabled=true'], 'image'],
    [['agent.enabled=true', 'agent.image=a:1', 'agent.tenants={Shop}'], 'tenants'],
    [['agent.enabled=true', 'agent.image=a:1', 'agent.delivery=fuse'], 'delivery'],
    [['webhook.replicas=0'], 'replicas'],
    [['policy.minimum=1K'], 'minimum'],
  ])('%j is refused: %s', (sets, message) => {
    expect(() => template(sets)).toThrow(message);
  });
});

/** The webhook the constructs synthesize for the chart's release (namespace cdk8s-shm, name cdk8s-shm-webhook). */
function synthWebhook(props: Record<string, unknown>): any[] {
  const app = new App();
  const chart = new Chart(app, 'chart');
  new SharedMemoryWebhook(chart, 'webhook', { namespace: 'cdk8s-shm', name: 'cdk8s-shm-webhook', ...props } as any);
  return chart.toJson();
}
