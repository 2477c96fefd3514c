/**
 * Names and defaults that users, the webhook, the CLI and the constructs share.
 * They exist here once; nothing else spells them out.
 */

/** Prefix of every annotation this project reads or writes. */
export const ANNOTATION_PREFIX = 'cdk8s-shm.io/';

/** `"false"` opts a pod out; `"true"` opts it in where injection runs opt-in. */
export const INJECT_ANNOTATION = `${ANNOTATION_PREFIX}inject`;

/** An explicit `/dev/shm` size for the pod, as a Kubernetes quantity. */
export const SIZE_ANNOTATION = `${ANNOTATION_PREFIX}size`;

/** A decimal share of the basis (the largest limit among the containers that write /dev/shm), in (0, 1]. */
export const RATIO_ANNOTATION = `${ANNOTATION_PREFIX}ratio`;

/** Written on every pod (or pod template) whose `/dev/shm` we sized: the size we chose. */
export const SIZE_LIMIT_ANNOTATION = `${ANNOTATION_PREFIX}size-limit`;

/** Written with `limitFollows`: the memory limits before they grew, `app=1Gi,helper=128Mi` (limit-growth.ts). */
export const DECLARED_LIMITS_ANNOTATION = `${ANNOTATION_PREFIX}declared-limits`;

/** On the webhook's pods: the checksum of the server code, so that a new server rolls them. */
export const SERVER_CHECKSUM_ANNOTATION = `${ANNOTATION_PREFIX}server-checksum`;

/** On the CSI node plugin's pods: the checksum of the plugin code, for the same reason. */
export const PLUGIN_CHECKSUM_ANNOTATION = `${ANNOTATION_PREFIX}plugin-checksum`;

/**
 * The `/dev/shm` every container runtime gives a container that mounts nothing there: 64 MiB.
 * A pod is never given less by a share of its limit.
 */
export const RUNTIME_DEFAULT_SHM_BYTES = 64n * 2n ** 20n;

/**
 * What the runtime mounts its own `/dev/shm` with, and `hardenMount` asks for on ours:
 * `volumeMounts[].bindMountOptions` (Kubernetes 1.37, alpha gate `VolumeBindMountOptions`; the
 * API server accepts exactly these three, validation.go validateBindMountOptions).
 */
export const HARDENED_MOUNT_OPTIONS: readonly string[] = ['nosuid', 'nodev', 'noexec'];

/** The volume we inject. */
export const DEFAULT_VOLUME_NAME = 'dshm';

/** Where the volume is mounted. */
export const SHM_MOUNT_PATH = '/dev/shm';

/**
 * The default share of the basis: what a Linux host gives its own `/dev/shm`.
 * Shared memory pages are charged to the writer's memory cgroup, so the rest of the limit stays
 * for the application itself.
 */
export const DEFAULT_RATIO = '0.5';
