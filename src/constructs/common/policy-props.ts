import { Size } from 'cdk8s';

/**
 * Which pods the webhook or the admission policy gives a `/dev/shm`.
 */
export enum PodSelection {
  /** Every pod, unless annotated `cdk8s-shm.io/inject: "false"`. */
  OPT_OUT = 'opt-out',
  /** Only pods annotated `cdk8s-shm.io/inject: "true"`. */
  OPT_IN = 'opt-in',
}

/**
 * Which namespaces the API server sends to the webhook, or acts in with the admission policy
 * (`kube-system` and the webhook's own never).
 */
export enum NamespaceSelection {
  /** Every namespace. */
  ALL = 'all',
  /** Only namespaces labelled `cdk8s-shm.io/inject: enabled`. */
  OPT_IN = 'opt-in',
}

/**
 * What the webhook or the admission policy does with a pod that has no memory limit and asks for no explicit size.
 */
export class PodsWithoutLimit {
  /** Leave the pod as it is and send a warning back to the client. */
  public static skip(): PodsWithoutLimit {
    return new PodsWithoutLimit('skip');
  }

  /** Refuse the pod with a message asking for a memory limit. */
  public static deny(): PodsWithoutLimit {
    return new PodsWithoutLimit('deny');
  }

  /** Give the pod a fixed `/dev/shm` size. */
  public static fixedSize(size: Size): PodsWithoutLimit {
    if (!(size instanceof Size)) throw new Error('PodsWithoutLimit.fixedSize() needs a size, e.g. PodsWithoutLimit.fixedSize(Size.gibibytes(1))');
    return new PodsWithoutLimit('fixed', size);
  }

  private constructor(
    /** @internal */ public readonly _mode: 'skip' | 'deny' | 'fixed',
    /** @internal */ public readonly _size?: Size,
  ) {}
}

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
   * Largest size a ratio-derived `/dev/shm` may have. At least the runtime's own 64Mi, unless
   * `minimum` is set too: a lower cap could only give pods less than they have without cdk8s-shm
   * (`Size.mebibytes(64)`, not 64 million bytes).
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
   * Whether shared memory comes on top of the application's memory: the memory limits of the
   * containers that write `/dev/shm` grow by its size (see `SharedMemoryOptions.limitFollows`). The
   * webhook grows them at pod creation, never where the namespace's LimitRange or ResourceQuota
   * would then refuse the pod. The admission policy cannot grow limits (it leaves pods that ask for
   * it alone), so it refuses this prop. (`limit_follows` in Python.)
   *
   * @default false - /dev/shm is a share of the limit
   */
  readonly limitFollows?: boolean;

  /**
   * Whether the cluster resizes memory-backed volumes in place: Kubernetes 1.37+ with the alpha
   * feature gate `InPlacePodVerticalScalingMemoryBackedVolumes` on the API server and on every
   * kubelet (cgroup v2 nodes). A resize of a pod's memory limits (`kubectl patch pod --subresource
   * resize`) then also carries the `/dev/shm` the rule gives under the new limits. Where the gate is
   * off, the API server drops such a change without a word, so leave it false there. The webhook and
   * the admission policy follow resizes alike (`pods/resize`). (`resize_volumes` in Python.)
   *
   * @default false - a resize passes with a warning that names the `/dev/shm` the pod keeps until it is recreated
   */
  readonly resizeVolumes?: boolean;

  /**
   * Whether a resize `/dev/shm` cannot follow is refused when it lowers the memory limit of the
   * container `/dev/shm` is sized from to or below the `/dev/shm` the pod keeps (shared memory alone
   * could then OOM-kill it). Pods may also ask for it with the annotation
   * `cdk8s-shm.io/deny-unsafe-shrink: "true"`. The webhook and the admission policy refuse alike.
   * (`deny_unsafe_shrink` in Python.)
   *
   * @default false - such a resize passes, with a warning
   */
  readonly denyUnsafeShrink?: boolean;

  /**
   * Whether the `/dev/shm` mounts ask for what the container runtime mounts its own `/dev/shm`
   * with: `volumeMounts[].bindMountOptions` `nosuid`, `nodev`, `noexec` (Kubernetes 1.37+, alpha
   * feature gate `VolumeBindMountOptions` on the API server and the kubelets, and a runtime that
   * supports mount options). Where the API server lacks the gate it drops the options without a word,
   * so every way in warns that they need it; where a node cannot honour them the kubelet refuses the
   * pod. The admission policy adds them on an API server of 1.37+ (on 1.36, whose API lacks the
   * field, it admits such pods unchanged, with the warning). (`harden_mount` in Python.)
   *
   * @default false - /dev/shm is mounted without them, unlike the runtime's own (nosuid,nodev,noexec)
   */
  readonly hardenMount?: boolean;

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
