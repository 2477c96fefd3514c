import * as crypto from 'crypto';
import { Duration, Size } from 'cdk8s';
import {
  NamespaceSelection, PodSelection, PodsWithoutLimit, WebhookFailurePolicy, WebhookNetworkPolicy, WebhookTls,
} from '../../../src';
import { parseWebhookArgs } from '../../../src/contracts/webhook-flags';
import { createCertificateAuthority } from '../../../src/programs/webhook/x509';
import { expectValidAgainstSchema } from '../../support/schema';
import { PLACEMENT_PROPS, synthWebhook } from '../../support/webhook-props';

const CA_PEM = createCertificateAuthority({ commonName: 'provided-ca', validityMs: 3600_000 }).certPem;
const DIGEST = `sha256:${'a1'.repeat(32)}`;

const synth = synthWebhook;

function find(objects: any[], kind: string): any {
  const found = objects.filter(o => o.kind === kind);
  expect(found).toHaveLength(1);
  return found[0];
}

function argsOf(objects: any[]): string[] {
  return find(objects, 'Deployment').spec.template.spec.containers[0].args;
}

describe('SharedMemoryWebhook (defaults: self-managed TLS, bundled server)', () => {
  const objects = synth();

  test('creates exactly the objects a webhook needs, all valid against the schema', () => {
    expect(objects.map(o => o.kind).sort()).toEqual([
      'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'MutatingWebhookConfiguration',
      'Namespace', 'PodDisruptionBudget', 'ResourceQuota', 'Role', 'RoleBinding', 'Secret', 'Service', 'ServiceAccount',
      'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'ValidatingAdmissionPolicyBinding',
    ]);
    expectValidAgainstSchema(objects);
  });

  test('the default Node.js image is a current LTS, by tag', () => {
    const container = find(objects, 'Deployment').spec.template.spec.containers[0];
    expect(container.image).toBe('docker.io/library/node:24.19.0-alpine3.24');
  });

  test('the MutatingWebhookConfiguration follows the admission webhook good practices', () => {
    const webhook = find(objects, 'MutatingWebhookConfiguration').webhooks[0];
    expect(webhook).toEqual(expect.objectContaining({
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      reinvocationPolicy: 'IfNeeded',
      failurePolicy: 'Ignore',
      timeoutSeconds: 5,
      rules: [
        { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' },
        // A resize, whose /dev/shm the server follows, warns about or refuses.
        { operations: ['UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods/resize'], scope: 'Namespaced' },
      ],
    }));
    expect(webhook.clientConfig.service).toEqual({ name: 'cdk8s-shm-webhook', namespace: 'cdk8s-shm', path: '/mutate', port: 443 });
    expect(webhook.clientConfig.caBundle).toBeUndefined(); // the server writes it at start
    expect(webhook.namespaceSelector.matchExpressions).toEqual([
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'cdk8s-shm'] },
    ]);
  });

  test('resizeVolumes, denyUnsafeShrink and hardenMount reach the server as its flags, only when true', () => {
    expect(argsOf(objects).filter(a => /resize|shrink|harden/.test(a))).toEqual([]);
    const args = argsOf(synth({ resizeVolumes: true, denyUnsafeShrink: true, hardenMount: true }));
    expect(args).toEqual(expect.arrayContaining(['--resize-volumes=true', '--deny-unsafe-shrink=true', '--harden-mount=true']));
    expect(parseWebhookArgs(args, {}).policy).toMatchObject({ resizeVolumes: true, denyUnsafeShrink: true, hardenMount: true });
  });

  test('the server runs from the ConfigMap bundle, and a changed bundle rolls the pods', () => {
    const configMap = find(objects, 'ConfigMap');
    const bundle: string = configMap.data['webhook.js'];
    expect(Buffer.byteLength(bundle)).toBeGreaterThan(1000);
    expect(Buffer.byteLength(bundle)).toBeLessThan(1024 * 1024); // a ConfigMap holds at most 1 MiB
    const template = find(objects, 'Deployment').spec.template;
    expect(template.metadata.annotations['cdk8s-shm.io/server-checksum']).toBe(crypto.createHash('sha256').update(bundle).digest('hex'));
    const container = template.spec.containers[0];
    expect(container.command).toEqual(['node', '/opt/cdk8s-shm/webhook.js']);
    expect(container.image).toMatch(/^docker\.io\/library\/node:(22|24)\.\d+\.\d+-alpine/);
    expect(template.spec.volumes).toContainEqual({ name: 'server', configMap: { name: configMap.metadata.name } });
  });

  test('the server flags are the self-managed TLS settings, and they parse back', () => {
    const options = parseWebhookArgs(argsOf(objects), {});
    expect(options.tlsMode).toBe('self-managed');
    expect(options.tlsSecret).toEqual({ namespace: 'cdk8s-shm', name: 'cdk8s-shm-webhook-tls' });
    expect(options.webhookConfiguration).toBe('cdk8s-shm-webhook');
    expect(options.service).toEqual({ name: 'cdk8s-shm-webhook', namespace: 'cdk8s-shm' });
    expect(find(objects, 'Secret').metadata.name).toBe('cdk8s-shm-webhook-tls');
  });

  test('RBAC is limited to the one Secret and the one webhook configuration, by name, and reading LimitRanges and ResourceQuotas', () => {
    expect(find(objects, 'Role').rules).toEqual([{ apiGroups: [''], resources: ['secrets'], resourceNames: ['cdk8s-shm-webhook-tls'], verbs: ['get', 'update'] }]);
    expect(find(objects, 'ClusterRole').rules).toEqual([
      { apiGroups: [''], resources: ['limitranges', 'resourcequotas'], verbs: ['get', 'list'] },
      {
        apiGroups: ['admissionregistration.k8s.io'],
        resources: ['mutatingwebhookconfigurations'],
        resourceNames: ['cdk8s-shm-webhook'],
        verbs: ['get', 'patch'],
      },
    ]);
    expect(find(objects, 'ServiceAccount').automountServiceAccountToken).toBe(true);
  });

  test('the Deployment is highly available and passes the restricted Pod Security Standard', () => {
    const deployment = find(objects, 'Deployment');
    const pod = deployment.spec.template.spec;
    expect(deployment.spec.replicas).toBe(2);
    expect(pod.priorityClassName).toBe('system-cluster-critical');
    expect(find(objects, 'PodDisruptionBudget').spec).toEqual({
      minAvailable: 1,
      selector: { matchLabels: deployment.spec.selector.matchLabels },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    });
    expect(pod.securityContext).toEqual(expect.objectContaining({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }));
    const container = pod.containers[0];
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] },
    });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'https', scheme: 'HTTPS' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'https', scheme: 'HTTPS' });
    expect(container.resources.limits.memory).toBeDefined();
    expect(deployment.spec.template.metadata.annotations['cdk8s-shm.io/inject']).toBe('false');
    expect(find(objects, 'Namespace').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  test('replicas spread over nodes (a hard rule) and zones (a preference), per revision', () => {
    const deployment = find(objects, 'Deployment');
    const selector = deployment.spec.selector.matchLabels;
    expect(deployment.spec.template.spec.topologySpreadConstraints).toEqual([
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'DoNotSchedule',
        labelSelector: { matchLabels: selector },
        matchLabelKeys: ['pod-template-hash'],
        nodeTaintsPolicy: 'Honor',
      },
      {
        maxSkew: 1,
        topologyKey: 'topology.kubernetes.io/zone',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: selector },
        matchLabelKeys: ['pod-template-hash'],
      },
    ]);
    expect(deployment.spec.template.spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
  });

  test('a startup probe outlasts the self-managed TLS start (120 s of retries), then liveness takes over', () => {
    const container = find(objects, 'Deployment').spec.template.spec.containers[0];
    expect(container.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'https', scheme: 'HTTPS' });
    expect(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold).toBeGreaterThanOrEqual(150);
    // Without it, liveness would restart a starting pod after about 30 s.
    expect(container.livenessProbe.periodSeconds * container.livenessProbe.failureThreshold).toBeLessThan(120);
  });

  test('ports: HTTPS 8443 for admission, plain HTTP 9090 for metrics alone', () => {
    const container = find(objects, 'Deployment').spec.template.spec.containers[0];
    expect(container.ports).toEqual([
      { name: 'https', containerPort: 8443, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    ]);
    expect(parseWebhookArgs(container.args, {})).toMatchObject({ port: 8443, metricsPort: 9090 });
  });

  test('a ResourceQuota lets the namespace hold system-cluster-critical pods (GKE admits them only with one)', () => {
    expect(find(objects, 'ResourceQuota')).toEqual({
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: expect.objectContaining({ name: 'cdk8s-shm-webhook-critical-pods', namespace: 'cdk8s-shm' }),
      spec: {
        hard: { pods: '100' },
        scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['system-cluster-critical'] }] },
      },
    });
  });
});

