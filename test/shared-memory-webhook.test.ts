import * as crypto from 'crypto';
import { Duration, Size, Testing } from 'cdk8s';
import {
  NamespaceSelection, PodSelection, PodsWithoutLimit, SharedMemoryWebhook, WebhookFailurePolicy, WebhookTls,
} from '../src';
import { expectValidAgainstSchema } from './support/schema';
import { parseWebhookArgs } from '../src/webhook/options';

const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBdummy\n-----END CERTIFICATE-----\n';

function synth(props: ConstructorParameters<typeof SharedMemoryWebhook>[2] = {}): any[] {
  const chart = Testing.chart();
  new SharedMemoryWebhook(chart, 'webhook', props);
  return Testing.synth(chart);
}

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
      'Namespace', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Secret', 'Service', 'ServiceAccount',
    ]);
    expectValidAgainstSchema(objects);
  });

  test('the MutatingWebhookConfiguration follows the admission webhook good practices', () => {
    const webhook = find(objects, 'MutatingWebhookConfiguration').webhooks[0];
    expect(webhook).toEqual(expect.objectContaining({
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      reinvocationPolicy: 'IfNeeded',
      failurePolicy: 'Ignore',
      timeoutSeconds: 5,
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
    }));
    expect(webhook.clientConfig.service).toEqual({ name: 'cdk8s-shm-webhook', namespace: 'cdk8s-shm', path: '/mutate', port: 443 });
    expect(webhook.clientConfig.caBundle).toBeUndefined(); // the server writes it at start
    expect(webhook.namespaceSelector.matchExpressions).toEqual([
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'cdk8s-shm'] },
    ]);
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
    expect(container.image).toMatch(/^docker\.io\/library\/node:\d+\.\d+\.\d+-alpine/);
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

  test('RBAC is limited to the one Secret and the one webhook configuration, by name', () => {
    expect(find(objects, 'Role').rules).toEqual([{ apiGroups: [''], resources: ['secrets'], resourceNames: ['cdk8s-shm-webhook-tls'], verbs: ['get', 'update'] }]);
    expect(find(objects, 'ClusterRole').rules).toEqual([{
      apiGroups: ['admissionregistration.k8s.io'],
      resources: ['mutatingwebhookconfigurations'],
      resourceNames: ['cdk8s-shm-webhook'],
      verbs: ['get', 'patch'],
    }]);
    expect(find(objects, 'ServiceAccount').automountServiceAccountToken).toBe(true);
  });

  test('the Deployment is highly available and passes the restricted Pod Security Standard', () => {
    const deployment = find(objects, 'Deployment');
    const pod = deployment.spec.template.spec;
    expect(deployment.spec.replicas).toBe(2);
    expect(pod.priorityClassName).toBe('system-cluster-critical');
    expect(pod.topologySpreadConstraints[0].topologyKey).toBe('kubernetes.io/hostname');
    expect(find(objects, 'PodDisruptionBudget').spec.minAvailable).toBe(1);
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
    expect(options.policy).toEqual({ ratio: '0.25', minimum: '128Mi', maximum: '8Gi', selection: 'opt-in', withoutLimit: 'fixed', fixedSize: '1Gi' });
  });

  test('cert-manager: Certificate, self-signed Issuer, CA injection, secret mounted', () => {
    const objects = synth({ tls: WebhookTls.certManager() });
    expectValidAgainstSchema(objects, ['Issuer', 'Certificate']);
    const certificate = find(objects, 'Certificate');
    expect(certificate.spec.dnsNames).toEqual(['cdk8s-shm-webhook.cdk8s-shm.svc', 'cdk8s-shm-webhook.cdk8s-shm.svc.cluster.local']);
    expect(certificate.spec.issuerRef).toEqual({ name: find(objects, 'Issuer').metadata.name, kind: 'Issuer' });
    expect(find(objects, 'MutatingWebhookConfiguration').metadata.annotations).toEqual({ 'cert-manager.io/inject-ca-from': 'cdk8s-shm/cdk8s-shm-webhook' });
    const pod = find(objects, 'Deployment').spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: 'tls', secret: { secretName: certificate.spec.secretName } });
    expect(parseWebhookArgs(argsOf(objects), {}).tlsMode).toBe('files');
    expect(objects.some(o => o.kind === 'Role' || o.kind === 'ClusterRole')).toBe(false);
    expect(find(objects, 'ServiceAccount').automountServiceAccountToken).toBe(false);
  });

  test('cert-manager with an existing ClusterIssuer creates no Issuer', () => {
    const objects = synth({ tls: WebhookTls.certManager({ issuerName: 'corp-ca', issuerKind: 'ClusterIssuer' }) });
    expect(objects.some(o => o.kind === 'Issuer')).toBe(false);
    expect(find(objects, 'Certificate').spec.issuerRef).toEqual({ name: 'corp-ca', kind: 'ClusterIssuer' });
  });

  test('provided TLS: the caBundle is written, the secret mounted', () => {
    const objects = synth({ tls: WebhookTls.provided({ secretName: 'my-tls', caBundle: CA_PEM }) });
    const webhook = find(objects, 'MutatingWebhookConfiguration').webhooks[0];
    expect(Buffer.from(webhook.clientConfig.caBundle, 'base64').toString()).toBe(CA_PEM);
    expect(find(objects, 'Deployment').spec.template.spec.volumes).toContainEqual({ name: 'tls', secret: { secretName: 'my-tls' } });
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
    ['CA not PEM', { tls: WebhookTls.provided({ secretName: 's', caBundle: 'abc' }) }, "'caBundle' of SharedMemoryWebhook 'webhook' must be a PEM certificate"],
    ['minimum above maximum', { minimum: Size.gibibytes(2), maximum: Size.gibibytes(1) }, "'minimum' (2Gi) must not exceed 'maximum' (1Gi)"],
  ])('refuses %s', (_label, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });
});
