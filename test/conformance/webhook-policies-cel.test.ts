/**
 * The ValidatingAdmissionPolicies SharedMemoryWebhook ships, evaluated for real: the objects the
 * construct synthesizes are compiled and run by the API server's own code (k8s.io/apiserver's
 * CEL environment for Kubernetes 1.30, its match conditions, validations and authorizer library;
 * test/support/go/kube), against the requests a stolen ServiceAccount token or a namespace editor
 * would make, and the ones the webhook itself and a cluster admin make.
 *
 * What this harness does not run is the API server's request routing (matchConstraints) and RBAC
 * itself: those fields are asserted in test/shared-memory-webhook-policies.test.ts, and the
 * cluster-level suite proves them end to end. Needs Go: `npm run conformance`.
 */
import fc from 'fast-check';
import { goProgram, runGoProgram } from '../support/go-program';
import { synthWebhook } from '../support/webhook-props';

interface CaseAnswer { readonly name: string; readonly verdict: 'admit' | 'deny' | 'error'; readonly matched: boolean; readonly reasons?: string[] }
interface Answer { readonly compileErrors: string[]; readonly cases: CaseAnswer[] }

const NAMESPACE = 'cdk8s-shm';
const NAME = 'cdk8s-shm-webhook';
const SERVICE_ACCOUNT = `system:serviceaccount:${NAMESPACE}:${NAME}`;
const MWC_GVR = { group: 'admissionregistration.k8s.io', version: 'v1', resource: 'mutatingwebhookconfigurations' };
const MWC_GVK = { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'MutatingWebhookConfiguration' };
const CM_GVR = { group: '', version: 'v1', resource: 'configmaps' };
const CM_GVK = { group: '', version: 'v1', kind: 'ConfigMap' };
/** What the table-driven authorizer allows a cluster admin (and what the webhook's RBAC does not give it). */
const MAY_UPDATE_MWC = `update admissionregistration.k8s.io/mutatingwebhookconfigurations /${NAME}`;

let evaluate: (policy: unknown, cases: unknown[]) => Answer;
beforeAll(() => {
  const binary = goProgram('kube');
  evaluate = (policy, cases) => runGoProgram<Answer>(binary, { compatibilityVersion: '1.30', policy, cases });
}, 900_000);

const synth = synthWebhook;

const objects = synth();
const policyNamed = (name: string) => objects.find(o => o.kind === 'ValidatingAdmissionPolicy' && o.metadata.name === name);

/** The configuration as the API server stores it: with its defaults, and with the caBundle the server wrote. */
function storedConfiguration(): any {
  const configuration = structuredClone(objects.find(o => o.kind === 'MutatingWebhookConfiguration'));
  configuration.metadata = { ...configuration.metadata, uid: '5a1c', resourceVersion: '100', generation: 1 };
  for (const webhook of configuration.webhooks) {
    webhook.objectSelector ??= {};
    webhook.clientConfig.caBundle = Buffer.from('-----BEGIN CERTIFICATE-----\nold\n-----END CERTIFICATE-----\n').toString('base64');
  }
  return configuration;
}

function update(name: string, change: (o: any) => void, user = SERVICE_ACCOUNT, operation = 'UPDATE') {
  const oldObject = storedConfiguration();
  const object = structuredClone(oldObject);
  change(object);
  object.metadata.resourceVersion = '101';
  return {
    name,
    operation,
    user,
    groups: ['system:serviceaccounts', 'system:authenticated'],
    resource: MWC_GVR,
    kind: MWC_GVK,
    objectName: NAME,
    object: operation === 'DELETE' ? null : object,
    oldObject: operation === 'CREATE' ? null : oldObject,
  };
}

function verdicts(answer: Answer): Record<string, string> {
  return Object.fromEntries(answer.cases.map(c => [c.name, c.verdict]));
}