describe('SharedMemoryWebhook never harms the cluster', () => {
  test.each(['kube-system', 'kube-public', 'kube-node-lease', 'default'])('creating namespace %s is refused, with the fix', namespace => {
    expect(() => synth({ namespace })).toThrow(`'namespace' (${namespace}) of SharedMemoryWebhook 'webhook' is a namespace the cluster owns, `
      + "and 'createNamespace' (create_namespace in Python) would relabel it: choose a namespace of its own, or set 'createNamespace' (create_namespace in Python) to false");
  });

  test('deploying into kube-system unchanged is allowed: no Namespace object, and no quota there', () => {
    const objects = synth({ namespace: 'kube-system', createNamespace: false });
    expect(objects.some(o => o.kind === 'Namespace' || o.kind === 'ResourceQuota')).toBe(false);
    expect(find(objects, 'Deployment').metadata.namespace).toBe('kube-system');
  });

  test('no quota for a priority class of the user\'s own', () => {
    const objects = synth({ priorityClassName: 'platform-high' });
    expect(objects.some(o => o.kind === 'ResourceQuota')).toBe(false);
    expect(find(objects, 'Deployment').spec.template.spec.priorityClassName).toBe('platform-high');
  });

  test('system-node-critical gets its quota too', () => {
    expect(find(synth({ priorityClassName: 'system-node-critical' }), 'ResourceQuota').spec.scopeSelector.matchExpressions[0].values).toEqual(['system-node-critical']);
  });
});

