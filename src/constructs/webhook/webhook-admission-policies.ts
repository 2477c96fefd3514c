/**
 * ValidatingAdmissionPolicies (admissionregistration.k8s.io/v1, Kubernetes 1.30+) that limit what
 * the webhook's own credentials, and whoever holds the namespace, can do to admission.
 *
 * RBAC can grant `patch` on one MutatingWebhookConfiguration by name but not on one field of it,
 * and self-managed TLS needs to write `caBundle`. A stolen ServiceAccount token could otherwise
 * change the rules, drop the `kube-system` exclusion or point the webhook elsewhere. The first
 * policy lets that ServiceAccount change `caBundle` and nothing else. The second keeps the server
 * code (the ConfigMap the pods run) as safe as the configuration itself: only someone who may
 * update the MutatingWebhookConfiguration may create or change it.
 *
 * The expressions are evaluated with the API server's own CEL library in
 * test/shared-memory-webhook-policies.test.ts.
 */
import { ApiObjectProps } from 'cdk8s';

/** Metadata a change of which would change admission or the object's life. */
const METADATA_FIELDS = ['labels', 'annotations', 'ownerReferences', 'finalizers'] as const;

/**
 * Every webhook of the new object has one of the same name in the old object that is equal in
 * every field but `clientConfig.caBundle`. The objects reach CEL as maps, so the comparison walks
 * their keys rather than a list of the fields known today: a field a later Kubernetes adds is
 * compared as well, and a key added or removed counts as a change.
 */
export const WEBHOOKS_UNCHANGED_BUT_CA_BUNDLE = [
  'object.webhooks.size() == oldObject.webhooks.size() &&',
  'object.webhooks.all(w, oldObject.webhooks.exists(o, o.name == w.name',
  "  && w.all(k, k == 'clientConfig' || (k in o && w[k] == o[k]))",
  '  && o.all(k, k in w)',
  "  && w.clientConfig.all(k, k == 'caBundle' || (k in o.clientConfig && w.clientConfig[k] == o.clientConfig[k]))",
  "  && o.clientConfig.all(k, k == 'caBundle' || k in w.clientConfig)",
  '))',
].join('\n');

export const METADATA_UNCHANGED = METADATA_FIELDS.map(field => `object.metadata.?${field} == oldObject.metadata.?${field}`).join('\n&& ');

export interface AdmissionPolicyNames {
  /** The webhook's base name: its MutatingWebhookConfiguration, ServiceAccount and objects. */
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  /** The ConfigMap holding the server code, when the bundled server is used. */
  readonly bundleConfigMap?: string;
}

/** A policy and the binding that enforces it. */
export interface PolicyAndBinding {
  readonly policy: ApiObjectProps;
  readonly binding: ApiObjectProps;
}

function withBinding(name: string, labels: Record<string, string>, spec: Record<string, unknown>): PolicyAndBinding {
  return {
    policy: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name, labels },
      spec: { failurePolicy: 'Fail', ...spec },
    },
    binding: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name, labels },
      spec: { policyName: name, validationActions: ['Deny'] },
    },
  };
}

/** The webhook's ServiceAccount may update its MutatingWebhookConfiguration's caBundle, and nothing else. */
export function caBundleOnlyPolicy(names: AdmissionPolicyNames): PolicyAndBinding {
  const serviceAccount = `system:serviceaccount:${names.namespace}:${names.name}`;
  return withBinding(`${names.name}-ca-bundle-only`, names.labels, {
    matchConstraints: {
      resourceRules: [{
        apiGroups: ['admissionregistration.k8s.io'],
        apiVersions: ['*'],
        operations: ['CREATE', 'UPDATE', 'DELETE'],
        resources: ['mutatingwebhookconfigurations'],
        resourceNames: [names.name],
      }],
    },
    matchConditions: [{ name: 'the-webhook-service-account', expression: `request.userInfo.username == '${serviceAccount}'` }],
    validations: [
      {
        expression: "request.operation == 'UPDATE'",
        message: `${serviceAccount} may only update MutatingWebhookConfiguration ${names.name}`,
        reason: 'Forbidden',
      },
      {
        expression: METADATA_UNCHANGED,
        message: `${serviceAccount} may not change the labels, annotations, owners or finalizers of MutatingWebhookConfiguration ${names.name}`,
        reason: 'Forbidden',
      },
      {
        expression: WEBHOOKS_UNCHANGED_BUT_CA_BUNDLE,
        message: `${serviceAccount} may change only clientConfig.caBundle in MutatingWebhookConfiguration ${names.name}`,
        reason: 'Forbidden',
      },
    ],
  });
}

/**
 * Creating or changing the server code takes the right to update the MutatingWebhookConfiguration:
 * whoever runs code as the webhook intercepts every pod, so editing a ConfigMap in the namespace
 * must not be a way around the cluster-scoped permission. Deleting is left alone (it only stops
 * new pods from starting, and the namespace controller must be able to).
 */
export function serverCodePolicy(names: AdmissionPolicyNames & { readonly bundleConfigMap: string }): PolicyAndBinding {
  return withBinding(`${names.name}-server-code`, names.labels, {
    matchConstraints: {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': names.namespace } },
      resourceRules: [{
        apiGroups: [''],
        apiVersions: ['v1'],
        operations: ['CREATE', 'UPDATE'],
        resources: ['configmaps'],
        resourceNames: [names.bundleConfigMap],
      }],
    },
    validations: [{
      expression: `authorizer.group('admissionregistration.k8s.io').resource('mutatingwebhookconfigurations').name('${names.name}').check('update').allowed()`,
      message: `ConfigMap ${names.namespace}/${names.bundleConfigMap} is the code of webhook ${names.name}: `
        + `only who may update MutatingWebhookConfiguration ${names.name} may change it`,
      reason: 'Forbidden',
    }],
  });
}
