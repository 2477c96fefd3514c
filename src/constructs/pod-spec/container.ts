/**
 * A container that a construct of this package runs for the user (the node agent's), with the
 * security defaults of cdk8s-plus: non-root, read-only root filesystem, no privilege escalation,
 * and all capabilities dropped. render-container.ts turns it into Kubernetes' JSON.
 */
import { EnvValue } from './env';
import { Probe } from './probe';
import { ContainerResources } from './resources';
import { VolumeMount } from './volume';

/**
 * The protocol of a container port.
 */
export enum Protocol {
  /** TCP. */
  TCP = 'TCP',
  /** UDP. */
  UDP = 'UDP',
  /** SCTP. */
  SCTP = 'SCTP',
}

/**
 * When the kubelet pulls a container's image.
 */
export enum ImagePullPolicy {
  /** On every container start (what cdk8s-plus does by default). */
  ALWAYS = 'Always',
  /** Only when the node does not have the image yet. */
  IF_NOT_PRESENT = 'IfNotPresent',
  /** Never: the image must already be on the node. */
  NEVER = 'Never',
}

/**
 * A port a container listens on.
 */
export interface ContainerPort {
  /** The port number (Kubernetes' `containerPort`), from 1 to 65535. */
  readonly number: number;

  /**
   * A name probes and Services can refer to: at most 15 lower-case letters, digits and '-', with a letter.
   *
   * @default - no name
   */
  readonly name?: string;

  /**
   * The protocol.
   *
   * @default Protocol.TCP
   */
  readonly protocol?: Protocol;

  /**
   * The same port opened on the node (Pod Security `baseline` forbids it; the agent's namespace allows it).
   *
   * @default - none
   */
  readonly hostPort?: number;
}

/**
 * Linux capabilities of a container.
 */
export interface Capabilities {
  /**
   * Capabilities to add, without the `CAP_` prefix (`NET_ADMIN`).
   *
   * @default - none
   */
  readonly add?: string[];

  /**
   * Capabilities to drop (`ALL` for every one the runtime would give).
   *
   * @default ["ALL"]
   */
  readonly drop?: string[];
}

/**
 * The kind of seccomp profile of a container.
 */
export enum SeccompProfileType {
  /** The container runtime's default profile. */
  RUNTIME_DEFAULT = 'RuntimeDefault',
  /** No seccomp filtering. */
  UNCONFINED = 'Unconfined',
  /** A profile file on the node (see `localhostProfile`). */
  LOCALHOST = 'Localhost',
}

/**
 * The seccomp profile of a container.
 */
export interface SeccompProfile {
  /** The kind of profile. */
  readonly type: SeccompProfileType;

  /**
   * With `SeccompProfileType.LOCALHOST`: the profile's path, relative to the kubelet's seccomp directory.
   *
   * @default - none
   */
  readonly localhostProfile?: string;
}

/**
 * Security settings of a container. There is no `privileged`: the constructs refuse privileged
 * user containers (give capabilities instead).
 */
export interface ContainerSecurityContext {
  /**
   * Whether the kubelet refuses to start the container as root (UID 0).
   *
   * @default true
   */
  readonly runAsNonRoot?: boolean;

  /**
   * The UID the container runs as.
   *
   * @default - the image's user
   */
  readonly runAsUser?: number;

  /**
   * The GID the container runs as.
   *
   * @default - the image's group
   */
  readonly runAsGroup?: number;

  /**
   * Whether the root filesystem is read-only (mount an emptyDir where the container writes).
   *
   * @default true
   */
  readonly readOnlyRootFilesystem?: boolean;

  /**
   * Whether a process may gain more privileges than its parent (setuid binaries).
   *
   * @default false
   */
  readonly allowPrivilegeEscalation?: boolean;

  /**
   * Capabilities added and dropped. `drop` stays `["ALL"]` unless given, so `add` alone yields
   * exactly the capabilities added.
   *
   * @default - all dropped, none added
   */
  readonly capabilities?: Capabilities;

  /**
   * The seccomp profile.
   *
   * @default - the pod's (the runtime's default unless the pod says otherwise)
   */
  readonly seccompProfile?: SeccompProfile;
}

/**
 * A container of a node agent.
 */
export interface AgentContainer {
  /**
   * The container name, a DNS-1123 label unique in the pod. As in cdk8s-plus, it may be left out
   * for one container.
   *
   * @default 'main'
   */
  readonly name?: string;

  /** The image; pin it by digest (`registry/name:tag@sha256:<64 hex digits>`) if you can. */
  readonly image: string;

  /**
   * CPU and memory. Required: a node-critical daemon's footprint should be explicit, and its
   * memory limit must also cover the shared-memory pages it writes.
   */
  readonly resources: ContainerResources;

  /**
   * The entrypoint.
   *
   * @default - the image's entrypoint
   */
  readonly command?: string[];

  /**
   * Arguments of the entrypoint.
   *
   * @default - the image's command
   */
  readonly args?: string[];

  /**
   * The working directory.
   *
   * @default - the image's
   */
  readonly workingDir?: string;

  /**
   * Environment variables, in order.
   *
   * @default - none
   */
  readonly env?: { [name: string]: EnvValue };

  /**
   * Ports the container listens on.
   *
   * @default - none
   */
  readonly ports?: ContainerPort[];

  /**
   * Volumes mounted besides the shared-memory domain; the pod gets each volume once.
   *
   * @default - none
   */
  readonly volumeMounts?: VolumeMount[];

  /**
   * Security settings (every one defaults to the safe choice).
   *
   * @default - non-root, read-only root filesystem, no privilege escalation, all capabilities dropped
   */
  readonly securityContext?: ContainerSecurityContext;

  /**
   * When the image is pulled.
   *
   * @default ImagePullPolicy.ALWAYS
   */
  readonly imagePullPolicy?: ImagePullPolicy;

  /**
   * Restarts the container when it fails.
   *
   * @default - none
   */
  readonly livenessProbe?: Probe;

  /**
   * Whether the container is ready.
   *
   * @default - none
   */
  readonly readinessProbe?: Probe;

  /**
   * Holds the other probes back until the container has started.
   *
   * @default - none
   */
  readonly startupProbe?: Probe;
}