describe('SharedMemoryWebhook pod placement and extra metadata', () => {
  const objects = synth(PLACEMENT_PROPS);
  const deployment = find(objects, 'Deployment');
  const pod = deployment.spec.template.spec;

  test('node selector, tolerations, affinity and resources reach the pod as given', () => {
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', 'node-role.example.com/platform': 'true' });
    expect(pod.tolerations).toEqual([{ key: 'dedicated', operator: 'Equal', value: 'platform', effect: 'NoSchedule' }]);
    expect(pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values).toEqual(['amd64']);
    expect(pod.containers[0].resources).toEqual({ requests: { cpu: '100m', memory: '96Mi' }, limits: { cpu: '500m', memory: '384Mi' } });
    expectValidAgainstSchema(objects);
  });

  test('the serving and metrics ports are the server\'s flags and the container\'s ports; the Service keeps 443', () => {
    expect(pod.containers[0].ports.map((p: any) => p.containerPort)).toEqual([10250, 9443]);
    expect(parseWebhookArgs(pod.containers[0].args, {})).toMatchObject({ port: 10250, metricsPort: 9443 });
    expect(find(objects, 'Service').spec.ports).toEqual([{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);
  });

  test('extra labels on every object and the pods, never in selectors; extra annotations on the pods', () => {
    for (const o of objects) expect({ kind: o.kind, labels: o.metadata.labels }).toEqual({ kind: o.kind, labels: expect.objectContaining({ 'env': 'prod', 'team.example.com/owner': 'platform' }) });
    expect(deployment.spec.template.metadata.labels).toMatchObject({ env: 'prod' });
    expect(deployment.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'cdk8s-shm-webhook', 'app.kubernetes.io/instance': 'cdk8s-shm-webhook' });
    expect(find(objects, 'Service').spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(find(objects, 'PodDisruptionBudget').spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    expect(deployment.spec.template.metadata.annotations).toMatchObject({ 'sidecar.istio.io/inject': 'false', 'cdk8s-shm.io/inject': 'false' });
  });

  test.each([
    ['a label the selectors use', { labels: { 'app.kubernetes.io/name': 'x' } }, "'labels' of SharedMemoryWebhook 'webhook' may not set app.kubernetes.io/name: the webhook's selectors use it"],
    ['an invalid label key', { labels: { 'bad key': 'x' } }, "'labels' key 'bad key' of SharedMemoryWebhook 'webhook' is not a valid label key"],
    ['an invalid label value', { labels: { env: 'not valid!' } }, "'labels' value 'not valid!' of SharedMemoryWebhook 'webhook' is not a valid label value"],
    ['our own annotation', { podAnnotations: { 'cdk8s-shm.io/inject': 'true' } }, "'podAnnotations' (pod_annotations in Python) of SharedMemoryWebhook 'webhook' may not set cdk8s-shm.io/inject: the webhook sets it"],
    ['a port out of range', { port: 70000 }, "'port' (70000) of SharedMemoryWebhook 'webhook' must be a port from 1 to 65535"],
    ['the metrics port on the serving port', { port: 9090 }, "'port' and 'metricsPort' (metrics_port in Python) of SharedMemoryWebhook 'webhook' are both 9090"],
    ['a node selector label that is none', { nodeSelector: { 'pool name': 'x' } }, "'nodeSelector' (node_selector in Python) key 'pool name' of SharedMemoryWebhook 'webhook' is not a valid label key"],
    ['a toleration of every key with Equal', { tolerations: [{ value: 'x' }] },
      "'tolerations[0]' ({\"value\":\"x\"}) of SharedMemoryWebhook 'webhook' has no key: a toleration of every taint needs operator TolerationOperator.EXISTS"],
    ['an affinity weight out of range', { affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 101, podAffinityTerm: { topologyKey: 'h' } }] } } },
      "'affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight' (affinity.pod_anti_affinity.preferred_during_scheduling_ignored_during_execution[0].weight in Python) (101) of SharedMemoryWebhook 'webhook' must be a whole number from 1 to 100"],
    ['a memory request above its limit', { resources: { memory: { request: Size.mebibytes(512), limit: Size.mebibytes(256) } } },
      "'resources.memory.request' (512Mi) of SharedMemoryWebhook 'webhook' exceeds its limit (256Mi)"],
  ])('refuses %s', (_label, props, message) => {
    expect(() => synth(props as any)).toThrow(message);
  });
});