describe('the webhook ServiceAccount may change caBundle and nothing else', () => {
  const policy = policyNamed(`${NAME}-ca-bundle-only`);

  test('it compiles on Kubernetes 1.30', () => {
    expect(evaluate(policy, []).compileErrors).toEqual([]);
  });

  test('allowed: what the server does; refused: everything an attacker would', () => {
    const newCa = Buffer.from('-----BEGIN CERTIFICATE-----\nnew\n-----END CERTIFICATE-----\n').toString('base64');
    const answer = evaluate(policy, [
      update('write a new caBundle', o => (o.webhooks[0].clientConfig.caBundle = newCa)),
      update('write the first caBundle', o => delete o.webhooks[0].clientConfig.caBundle),
      update('change nothing (a no-op patch)', () => undefined),
      update('fail closed', o => (o.webhooks[0].failurePolicy = 'Fail')),
      update('drop the kube-system exclusion', o => (o.webhooks[0].namespaceSelector = {})),
      update('also intercept UPDATE', o => o.webhooks[0].rules[0].operations.push('UPDATE')),
      update('intercept secrets', o => o.webhooks[0].rules[0].resources.push('secrets')),
      update('point at another Service', o => (o.webhooks[0].clientConfig.service.name = 'evil')),
      update('point at another namespace', o => (o.webhooks[0].clientConfig.service.namespace = 'evil')),
      update('point at a URL', o => {
        delete o.webhooks[0].clientConfig.service;
        o.webhooks[0].clientConfig.url = 'https://evil.example.com/mutate';
      }),
      update('add a second webhook', o => o.webhooks.push({ ...structuredClone(o.webhooks[0]), name: 'evil.example.com' })),
      update('rename the webhook', o => (o.webhooks[0].name = 'evil.example.com')),
      update('replace the webhooks', o => (o.webhooks = [])),
      update('add an object selector', o => (o.webhooks[0].objectSelector = { matchLabels: { victim: 'true' } })),
      update('add a match condition', o => (o.webhooks[0].matchConditions = [{ name: 'x', expression: 'true' }])),
      update('a longer timeout', o => (o.webhooks[0].timeoutSeconds = 30)),
      update('never reinvoke', o => (o.webhooks[0].reinvocationPolicy = 'Never')),
      update('claim side effects', o => (o.webhooks[0].sideEffects = 'Some')),
      update('change a label', o => (o.metadata.labels = { ...o.metadata.labels, extra: 'x' })),
      update('inject another CA through cert-manager', o => (o.metadata.annotations = { 'cert-manager.io/inject-ca-from': 'evil/evil' })),
      update('hand the object to an owner that goes away', o => (o.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: '1' }])),
      update('add a finalizer', o => (o.metadata.finalizers = ['example.com/hold'])),
      update('delete the configuration', () => undefined, SERVICE_ACCOUNT, 'DELETE'),
      update('create the configuration', () => undefined, SERVICE_ACCOUNT, 'CREATE'),
      update('a cluster admin changes the rules', o => (o.webhooks[0].failurePolicy = 'Fail'), 'kubernetes-admin'),
      update('another ServiceAccount of the namespace (RBAC decides)', o => (o.webhooks[0].failurePolicy = 'Fail'), `system:serviceaccount:${NAMESPACE}:default`),
    ]);
    expect(verdicts(answer)).toEqual({
      'write a new caBundle': 'admit',
      'write the first caBundle': 'admit',
      'change nothing (a no-op patch)': 'admit',
      'fail closed': 'deny',
      'drop the kube-system exclusion': 'deny',
      'also intercept UPDATE': 'deny',
      'intercept secrets': 'deny',
      'point at another Service': 'deny',
      'point at another namespace': 'deny',
      'point at a URL': 'deny',
      'add a second webhook': 'deny',
      'rename the webhook': 'deny',
      'replace the webhooks': 'deny',
      'add an object selector': 'deny',
      'add a match condition': 'deny',
      'a longer timeout': 'deny',
      'never reinvoke': 'deny',
      'claim side effects': 'deny',
      'change a label': 'deny',
      'inject another CA through cert-manager': 'deny',
      'hand the object to an owner that goes away': 'deny',
      'add a finalizer': 'deny',
      'delete the configuration': 'deny',
      'create the configuration': 'deny',
      'a cluster admin changes the rules': 'admit',
      'another ServiceAccount of the namespace (RBAC decides)': 'admit',
    });
    const byName = Object.fromEntries(answer.cases.map(c => [c.name, c]));
    expect(byName['a cluster admin changes the rules'].matched).toBe(false);
    expect(byName['fail closed'].reasons).toEqual([`deny ${SERVICE_ACCOUNT} may change only clientConfig.caBundle in MutatingWebhookConfiguration ${NAME}`]);
    expect(byName['delete the configuration'].reasons?.[0]).toContain('may only update');
  });

  test('fuzz: any change the ServiceAccount makes to a webhook field other than caBundle is refused', () => {
    const stored = storedConfiguration();
    const leaves: string[][] = [];
    const walk = (value: unknown, at: string[]) => {
      if (value !== null && typeof value === 'object') {
        for (const [key, child] of Object.entries(value)) walk(child, [...at, key]);
        // An added key counts too.
        if (!Array.isArray(value)) leaves.push([...at, 'added']);
      } else {
        leaves.push(at);
      }
    };
    walk(stored.webhooks, ['webhooks']);
    const targets = leaves.filter(path => path.join('.') !== 'webhooks.0.clientConfig.caBundle');
    const anyValue = fc.oneof(fc.string({ minLength: 1 }), fc.integer(), fc.boolean(), fc.constant(null));
    const changes = fc.sample(fc.tuple(fc.constantFrom(...targets), anyValue), { seed: 14, numRuns: 300 });
    const cases = changes.map(([path, value], i) => update(`${i}: ${path.join('.')} = ${JSON.stringify(value)}`, o => {
      let parent = o;
      for (const key of path.slice(0, -1)) parent = parent[key];
      const last = path[path.length - 1];
      // A value equal to the old one is no change; make sure it differs.
      parent[last] = JSON.stringify(parent[last]) === JSON.stringify(value) ? `${String(value)}-changed` : value;
    }));
    const answer = evaluate(policyNamed(`${NAME}-ca-bundle-only`), cases);
    expect(answer.cases.filter(c => c.verdict !== 'deny').map(c => c.name)).toEqual([]);
  });

  test('fuzz: whatever caBundle the ServiceAccount writes, it is allowed', () => {
    const bundles = fc.sample(fc.base64String({ minLength: 4, maxLength: 400 }), { seed: 14, numRuns: 100 });
    const answer = evaluate(policyNamed(`${NAME}-ca-bundle-only`), bundles.map((b, i) => update(`bundle ${i}`, o => (o.webhooks[0].clientConfig.caBundle = b))));
    expect(answer.cases.filter(c => c.verdict !== 'admit')).toEqual([]);
  });
});

