import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { DENIAL_SUFFIX, HARDEN_SUFFIX, LONGEST_SUFFIX, RESIZE_SUFFIX, RESIZE_WARNINGS_SUFFIX, UNSAFE_SHRINK_SUFFIX, WARNINGS_SUFFIX, admissionPolicyObjects } from './objects';
import { excludedNamespacesOf, namespaceSelectorOf, resolvePolicyProps } from './settings';
import { isDns1123Subdomain } from '../../core';
import { extraLabels } from '../common/checks';
import { methodLabel, propLabel } from '../common/language-names';
import { SharedMemoryPolicyProps, NamespaceSelection } from '../common/policy-props';
import { warnAtSynthesis } from '../synthesis/synth-warnings';

/**
 * Properties for `SharedMemoryAdmissionPolicy`.
 */
export interface SharedMemoryAdmissionPolicyProps extends SharedMemoryPolicyProps {
  /**
   * Name of the MutatingAdmissionPolicy and its binding; the ValidatingAdmissionPolicies and their
   * bindings add `-without-limit` (denials) and `-warnings`, and those of a resize `-resize` (the
   * MutatingAdmissionPolicy, with `resizeVolumes`), `-resize-warnings` and `-unsafe-shrink`. A
   * DNS-1123 subdomain of at most 237 characters.
   *
   * @default "cdk8s-shm"
   */
  readonly name?: string;

  /**
   * More labels on every object.
   *
   * @default - none
   */
  readonly labels?: { [key: string]: string };
}

/**
 * The sizing rule as admission policies that run inside the API server (Kubernetes 1.36+,
 * `admissionregistration.k8s.io/v1`): no server to deploy, no TLS, no network hop.
 *
 * Synthesizes a `MutatingAdmissionPolicy` that gives every pod the API server admits a
 * right-sized `/dev/shm` (Pod CREATE, `reinvocationPolicy: IfNeeded`, `failurePolicy: Ignore`), a
 * `ValidatingAdmissionPolicy` that refuses the pods the rule denies (`PodsWithoutLimit.deny()`, or a
 * pod's own `cdk8s-shm.io/pods-without-limit: deny`), one bound with `validationActions: [Warn]` that
 * warns the client about a pod's `cdk8s-shm.io/` annotations it cannot honour, as the webhook does,
 * and their bindings. After an in-place resize (`pods/resize`) it follows the core's `planResize` as
 * the webhook does: with `resizeVolumes` a `MutatingAdmissionPolicy` adds the size the rule gives
 * under the new limits to the resize; a `ValidatingAdmissionPolicy` bound with `Warn` says what
 * `/dev/shm` does; one bound with `Deny` refuses a shrink that `denyUnsafeShrink` (or the pod's
 * annotation) forbids. With `hardenMount` (the prop or a pod's annotation) our mounts get
 * `bindMountOptions` from a `MutatingAdmissionPolicy` of its own, on an API server of 1.37+ with the
 * gate `VolumeBindMountOptions` (elsewhere such pods are sized without them, with a warning). All evaluate the same CEL, generated from the core's rule and settings
 * (src/constructs/admission-policy/cel.ts, resize-cel.ts). The few pods CEL cannot size exactly are
 * left alone, never sized otherwise; `cdk8s-shm plan --way-in policy` names them.
 */
export class SharedMemoryAdmissionPolicy extends Construct {
  /** Name of the MutatingAdmissionPolicy and its binding. */
  public readonly name: string;

  /** Name of the ValidatingAdmissionPolicy that denies, and its binding. */
  public readonly denialName: string;

  /** Name of the ValidatingAdmissionPolicy that warns about annotations it cannot honour, and its binding. */
  public readonly warningsName: string;

  /** Name of the MutatingAdmissionPolicy that adds the new sizeLimit to a resize (synthesized with `resizeVolumes`), and its binding. */
  public readonly resizeName: string;

  /** Name of the ValidatingAdmissionPolicy that warns about what `/dev/shm` does after a resize, and its binding. */
  public readonly resizeWarningsName: string;

