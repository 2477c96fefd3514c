/**
 * The objects of the admission policy way in: a MutatingAdmissionPolicy that sizes `/dev/shm`, a
 * ValidatingAdmissionPolicy that refuses the pods the rule denies, and one that warns about the
 * annotations it cannot honour (warnings-cel.ts), each with its binding. All run the same variables
 * (cel.ts), for Pod CREATE only, and fail open: an error in CEL (a pod beyond the cost budget)
 * admits the pod unchanged, as `failurePolicy: Ignore` does for the webhook.
 */
import { ApiObjectProps } from 'cdk8s';
import { policyCel } from './cel';
import { warningCel } from './warnings-cel';
import { Policy } from '../../core';

export interface AdmissionPolicyObjectsSpec {
  /** Name of the MutatingAdmissionPolicy and its binding; the validating ones add DENIAL_SUFFIX. */
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly policy: Policy;
  readonly namespaceSelector: Record<string, unknown>;
}

/** The ValidatingAdmissionPolicy that denies, and its binding, are named after the mutating one, with this suffix. */
export const DENIAL_SUFFIX = '-without-limit';
/** And the one that warns. */
export const WARNINGS_SUFFIX = '-warnings';

/** The six objects, in the order they are applied: each policy before its binding. */
export function admissionPolicyObjects(spec: AdmissionPolicyObjectsSpec): ApiObjectProps[] {
  const cel = policyCel(spec.policy);
  const warnings = warningCel(spec.policy);
  const matchConstraints = {
    matchPolicy: 'Equivalent',
    namespaceSelector: spec.namespaceSelector,
    resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }],
  };
  const common = {
    // Never block a pod over our own error: the pod keeps the runtime's /dev/shm.
    failurePolicy: 'Ignore',
    matchConstraints,
    matchConditions: cel.matchConditions,
    variables: cel.variables,
  };
  const metadata = (name: string) => ({ name, labels: spec.labels });
  const denial = `${spec.name}${DENIAL_SUFFIX}`;
  const warning = `${spec.name}${WARNINGS_SUFFIX}`;
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingAdmissionPolicy',
      metadata: metadata(spec.name),
      spec: {
        ...common,
        mutations: [{ patchType: 'JSONPatch', jsonPatch: { expression: cel.mutation } }],
        // Run again when a later mutator changes the pod (another webhook adding a container).
        reinvocationPolicy: 'IfNeeded',
      },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingAdmissionPolicyBinding',
      metadata: metadata(spec.name),
      spec: { policyName: spec.name },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: metadata(denial),
      spec: {
        ...common,
        matchConditions: [...cel.matchConditions, ...cel.denialConditions],
        validations: [{ expression: cel.admitted, messageExpression: cel.denialMessage, reason: 'Forbidden' }],
      },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: metadata(denial),
      spec: { policyName: denial, validationActions: ['Deny'] },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: metadata(warning),
      spec: {
        ...common,
        matchConditions: [cel.matchConditions[0], ...warnings.matchConditions],
        variables: [...cel.variables, ...warnings.variables],
        validations: warnings.validations.map(v => ({ ...v, reason: 'Invalid' })),
      },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: metadata(warning),
      // Warn: the client sees the messages as warnings; the pod is admitted.
      spec: { policyName: warning, validationActions: ['Warn'] },
    },
  ];
}