describe('SharedMemoryWebhook images', () => {
  test.each([
    ['image', `registry.example.com/cdk8s-shm-webhook:1.0.0@${DIGEST}`],
    ['image', `registry.example.com:5000/team/webhook@${DIGEST}`],
    ['nodeImage', `docker.io/library/node:24.19.0-alpine3.24@${DIGEST}`],
    ['nodeImage', 'node:24'],
  ])('%s %s is accepted and used as given', (prop, image) => {
    const container = find(synth({ [prop]: image }), 'Deployment').spec.template.spec.containers[0];
    expect(container.image).toBe(image);
  });

  test.each([
    ['image', 'node@sha256:abc', 'a digest is sha256: and 64 lower-case hex digits'],
    ['image', `node@sha256:${'A1'.repeat(32)}`, 'a digest is sha256: and 64 lower-case hex digits'],
    ['nodeImage', 'Node:22', 'is not an image reference'],
    ['nodeImage', 'node:22 alpine', 'is not an image reference'],
    ['image', '', 'is not an image reference'],
  ])('%s %j is refused', (prop, image, message) => {
    const label = prop === 'nodeImage' ? "'nodeImage' (node_image in Python)" : `'${prop}'`;
    expect(() => synth({ [prop]: image })).toThrow(`${label} (${JSON.stringify(image)}) of SharedMemoryWebhook 'webhook' ${message.startsWith('a digest') ? 'is not an image reference: ' : ''}${message}`);
  });
});

