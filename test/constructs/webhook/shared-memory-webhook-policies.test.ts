/**
 * The ValidatingAdmissionPolicies SharedMemoryWebhook ships, as synthesized: what they match, how
 * they fail, their bindings, and which TLS mode ships which. What they decide, run by the API
 * server's own CEL code, is test/conformance/webhook-policies-cel.test.ts's (`npm run conformance`).
 */
import { WebhookTls } from '../../../src';
import { synthWebhook } from '../../support/webhook-props';

const NAMESPACE = 'cdk8s-shm';
const NAME = 'cdk8s-shm-webhook';

const synth = synthWebhook;

const objects = synth();
const policyNamed = (name: string) => objects.find(o => o.kind === 'ValidatingAdmissionPolicy' && o.metadata.name === name);
const bindingNamed = (name: string) => objects.find(o => o.kind === 'ValidatingAdmissionPolicyBinding' && o.metadata.name === name);

describe('the webhook ServiceAccount may change caBundle and nothing else', () => {
  const policy = policyNamed(`${NAME}-ca-bundle-only`);

  test('the policy is bound, fails closed, and matches this configuration by name', () => {
    expect(policy.spec.failurePolicy).toBe('Fail');
    expect(policy.spec.matchConstraints).toEqual({
      resourceRules: [{
        apiGroups: ['admissionregistration.k8s.io'],
        apiVersions: ['*'],
        operations: ['CREATE', 'UPDATE', 'DELETE'],
        resources: ['mutatingwebhookconfigurations'],
        resourceNames: [NAME],
      }],
    });
    expect(bindingNamed(`${NAME}-ca-bundle-only`).spec).toEqual({ policyName: `${NAME}-ca-bundle-only`, validationActions: ['Deny'] });
  });
});

describe('the server code ConfigMap is as safe as the webhook configuration', () => {
  const policy = policyNamed(`${NAME}-server-code`);

  test('the policy matches creates and updates of that ConfigMap in that namespace, and is bound', () => {
    expect(policy.spec.failurePolicy).toBe('Fail');
    expect(policy.spec.matchConstraints).toEqual({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NAMESPACE } },
      resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['configmaps'], resourceNames: [`${NAME}-server`] }],
    });
    expect(bindingNamed(`${NAME}-server-code`).spec).toEqual({ policyName: `${NAME}-server-code`, validationActions: ['Deny'] });
  });
});

describe('which TLS mode ships which policy', () => {
  const kinds = (objectsOf: any[]) => objectsOf.filter(o => o.kind === 'ValidatingAdmissionPolicy').map(o => o.metadata.name).sort();

  test('cert-manager and provided TLS give the ServiceAccount no API access at all: only the code is guarded', () => {
    expect(kinds(synth({ tls: WebhookTls.certManager() }))).toEqual([`${NAME}-server-code`]);
  });

  test('an own image has no code ConfigMap to guard', () => {
    expect(kinds(synth({ image: 'registry.example.com/webhook:1.0.0' }))).toEqual([`${NAME}-ca-bundle-only`]);
  });
});
