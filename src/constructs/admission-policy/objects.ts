/**
 * The objects of the admission policy way in, each policy with its binding. At a pod's creation: a
 * MutatingAdmissionPolicy that sizes `/dev/shm`, a ValidatingAdmissionPolicy that refuses the pods
 * the rule denies, and one that warns about the annotations it cannot honour (warnings-cel.ts). At
 * its resize (resize-cel.ts): with `resizeVolumes` a MutatingAdmissionPolicy that adds the new
 * sizeLimit, one that warns about what `/dev/shm` does, one that refuses an unsafe shrink. With
 * hardenMount (the prop or a pod's annotation), a MutatingAdmissionPolicy of its own adds
 * bindMountOptions to the mounts of ours. All run
 * the rule's variables (cel.ts), and fail open: an error in CEL (a pod beyond the cost budget)
 * admits the pod unchanged, as `failurePolicy: Ignore` does for the webhook.
 */
import { ApiObjectProps } from 'cdk8s';
import { CelExpression, PolicyCel, policyCel } from './cel';
import { RESIZE_SUBRESOURCE, resizeCel } from './resize-cel';
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
/** The policies of a resize: the MutatingAdmissionPolicy that adds the new sizeLimit, the warnings, the refusal of an unsafe shrink. */
export const RESIZE_SUFFIX = '-resize';
export const RESIZE_WARNINGS_SUFFIX = '-resize-warnings';
export const UNSAFE_SHRINK_SUFFIX = '-unsafe-shrink';
/** The MutatingAdmissionPolicy that adds bindMountOptions to the mounts of ours (hardenMount). */
export const HARDEN_SUFFIX = '-harden';
/** The longest suffix: a name leaves room for it. */
export const LONGEST_SUFFIX = [DENIAL_SUFFIX, WARNINGS_SUFFIX, RESIZE_SUFFIX, RESIZE_WARNINGS_SUFFIX, UNSAFE_SHRINK_SUFFIX, HARDEN_SUFFIX]
  .reduce((a, b) => (b.length > a.length ? b : a));

/** The objects, in the order they are applied: each policy before its binding. */
export function admissionPolicyObjects(spec: AdmissionPolicyObjectsSpec): ApiObjectProps[] {
  const cel = policyCel(spec.policy);
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
  return [
    ...creationObjects(spec, cel, common),
    ...resizeObjects(spec, cel, common),
    ...hardeningObjects(spec, cel, common),
  ];
}

/**
 * The MutatingAdmissionPolicy that hardens the mounts of ours, and its binding: a policy of its own,
 * so that an API server whose API has no bindMountOptions (1.36) fails it alone and the pod keeps
 * its size, and so that pods that do not ask for it (without the prop) skip it at its match
 * conditions. Whichever of the two mutating policies runs first, `IfNeeded` runs it again on the
 * pod the other changed.
 */
function hardeningObjects(spec: AdmissionPolicyObjectsSpec, cel: PolicyCel, common: Common): ApiObjectProps[] {
  const name = `${spec.name}${HARDEN_SUFFIX}`;
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingAdmissionPolicy',
      metadata: { name, labels: spec.labels },
      spec: {
        ...common,
        matchConditions: [...cel.matchConditions, ...cel.hardeningConditions],
        mutations: [{ patchType: 'ApplyConfiguration', applyConfiguration: { expression: cel.hardening } }],
        reinvocationPolicy: 'IfNeeded',
      },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingAdmissionPolicyBinding',
      metadata: { name, labels: spec.labels },
      spec: { policyName: name },
    },
  ];
}

/** What the policies share: the failure policy, what they match, the rule's variables. */
interface Common {
  readonly failurePolicy: string;
  readonly matchConstraints: Record<string, unknown>;
  readonly matchConditions: readonly CelExpression[];
  readonly variables: readonly CelExpression[];
}

/** The three policies of a pod's creation, each with its binding. */
function creationObjects(spec: AdmissionPolicyObjectsSpec, cel: PolicyCel, common: Common): ApiObjectProps[] {
  const warnings = warningCel(spec.policy);
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

/**
 * The policies of a resize (`UPDATE` of `pods/resize`), each with its binding: they match resizes
 * only, so that a pod being created pays nothing for them. The MutatingAdmissionPolicy that adds
 * the new sizeLimit only with `resizeVolumes`; the warnings and the refusal always (a pod's own
 * `cdk8s-shm.io/deny-unsafe-shrink` asks for it).
 */
function resizeObjects(spec: AdmissionPolicyObjectsSpec, cel: PolicyCel, common: Common): ApiObjectProps[] {
  const resize = resizeCel(spec.policy);
  const metadata = (name: string) => ({ name, labels: spec.labels });
  const resizeCommon = {
    ...common,
    matchConstraints: {
      ...common.matchConstraints,
      resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: [`pods/${RESIZE_SUBRESOURCE}`], scope: 'Namespaced' }],
    },
    matchConditions: resize.matchConditions,
    variables: [...cel.variables, ...resize.variables],
  };
  const binding = (kind: string, name: string, actions?: string[]) => ({
    apiVersion: 'admissionregistration.k8s.io/v1', kind, metadata: metadata(name), spec: { policyName: name, ...(actions ? { validationActions: actions } : {}) },
  });
  const mutating = `${spec.name}${RESIZE_SUFFIX}`;
  const warnings = `${spec.name}${RESIZE_WARNINGS_SUFFIX}`;
  const denial = `${spec.name}${UNSAFE_SHRINK_SUFFIX}`;
  return [
    ...(spec.policy.resizeVolumes ? [
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'MutatingAdmissionPolicy',
        metadata: metadata(mutating),
        // Never: a later mutator of a resize cannot change what the rule gives.
        spec: { ...resizeCommon, mutations: [{ patchType: 'JSONPatch', jsonPatch: { expression: resize.mutation } }], reinvocationPolicy: 'Never' },
      },
      binding('MutatingAdmissionPolicyBinding', mutating),
    ] : []),
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: metadata(warnings),
      spec: { ...resizeCommon, validations: resize.warnings.map(v => ({ ...v, reason: 'Invalid' })) },
    },
    binding('ValidatingAdmissionPolicyBinding', warnings, ['Warn']),
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: metadata(denial),
      spec: { ...resizeCommon, validations: [{ ...resize.denial, reason: 'Forbidden' }] },
    },
    binding('ValidatingAdmissionPolicyBinding', denial, ['Deny']),
  ];
}