describe('SharedMemoryWebhook NetworkPolicy', () => {
  test('none by default', () => {
    expect(synth().some(o => o.kind === 'NetworkPolicy')).toBe(false);
  });

  test('restrict(): the serving port from anywhere, no metrics, egress to the API server only (self-managed TLS)', () => {
    const objects = synth({ networkPolicy: WebhookNetworkPolicy.restrict() });
    const policy = find(objects, 'NetworkPolicy');
    expect(policy.spec).toEqual({
      podSelector: { matchLabels: find(objects, 'Deployment').spec.selector.matchLabels },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ ports: [{ port: 8443, protocol: 'TCP' }] }],
      egress: [{ ports: [{ port: 443, protocol: 'TCP' }, { port: 6443, protocol: 'TCP' }] }],
    });
    expectValidAgainstSchema(objects);
  });

  test('restrict() with API server CIDRs and scraping namespaces; egress to the API server alone', () => {
    const objects = synth({
      tls: WebhookTls.certManager(),
      port: 10250,
      networkPolicy: WebhookNetworkPolicy.restrict({ apiServerCidrs: ['10.0.0.0/24', 'fd00::/64'], metricsNamespaces: ['monitoring'] }),
    });
    expect(find(objects, 'NetworkPolicy').spec).toMatchObject({
      ingress: [
        { ports: [{ port: 10250, protocol: 'TCP' }], from: [{ ipBlock: { cidr: '10.0.0.0/24' } }, { ipBlock: { cidr: 'fd00::/64' } }] },
        {
          ports: [{ port: 9090, protocol: 'TCP' }],
          from: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['monitoring'] }] } }],
        },
      ],
      egress: [{ ports: [{ port: 443, protocol: 'TCP' }, { port: 6443, protocol: 'TCP' }], to: [{ ipBlock: { cidr: '10.0.0.0/24' } }, { ipBlock: { cidr: 'fd00::/64' } }] }],
    });
    const selfManaged = find(synth({ networkPolicy: WebhookNetworkPolicy.restrict({ apiServerCidrs: ['10.0.0.0/24'], apiServerPorts: [6443] }) }), 'NetworkPolicy');
    expect(selfManaged.spec.egress).toEqual([{ ports: [{ port: 6443, protocol: 'TCP' }], to: [{ ipBlock: { cidr: '10.0.0.0/24' } }] }]);
  });

  test.each([
    [{ apiServerCidrs: ['10.0.0.0'] }, "'apiServerCidrs' (api_server_cidrs in Python) of SharedMemoryWebhook 'webhook' holds \"10.0.0.0\", which is not a CIDR"],
    [{ apiServerPorts: [0] }, "'apiServerPorts' (api_server_ports in Python) of SharedMemoryWebhook 'webhook' holds 0"],
    [{ metricsNamespaces: ['Bad'] }, "'metricsNamespaces' (metrics_namespaces in Python) of SharedMemoryWebhook 'webhook' holds \"Bad\""],
  ])('refuses %j', (options, message) => {
    expect(() => synth({ networkPolicy: WebhookNetworkPolicy.restrict(options) })).toThrow(message);
  });
});

