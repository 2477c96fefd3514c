/**
 * The shared policy props (SharedMemoryPolicyProps) as the core's settings, validated by the core,
 * with messages that name the props as the user wrote them.
 */
import { INJECT_ANNOTATION, Policy, PolicyInput, PolicySetting, isDns1123Label, resolvePolicy } from '../../core';
import { methodLabel, propLabel } from '../common/language-names';
import { SharedMemoryPolicyProps } from '../common/policy-props';
import { optionalSizeQuantity } from '../common/size-quantity';

/** The value of INJECT_ANNOTATION, as a namespace label, that selects a namespace in opt-in mode. */
export const NAMESPACE_OPT_IN_VALUE = 'enabled';
/** Never sized by a cluster-wide way in: the cluster's own pods. */
export const ALWAYS_EXCLUDED_NAMESPACES: readonly string[] = ['kube-system'];

/** The core's settings of the shared props: only those given, so that only those are written onto pods. */
export function policyInputOf(props: SharedMemoryPolicyProps): PolicyInput {
  return {
    ratio: props.ratio,
    minimum: optionalSizeQuantity(props.minimum),
    maximum: optionalSizeQuantity(props.maximum),
    podSelection: props.podSelection,
    podsWithoutLimit: props.podsWithoutLimit?._mode,
    fixedSize: optionalSizeQuantity(props.podsWithoutLimit?._size),
    sizeUnboundedShm: props.sizeUnboundedShm,
    limitFollows: props.limitFollows,
    resizeVolumes: props.resizeVolumes,
    denyUnsafeShrink: props.denyUnsafeShrink,
    hardenMount: props.hardenMount,
  };
}

/**
 * The validated policy of the shared props.
 * @param subject who has the props, for messages (`SharedMemoryAdmissionPolicy 'shm'`)
 * @throws Error naming the prop, its value and the subject
 */
export function resolvePolicyProps(props: SharedMemoryPolicyProps, subject: string): Policy {
  try {
    return resolvePolicy(policyInputOf(props), undefined, policyPropLabel);
  } catch (error) {
    throw new Error(`${(error as Error).message} in ${subject}`);
  }
}

/** The namespaces left alone: the cluster's own, then the given ones, each once. */
export function excludedNamespacesOf(props: SharedMemoryPolicyProps, subject: string, own: readonly string[] = []): string[] {
  for (const namespace of props.excludedNamespaces ?? []) {
    if (!isDns1123Label(namespace)) {
      throw new Error(`${propLabel('excludedNamespaces')} of ${subject} holds ${JSON.stringify(namespace)}, which is not a namespace name`);
    }
  }
  return [...new Set([...ALWAYS_EXCLUDED_NAMESPACES, ...own, ...props.excludedNamespaces ?? []])];
}

/** The selector of the namespaces a way in acts in (the label is INJECT_ANNOTATION's key). */
export function namespaceSelectorOf(excluded: readonly string[], optIn: boolean): Record<string, unknown> {
  return {
    matchExpressions: [
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...excluded] },
      ...(optIn ? [{ key: INJECT_ANNOTATION, operator: 'In', values: [NAMESPACE_OPT_IN_VALUE] }] : []),
    ],
  };
}

/** The core names settings as the props do, but for the size that comes with PodsWithoutLimit.fixedSize(). */
function policyPropLabel(setting: PolicySetting): string {
  return setting === 'fixedSize' ? `${propLabel('podsWithoutLimit')}, ${methodLabel('PodsWithoutLimit', 'fixedSize')}` : propLabel(setting);
}