describe('the server code ConfigMap is as safe as the webhook configuration', () => {
  const policy = policyNamed(`${NAME}-server-code`);
  const code = objects.find(o => o.kind === 'ConfigMap');
  const change = (name: string, user: string, allowed: string[], operation = 'UPDATE') => {
    const tampered = { ...code, data: { 'webhook.js': 'require("child_process").exec("curl evil")' } };
    return {
      name,
      operation,
      user,
      resource: CM_GVR,
      kind: CM_GVK,
      namespace: NAMESPACE,
      objectName: code.metadata.name,
      allowed,
      object: tampered,
      oldObject: operation === 'CREATE' ? null : code,
    };
  };

  test('only who may update the MutatingWebhookConfiguration may write the code', () => {
    const answer = evaluate(policy, [
      change('a namespace editor', 'alice', ['update /configmaps cdk8s-shm/cdk8s-shm-webhook-server']),
      change('a namespace editor re-creating it', 'alice', [], 'CREATE'),
      change('the webhook ServiceAccount (it may patch the configuration, not update it)', SERVICE_ACCOUNT,
        [`patch admissionregistration.k8s.io/mutatingwebhookconfigurations /${NAME}`]),
      change('a cluster admin upgrading', 'kubernetes-admin', [MAY_UPDATE_MWC]),
      change('a cluster admin installing', 'kubernetes-admin', [MAY_UPDATE_MWC], 'CREATE'),
    ]);
    expect(answer.compileErrors).toEqual([]);
    expect(verdicts(answer)).toEqual({
      'a namespace editor': 'deny',
      'a namespace editor re-creating it': 'deny',
      'the webhook ServiceAccount (it may patch the configuration, not update it)': 'deny',
      'a cluster admin upgrading': 'admit',
      'a cluster admin installing': 'admit',
    });
  });
});