  /** Name of the ValidatingAdmissionPolicy that refuses an unsafe shrink (`denyUnsafeShrink`), and its binding. */
  public readonly unsafeShrinkName: string;

  /** Name of the MutatingAdmissionPolicy that adds `bindMountOptions` to the mounts of ours (`hardenMount`), and its binding. */
  public readonly hardenName: string;

  constructor(scope: Construct, id: string, props: SharedMemoryAdmissionPolicyProps = {}) {
    super(scope, id);
    props = props ?? {};
    const subject = `SharedMemoryAdmissionPolicy '${id}'`;
    this.name = props.name ?? 'cdk8s-shm';
    this.denialName = `${this.name}${DENIAL_SUFFIX}`;
    this.warningsName = `${this.name}${WARNINGS_SUFFIX}`;
    this.resizeName = `${this.name}${RESIZE_SUFFIX}`;
    this.resizeWarningsName = `${this.name}${RESIZE_WARNINGS_SUFFIX}`;
    this.unsafeShrinkName = `${this.name}${UNSAFE_SHRINK_SUFFIX}`;
    this.hardenName = `${this.name}${HARDEN_SUFFIX}`;
    if (!isDns1123Subdomain(`${this.name}${LONGEST_SUFFIX}`)) {
      throw new Error(`'name' (${JSON.stringify(this.name)}) of ${subject} must be a DNS-1123 subdomain of at most ${253 - LONGEST_SUFFIX.length} characters `
        + "(lower-case letters, digits, '-' and '.')");
    }
    const labels = {
      'app.kubernetes.io/name': 'cdk8s-shm-policy',
      'app.kubernetes.io/instance': this.name,
      ...extraLabels(props.labels, subject, 'it names the policies'),
    };
    if (props.limitFollows) {
      throw new Error(`${propLabel('limitFollows')} of ${subject} cannot be true: a MutatingAdmissionPolicy cannot read the namespace's LimitRange and `
        + 'ResourceQuota, so it never grows limits (it leaves pods that ask for it alone); use SharedMemoryWebhook, or set it on the workloads '
        + `with ${methodLabel('SharedMemory', 'addTo')}`);
    }
    const policy = resolvePolicyProps(props, subject);
    if (policy.hardenMount) this.warnOnceAtSynthesis(HARDEN_MOUNT_NEEDS_137(subject));
    const excluded = excludedNamespacesOf(props, subject);
    const namespaceSelector = namespaceSelectorOf(excluded, props.namespaceSelection === NamespaceSelection.OPT_IN);
    let objects;
    try {
      objects = admissionPolicyObjects({ name: this.name, labels, policy, namespaceSelector });
    } catch (error) {
      // Settings the core accepts but CEL cannot read exactly (a ratio of ten decimal places).
      throw new Error((error as Error).message.replace('in an admission policy', `in ${subject}`));
    }
    const ids = ['mutating-policy', 'mutating-policy-binding', 'validating-policy', 'validating-policy-binding', 'warning-policy', 'warning-policy-binding'];
    objects.forEach((object, i) => new ApiObject(this, ids[i] ?? `${object.kind}-${object.metadata?.name}`, object));
  }

  /** A warning on standard error at the first synthesis (validation runs in every pass of every synthesis). */
  private warnOnceAtSynthesis(message: string): void {
    let printed = false;
    this.node.addValidation({
      validate: () => {
        if (!printed) warnAtSynthesis(this.node.path, message);
        printed = true;
        return [];
      },
    });
  }
}

/**
 * What the cluster must be for `hardenMount` to take effect: the options need 1.37's API and its
 * gate. Without them the pods are sized all the same (the hardening policy fails alone, or the API
 * server drops the field), and the warnings policy says so for each; nothing at synthesis knows the
 * cluster's version, so this says it once.
 */
const HARDEN_MOUNT_NEEDS_137 = (subject: string) => `${propLabel('hardenMount')} of ${subject} asks for volumeMounts[].bindMountOptions, `
  + 'which need an API server of Kubernetes 1.37+ with the gate VolumeBindMountOptions: elsewhere the pods are sized without them, '
  + 'and each one\'s creation warns that they are missing';