describe('SharedMemoryWebhook options', () => {
  test('policy props become server flags through the shared flag table', () => {
    const objects = synth({
      ratio: 0.25,
      minimum: Size.mebibytes(128),
      maximum: Size.gibibytes(8),
      podSelection: PodSelection.OPT_IN,
      podsWithoutLimit: PodsWithoutLimit.fixedSize(Size.gibibytes(1)),
    });
    const options = parseWebhookArgs(argsOf(objects), {});
    expect(options.policy).toEqual({ ratio: '0.25', minimum: '128Mi', maximum: '8Gi', podSelection: 'opt-in', podsWithoutLimit: 'fixed', fixedSize: '1Gi' });
  });

  test('cert-manager: a CA of its own issues the serving certificate, so serving rotation leaves caBundle alone', () => {
    const objects = synth({ tls: WebhookTls.certManager() });
    expectValidAgainstSchema(objects, ['Issuer', 'Certificate']);
    const byName = (kind: string, name: string) => objects.find(o => o.kind === kind && o.metadata.name === name);
    expect(byName('Issuer', 'cdk8s-shm-webhook-selfsigned').spec).toEqual({ selfSigned: {} });
    const caCertificate = byName('Certificate', 'cdk8s-shm-webhook-ca');
    expect(caCertificate.spec).toMatchObject({
      isCA: true,
      secretName: 'cdk8s-shm-webhook-ca',
      issuerRef: { name: 'cdk8s-shm-webhook-selfsigned', kind: 'Issuer' },
      // The CA keeps its key when it renews: what it signed before stays trusted.
      privateKey: { rotationPolicy: 'Never' },
    });
    expect(byName('Issuer', 'cdk8s-shm-webhook-ca').spec).toEqual({ ca: { secretName: 'cdk8s-shm-webhook-ca' } });
    const certificate = byName('Certificate', 'cdk8s-shm-webhook');
    expect(certificate.spec.dnsNames).toEqual(['cdk8s-shm-webhook.cdk8s-shm.svc', 'cdk8s-shm-webhook.cdk8s-shm.svc.cluster.local']);
    expect(certificate.spec.issuerRef).toEqual({ name: 'cdk8s-shm-webhook-ca', kind: 'Issuer' });
    expect(certificate.spec.isCA).toBeUndefined();
    // The CA outlives many serving certificates.
    expect(parseInt(caCertificate.spec.duration, 10)).toBeGreaterThan(10 * parseInt(certificate.spec.duration, 10));
    expect(find(objects, 'MutatingWebhookConfiguration').metadata.annotations).toEqual({ 'cert-manager.io/inject-ca-from': 'cdk8s-shm/cdk8s-shm-webhook' });
    const pod = find(objects, 'Deployment').spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: 'tls', secret: { secretName: certificate.spec.secretName } });
    expect(parseWebhookArgs(argsOf(objects), {}).tlsMode).toBe('files');
    // No Secret to write, no caBundle to patch: the server only reads what limitFollows needs.
    expect(objects.some(o => o.kind === 'Role')).toBe(false);
    expect(find(objects, 'ClusterRole').rules).toEqual([{ apiGroups: [''], resources: ['limitranges', 'resourcequotas'], verbs: ['get', 'list'] }]);
    expect(find(objects, 'ServiceAccount').automountServiceAccountToken).toBe(true);
  });

  test('cert-manager: its namespace is never sent to the webhook', () => {
    const selector = (objects: any[]) => find(objects, 'MutatingWebhookConfiguration').webhooks[0].namespaceSelector.matchExpressions[0].values;
    expect(selector(synth({ tls: WebhookTls.certManager() }))).toEqual(['kube-system', 'cdk8s-shm', 'cert-manager']);
    expect(selector(synth({ tls: WebhookTls.certManager({ namespace: 'certs' }) }))).toEqual(['kube-system', 'cdk8s-shm', 'certs']);
    expect(selector(synth())).toEqual(['kube-system', 'cdk8s-shm']);
  });

  test('cert-manager with an existing ClusterIssuer creates no Issuer', () => {
    const objects = synth({ tls: WebhookTls.certManager({ issuerName: 'corp-ca', issuerKind: 'ClusterIssuer' }) });
    expect(objects.some(o => o.kind === 'Issuer')).toBe(false);
    expect(objects.filter(o => o.kind === 'Certificate')).toHaveLength(1);
    expect(find(objects, 'Certificate').spec.issuerRef).toEqual({ name: 'corp-ca', kind: 'ClusterIssuer' });
  });

  test('provided TLS: the caBundle is written, the secret mounted', () => {
    const objects = synth({ tls: WebhookTls.provided({ secretName: 'my-tls', caBundle: CA_PEM }) });
    const webhook = find(objects, 'MutatingWebhookConfiguration').webhooks[0];
    expect(Buffer.from(webhook.clientConfig.caBundle, 'base64').toString()).toBe(CA_PEM);
    expect(find(objects, 'Deployment').spec.template.spec.volumes).toContainEqual({ name: 'tls', secret: { secretName: 'my-tls' } });
  });

  test('provided TLS: the caBundle may be given as the base64 a webhook configuration holds, and ends up the same', () => {
    const base64 = Buffer.from(CA_PEM).toString('base64');
    const caBundle = (tls: WebhookTls) => find(synth({ tls }), 'MutatingWebhookConfiguration').webhooks[0].clientConfig.caBundle;
    expect(caBundle(WebhookTls.provided({ secretName: 'my-tls', caBundle: base64 }))).toBe(base64);
    // Line-wrapped base64, as `base64` prints it, too.
    expect(caBundle(WebhookTls.provided({ secretName: 'my-tls', caBundle: base64.replace(/.{76}/g, '$&\n') }))).toBe(base64);
  });

  test.each([
    ['no options at all', undefined, "WebhookTls.provided() needs 'secretName' (secret_name in Python)"],
    ['no secretName', { caBundle: CA_PEM }, "WebhookTls.provided() needs 'secretName' (secret_name in Python): the kubernetes.io/tls Secret in the webhook's namespace"],
    ['no caBundle', { secretName: 's' }, "WebhookTls.provided() needs 'caBundle' (ca_bundle in Python): the PEM, or base64 PEM, of the CA that signed the certificate"],
    ['an empty caBundle', { secretName: 's', caBundle: '' }, "WebhookTls.provided() needs 'caBundle' (ca_bundle in Python)"],
    ['a caBundle that is neither PEM nor base64 PEM', { secretName: 's', caBundle: 'abc' }, "'caBundle' (ca_bundle in Python) of WebhookTls.provided() must be PEM (-----BEGIN CERTIFICATE-----) or the base64 of that PEM"],
    ['a PEM that does not parse', { secretName: 's', caBundle: '-----BEGIN CERTIFICATE-----\nMIIBdummy\n-----END CERTIFICATE-----\n' }, "'caBundle' (ca_bundle in Python) of WebhookTls.provided(): certificate 1 of 1 does not parse"],
  ])('a JavaScript caller giving %s is told what is missing', (_label, options, message) => {
    expect(() => WebhookTls.provided(options as any)).toThrow(message);
  });

  test('own image, own namespace, opt-in namespaces, Fail policy, timeout, replicas', () => {
    const objects = synth({
      image: 'registry.example.com/cdk8s-shm-webhook:1.0.0',
      namespace: 'platform',
      createNamespace: false,
      namespaceSelection: NamespaceSelection.OPT_IN,
      excludedNamespaces: ['monitoring'],
      failurePolicy: WebhookFailurePolicy.FAIL,
      timeout: Duration.seconds(3),
      replicas: 3,
    });
    expect(objects.some(o => o.kind === 'Namespace' || o.kind === 'ConfigMap')).toBe(false);
    const container = find(objects, 'Deployment').spec.template.spec.containers[0];
    expect(container.image).toBe('registry.example.com/cdk8s-shm-webhook:1.0.0');
    expect(container.command).toBeUndefined();
    const webhook = find(objects, 'MutatingWebhookConfiguration').webhooks[0];
    expect(webhook.failurePolicy).toBe('Fail');
    expect(webhook.timeoutSeconds).toBe(3);
    expect(webhook.namespaceSelector.matchExpressions).toEqual([
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'platform', 'monitoring'] },
      { key: 'cdk8s-shm.io/inject', operator: 'In', values: ['enabled'] },
    ]);
    expect(find(objects, 'Deployment').spec.replicas).toBe(3);
    expectValidAgainstSchema(objects);
  });

  test.each([
    ['ratio above 1', { ratio: 2 }, "'ratio' (2) must be greater than 0 and at most 1 in SharedMemoryWebhook 'webhook'"],
    ['timeout too long', { timeout: Duration.seconds(45) }, "'timeout' (45s) of SharedMemoryWebhook 'webhook' must be a whole number of seconds from 1 to 30"],
    ['no replicas', { replicas: 0 }, "'replicas' (0) of SharedMemoryWebhook 'webhook' must be a whole number of at least 1"],
    ['minimum above maximum', { minimum: Size.gibibytes(2), maximum: Size.gibibytes(1) }, "'minimum' (2Gi) must not exceed 'maximum' (1Gi)"],
  ])('refuses %s', (_label, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });

  test.each([
    ['a name that is no DNS label', { name: 'My_Webhook' }, "'name' (\"My_Webhook\") of SharedMemoryWebhook 'webhook' must be a DNS-1123 label of at most 52 characters"],
    ['a name too long for its suffixes', { name: 'w'.repeat(53) }, "'name' (\"" + 'w'.repeat(53) + "\") of SharedMemoryWebhook 'webhook' must be a DNS-1123 label"],
    ['a namespace that is no DNS label', { namespace: 'Platform' }, "'namespace' (\"Platform\") of SharedMemoryWebhook 'webhook' must be a DNS-1123 label"],
    ['a fixed size of zero', { podsWithoutLimit: PodsWithoutLimit.fixedSize(Size.mebibytes(0)) }, "'podsWithoutLimit' (pods_without_limit in Python), PodsWithoutLimit.fixedSize() (fixed_size in Python)"],
  ])('quotes the construct prop, never a server flag: %s', (_label, props, message) => {
    let error: Error | undefined;
    try {
      synth(props);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toContain(message);
    expect(error?.message).not.toMatch(/--[a-z]/);
  });

  test('PodsWithoutLimit.fixedSize() without a size says so', () => {
    expect(() => PodsWithoutLimit.fixedSize(undefined as any)).toThrow('PodsWithoutLimit.fixedSize() needs a size, e.g. PodsWithoutLimit.fixedSize(Size.gibibytes(1))');
  });

  test('admissionPolicies: false leaves the policies out (clusters before 1.30)', () => {
    expect(synth({ admissionPolicies: false }).some(o => o.kind.startsWith('ValidatingAdmissionPolicy'))).toBe(false);
  });
});
