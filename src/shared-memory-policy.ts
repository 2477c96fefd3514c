import { Size } from 'cdk8s';
import { NamespaceSelection, PodSelection, PodsWithoutLimit } from './shared-memory-webhook';

/**
 * The sizing policy of a cluster-wide way in: how pods are sized and which ones. The admission
 * webhook (`SharedMemoryWebhook`) and the admission policy (`SharedMemoryAdmissionPolicy`) take
 * the same settings, with the same meaning.
 */
export interface SharedMemoryPolicyProps {
  /**
   * Share of the basis (the largest memory limit among the containers that write `/dev/shm`)
   * given to `/dev/shm`, greater than 0 and at most 1.
   *
   * @default 0.5
   */
  readonly ratio?: number;

  /**
   * Smallest size a ratio-derived `/dev/shm` may have (never above the pod memory limit).
   *
   * @default - no minimum
   */
  readonly minimum?: Size;

  /**
   * Largest size a ratio-derived `/dev/shm` may have.
   *
   * @default - no maximum
   */
  readonly maximum?: Size;

  /**
   * Which pods get a `/dev/shm`.
   *
   * @default PodSelection.OPT_OUT
   */
  readonly podSelection?: PodSelection;

  /**
   * What to do with pods without a memory limit.
   *
   * @default PodsWithoutLimit.skip()
   */
  readonly podsWithoutLimit?: PodsWithoutLimit;

  /**
   * Whether a pod's own `/dev/shm`, a memory-backed emptyDir without `sizeLimit` (as large as the
   * node, kubernetes#125852), is sized by the same rule from the containers that mount it.
   *
   * @default false - such pods are admitted unchanged (the webhook adds a warning)
   */
  readonly sizeUnboundedShm?: boolean;

  /**
   * Which namespaces are sent to the webhook, or acted in by the admission policy.
   *
   * @default NamespaceSelection.ALL
   */
  readonly namespaceSelection?: NamespaceSelection;

  /**
   * More namespaces never sent to the webhook or acted in by the admission policy (beyond
   * `kube-system`, and the webhook's own namespace).
   *
   * @default - none
   */
  readonly excludedNamespaces?: string[];
}
