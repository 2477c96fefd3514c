import { ApiObject, Lazy, Names, Size } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { AgentDelivery } from './agent-delivery';
import { AgentPlacement } from './agent-placement';
import { CsiNodePlugin, DEFAULT_KUBELET_DIR } from './csi-node-plugin';
import { agentDaemonSetSpec } from './daemon-set';
import { MOUNTER_CONTAINER_NAMES, mounterContainer } from './mounter';
import { PSS_AUDIT, PSS_ENFORCE, PSS_WARN, forbiddingLevel, namespaceLevelError } from './pod-security';
import { DomainVolume, TolerationJson, businessVolume } from './share-plan';
import { AgentShareSpec, ShareStage } from './share-stage';
import { SharedMemoryDomain } from './shared-memory-domain';
import { checkTenants, uniqueTenants, workloadTenant } from './tenants';
import { Tenant } from '../../contracts/csi-flags';
import { ANNOTATION_PREFIX, SHM_MOUNT_PATH, isDns1123Label, isDns1123Subdomain } from '../../core';
import { DEFAULT_NODE_IMAGE } from '../common/bundled-program';
import { checkCsiDriverName, checkHostPath, checkLabel, checkMountPath } from '../common/checks';
import { checkImageReference } from '../common/image-reference';
import { propLabel } from '../common/language-names';
import { checkCreatedNamespace, priorityClassQuota } from '../common/system-names';
import { AgentContainer } from '../pod-spec/container';
import { MountedVolume, podVolumes, renderContainer } from '../pod-spec/render-container';
import { ShmPipeline } from '../synthesis/pipeline';
import { warnAtSynthesis } from '../synthesis/synth-warnings';
import { workloadApiObject } from '../synthesis/workload-object';

/**
 * Properties for `SharedMemoryAgent`.
 */
export interface SharedMemoryAgentProps {
  /**
   * The agent containers (more can be added with `addContainer()`). Each must set `resources` (a
   * node-critical daemon's footprint should be explicit, and its memory limit must cover the
   * shared-memory pages it writes). They run unprivileged: all capabilities dropped unless
   * `securityContext.capabilities.drop` says otherwise, no privilege escalation, non-root,
   * read-only root filesystem; a privileged container is refused. Each mounts the domain at
   * `mountPath`.
   */
  readonly containers: AgentContainer[];

  /**
   * Name of the DaemonSet; also names the default namespace, host directory, node label and
   * volume. A DNS-1123 label of at most 52 characters.
   *
   * @default - the construct id, lower-cased
   */
  readonly name?: string;

  /**
   * Where the shared memory lives on the node.
   *
   * @default - SharedMemoryDomain.tmpfs({ size: Size.gibibytes(1) })
   */
  readonly domain?: SharedMemoryDomain;

  /**
   * How the domain reaches the pods: inline volumes of the agent's CSI node plugin, which admits
   * only the agent's tenants and is allowed by Pod Security `restricted`, or hostPath volumes
   * (less safe: see `AgentDelivery.hostPath()`).
   *
   * @default AgentDelivery.csi()
   */
  readonly delivery?: AgentDelivery;

  /**
   * Where the agent containers (and, unless `share()` says otherwise, the business containers)
   * see the domain. At `/dev/shm`, `shm_open()` finds it without configuration.
   *
   * @default "/dev/shm"
   */
  readonly mountPath?: string;

  /**
   * Whether the agent and the pods that share with it also exchange System V shared memory
   * (`shmget`). That needs `hostIPC: true` in all of them: they join the node's IPC namespace and
   * can read and remove every System V segment and POSIX message queue on the node.
   *
   * @default false
   */
  readonly systemV?: boolean;

  /**
   * Which nodes run the agent.
   *
   * @default - AgentPlacement.labeledNodes(): nodes labeled `cdk8s-shm.io/<name>=true`, tolerating the matching NoSchedule taint
   */
  readonly placement?: AgentPlacement;

  /**
   * Namespace of the agent.
   *
   * @default - the agent's name
   */
  readonly namespace?: string;

  /**
   * Whether to create the namespace, labeled for Pod Security `enforce: privileged` (the CSI
   * node plugin, or the hostPath mounter, runs there) with `warn` and `audit` at `baseline`. A
   * namespace the cluster owns (`kube-system`, `kube-public`, `kube-node-lease`, `default`) is
   * never created: set this to false to deploy into one unchanged.
   *
   * @default true
   */
  readonly createNamespace?: boolean;

  /**
   * Priority class of the agent pods. With a `system-` class outside `kube-system`, a
   * ResourceQuota for that class is created in the namespace: some clusters (GKE among them)
   * admit pods of those classes only where such a quota exists.
   *
   * @default "system-node-critical"
   */
  readonly priorityClassName?: string;

  /**
   * Image of the init container that mounts the tmpfs (or opens the `/dev/shm` directory) with
   * the hostPath delivery (the CSI plugin does it itself). It needs `sh`, `awk`, `mount` and
   * `chmod`; pin it by digest (`busybox:1.36.1@sha256:<64 hex digits>`) if you can.
   *
   * @default "busybox:1.36.1"
   */
  readonly mounterImage?: string;

  /**
   * Name of the ServiceAccount the agent pods run as (`serviceAccount.name` of a cdk8s-plus
   * ServiceAccount, for instance), in the agent's namespace. The CSI node plugin admits it as a tenant.
   *
   * @default - the namespace's default ServiceAccount
   */
  readonly serviceAccountName?: string;

  /**
   * Whether the agent pods get an API token of their ServiceAccount mounted (an agent that talks
   * to the API server needs it).
   *
   * @default false
   */
  readonly automountServiceAccountToken?: boolean;
}

/**
 * Options for `SharedMemoryAgent.share()`.
 */
export interface SharedMemoryShareOptions {
  /**
   * Names of the containers (app or init) that mount the domain.
   *
   * @default - every app container
   */
  readonly containers?: string[];

  /**
   * Where the business containers see the domain.
   *
   * @default - the agent's `mountPath`
   */
  readonly mountPath?: string;

  /**
   * Name of the volume (an inline csi volume, or a hostPath one) added to the business pods.
   *
   * @default - `<agent name>-shm`
   */
  readonly volumeName?: string;
}

/** The image the mounter runs when none is given. */
const DEFAULT_MOUNTER_IMAGE = 'busybox:1.36.1';
const OS_LABEL = 'kubernetes.io/os';

/**
 * A node agent (a DaemonSet around your agent containers) and the node-level shared-memory domain
 * it shares with business pods on the same node: a memory-backed directory on the node, mounted at
 * `/dev/shm` (or `mountPath`) in the agent and in every pod connected with `share()`, plus, when
 * `systemV` is on, the node's IPC namespace.
 *
 * By default a CSI node plugin of this package (its own DaemonSet in the agent's namespace, with
 * a `CSIDriver` object) owns the domain and publishes it as an inline `csi` volume into the pods
 * of the agent's tenants only: business namespaces keep Pod Security `baseline` or `restricted`.
 *
 * This is for agents that used to live inside every business image and talk to the business
 * process through shared memory. Two containers of one pod already share System V IPC
 * and can share a memory-backed emptyDir: use `SharedMemory.addTo()` (or a sidecar) when the agent
 * can run per pod.
 */
export class SharedMemoryAgent extends Construct {
  /**
   * The agent's name (DaemonSet, namespace, label and host directory derive from it).
   */
  public readonly name: string;

  /**
   * The agent's namespace.
   */
  public readonly namespaceName: string;

  /**
   * The host directory that holds the domain.
   */
  public readonly hostPath: string;

  /**
   * Where the agent containers see the domain.
   */
  public readonly mountPath: string;

  /**
   * Whether System V shared memory is shared (`hostIPC`).
   */
  public readonly systemV: boolean;

  /**
   * The domain.
   */
  public readonly domain: SharedMemoryDomain;

  /**
   * How the domain reaches the pods.
   */
  public readonly delivery: AgentDelivery;

  /**
   * The CSI driver name, with the CSI delivery.
   *
   * @default - none: the hostPath delivery
   */
  public readonly csiDriverName?: string;

  /**
   * The node label key the agent selects.
   *
   * @default - none: the agent runs on every Linux node
   */
  public readonly nodeLabelKey?: string;

  /**
   * The node label value the agent selects.
   *
   * @default - none: the agent runs on every Linux node
   */
  public readonly nodeLabelValue?: string;

  /**
   * The ServiceAccount the agent pods run as.
   *
   * @default - the namespace's default ServiceAccount
   */
  public readonly serviceAccountName?: string;

  /**
   * The agent DaemonSet.
   */
  public readonly daemonSet: ApiObject;

  private readonly tolerations: TolerationJson[];
  /** The agent containers and the volumes they mount, rendered and checked as they are added. */
  private readonly containers: Record<string, unknown>[] = [];
  private readonly initContainers: Record<string, unknown>[] = [];
  private readonly mountedVolumes: MountedVolume[] = [];
  private readonly explicitTenants: Tenant[] = [];
  /** The business objects shared with this agent. */
  private readonly shared = new Set<ApiObject>();
  /** The namespace and ServiceAccount of each shared workload, recorded when its pipeline plans. */
  private readonly sharedTenants = new Map<ApiObject, Tenant>();
  private readonly _warnings: string[] = [];
  /** How many of `_warnings` were printed already. */
  private warningsPrinted = 0;

  constructor(scope: Construct, id: string, props: SharedMemoryAgentProps) {
    super(scope, id);
    const subject = `SharedMemoryAgent '${id}'`;
    this.name = props.name ?? id.toLowerCase();
    if (this.name.length > 52 || !isDns1123Label(this.name)) {
      throw new Error(`'name' (${JSON.stringify(this.name)}) of ${subject} must be a DNS-1123 label of at most 52 characters: set 'name'`);
    }
    this.domain = props.domain ?? SharedMemoryDomain.tmpfs({ size: Size.gibibytes(1) });
    this.hostPath = checkHostPath(this.domain, this.domain.hostPath ?? (this.domain.dedicatedTmpfs
      ? `/run/cdk8s-shm/${this.name}` : `${SHM_MOUNT_PATH}/cdk8s-shm-${this.name}`), subject);
    this.mountPath = checkMountPath(props.mountPath ?? SHM_MOUNT_PATH, 'mountPath', subject);
    this.systemV = props.systemV ?? false;
    this.namespaceName = props.namespace ?? this.name;
    this.delivery = props.delivery ?? AgentDelivery.csi();
    if (this.delivery.usesCsi) {
      this.csiDriverName = checkCsiDriverName(this.delivery._options?.driverName ?? `${this.name}.cdk8s-shm.io`, subject);
      this.explicitTenants = checkTenants(this.delivery._options?.tenants ?? [], subject);
    }

    const placement = props.placement ?? AgentPlacement.labeledNodes();
    if (!placement.everyNode) {
      this.nodeLabelKey = placement.labelKey ?? `${ANNOTATION_PREFIX}${this.name}`;
      this.nodeLabelValue = placement.labelValue ?? 'true';
      checkLabel(this.nodeLabelKey, this.nodeLabelValue, subject);
    }
    this.tolerations = this.nodeLabelKey !== undefined && this.nodeLabelValue !== undefined && placement.tolerateTaint
      ? [{ key: this.nodeLabelKey, operator: 'Equal', value: this.nodeLabelValue, effect: 'NoSchedule' }]
      : [];

    if (!Array.isArray(props.containers) || props.containers.length === 0) {
      throw new Error(`'containers' of ${subject} is empty: give the agent containers`);
    }
    const mounterImage = checkImageReference(props.mounterImage ?? DEFAULT_MOUNTER_IMAGE, 'mounterImage', subject);
    const priorityClassName = props.priorityClassName ?? 'system-node-critical';
    if (props.serviceAccountName !== undefined && !isDns1123Subdomain(props.serviceAccountName)) {
      throw new Error(`${propLabel('serviceAccountName')} (${JSON.stringify(props.serviceAccountName)}) of ${subject} must be the name of a ServiceAccount (a DNS-1123 subdomain)`);
    }
    this.serviceAccountName = props.serviceAccountName;
    const createNamespace = props.createNamespace ?? true;
    if (createNamespace) checkCreatedNamespace(this.namespaceName, 'namespace', 'createNamespace', subject);

    // Build.
    const namespace = createNamespace ? this.addNamespace() : undefined;
    const tolerations = placement.everyNode ? [{ operator: 'Exists' }] : this.tolerations.map(t => ({ ...t }));
    this.daemonSet = new ApiObject(this, 'DaemonSet', {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: this.name, namespace: this.namespaceName },
      // Read at synthesis, when every container has been added.
      spec: Lazy.any({
        produce: () => agentDaemonSetSpec({
          address: Names.toLabelValue(this.daemonSet),
          containers: this.containers,
          initContainers: this.initContainers,
          volumes: podVolumes(this.mountedVolumes, subject),
          serviceAccountName: this.serviceAccountName,
          automountServiceAccountToken: props.automountServiceAccountToken ?? false,
          priorityClassName,
          nodeSelector: this.nodeSelector(),
          tolerations,
          hostIPC: this.systemV,
        }),
      }),
    });
    if (namespace) this.daemonSet.node.addDependency(namespace);
    if (this.delivery.usesCsi) {
      this.deliverByCsi(namespace, props, placement.everyNode);
    } else {
      // The mounter prepares the domain before any agent container mounts it.
      this.initContainers.push(mounterContainer(mounterImage, this.volumeName(), this.domain.dedicatedTmpfs ? this.domain._sizeBytes! : undefined));
    }
    this.addPriorityClassQuota(priorityClassName, namespace);
    for (const container of props.containers) this.addContainer(container);
    this.noteRisks(subject);
    this.node.addValidation({ validate: () => this.validateAgent(props.createNamespace ?? true) });
  }

  /** The agent's namespace: the CSI plugin (or the hostPath mounter) needs `privileged`; warn and audit still report beyond baseline. */
  private addNamespace(): ApiObject {
    return new ApiObject(this, 'Namespace', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: this.namespaceName, labels: { [PSS_ENFORCE]: 'privileged', [PSS_WARN]: 'baseline', [PSS_AUDIT]: 'baseline' } },
      // What cdk8s-plus wrote: an unchanged manifest for agents deployed before.
      spec: {},
    });
  }

  /** Where a `system-` class needs a quota, it comes before the DaemonSets whose pods it admits. */
  private addPriorityClassQuota(priorityClassName: string, namespace: ApiObject | undefined): void {
    // A node-critical DaemonSet has a pod per node: far fewer than 10,000.
    const quota = priorityClassQuota(this.name, this.namespaceName, priorityClassName, 10_000);
    if (!quota) return;
    const quotaObject = new ApiObject(this, 'PriorityClassQuota', quota);
    if (namespace) quotaObject.node.addDependency(namespace);
    for (const daemonSet of this.node.findAll().filter(c => ApiObject.isApiObject(c) && c.kind === 'DaemonSet')) {
      daemonSet.node.addDependency(quotaObject);
    }
  }

  /** What this agent's choices expose, printed at synthesis. */
  private noteRisks(subject: string): void {
    if (this.systemV) {
      this._warnings.push(`${subject} shares System V shared memory: it runs with hostIPC, in the node's IPC namespace, `
        + 'where it can read and remove every System V segment and POSIX message queue on the node');
    }
    if (!this.delivery.usesCsi) {
      this._warnings.push(`${subject} delivers its domain by hostPath: every namespace that shares with it must run Pod Security `
        + "'privileged', and any pod of a privileged namespace can mount the domain; AgentDelivery.csi() needs neither");
    }
    if (!this.domain.dedicatedTmpfs) {
      this._warnings.push(`${subject} keeps its shared memory in ${this.hostPath} on the node's own /dev/shm: `
        + "nothing but that /dev/shm's size bounds it, and other users of the node's /dev/shm compete for it");
    }
  }

  /**
   * Things worth knowing about this agent's security and limits (also printed at synthesis).
   */
  public get warnings(): string[] {
    return [...this._warnings];
  }

  /**
   * Adds an agent container, checked and given the security defaults as the ones of `containers`,
   * and mounting the domain at `mountPath`.
   *
   * @param container the container
   */
  public addContainer(container: AgentContainer): void {
    const { json, volumes } = renderContainer(container, {
      subject: this.describe(),
      extraMount: this.agentMount(),
      extraVolume: this.agentVolume(),
      reservedNames: MOUNTER_CONTAINER_NAMES,
      takenNames: this.containers.map(c => String(c.name)),
    });
    // Two volumes under one name would only fail at synthesis: check with this container's now.
    podVolumes([...this.mountedVolumes, ...volumes], this.describe());
    this.containers.push(json);
    this.mountedVolumes.push(...volumes);
  }

  /**
   * Connects a workload to the agent: mounts the domain in the chosen containers (an inline csi
   * volume of the agent's driver, or with the hostPath delivery a hostPath volume with
   * HostToContainer propagation), makes the workload's namespace and ServiceAccount a tenant of
   * the CSI plugin, sets `hostIPC` if System V is on, and makes the pods land only on nodes where
   * the agent runs (node selector and toleration). Checked at synthesis against the final workload.
   *
   * The workload is any construct that renders a pod template: a cdk8s-plus workload of any version
   * (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod), an L1 object (`KubeDeployment`, ...),
   * or an `ApiObject` (one of an `Include`, for instance). A construct without an ApiObject, or
   * whose kind has no pod template, is refused here. (This replaces `shareApiObject()`.)
   *
   * @param workload the business workload
   * @param options which containers, where, under what volume name
   */
  public share(workload: IConstruct, options: SharedMemoryShareOptions = {}): void {
    const apiObject = workloadApiObject(workload, `share() of ${this.describe()}`);
    if (apiObject.node.scopes.includes(this)) {
      throw new Error(`${this.describe()} cannot share with its own ${apiObject.kind} '${apiObject.node.id}': share() connects business workloads`);
    }
    this.bind(apiObject, `${apiObject.kind} '${workload.node.id}'`, options);
  }

  private bind(apiObject: ApiObject, subject: string, options: SharedMemoryShareOptions): void {
    if (this.shared.has(apiObject)) {
      throw new Error(`${subject} is already shared with ${this.describe()}: call share() once, with all options`);
    }
    if (options.mountPath !== undefined) checkMountPath(options.mountPath, 'mountPath', `share() of ${subject}`);
    if (options.containers !== undefined && options.containers.length === 0) {
      throw new Error(`'containers' of share() for ${subject} is empty: leave it out to mount the domain in every app container`);
    }
    if (options.volumeName !== undefined && !isDns1123Label(options.volumeName)) {
      throw new Error(`${propLabel('volumeName')} (${JSON.stringify(options.volumeName)}) of share() for ${subject} must be a DNS-1123 label`);
    }
    this.shared.add(apiObject);
    if (this.systemV) {
      this._warnings.push(`${subject} shares System V shared memory with ${this.describe()}: its pods run with hostIPC `
        + 'and can read and remove every System V segment on the node');
    }
    ShmPipeline.of(apiObject).addStage(new ShareStage(this.shareSpec(options),
      (objectSubject, namespace) => this.namespaceProblem(objectSubject, namespace),
      object => this.sharedTenants.set(apiObject, workloadTenant(object))));
  }

  private validateAgent(createdNamespace: boolean): string[] {
    // Validation runs in every pass of every synthesis; each warning is printed at the first.
    for (const warning of this._warnings.slice(this.warningsPrinted)) warnAtSynthesis(this.node.path, warning);
    this.warningsPrinted = this._warnings.length;
    const level = createdNamespace ? undefined : forbiddingLevel(this.node.root, this.namespaceName);
    if (!level) return [];
    const needs = [this.delivery.usesCsi ? 'the privileged CSI node plugin' : 'the hostPath volume', ...(this.systemV ? ['hostIPC'] : [])];
    return [namespaceLevelError(`the DaemonSet of ${this.describe()}`, this.namespaceName, level, needs, this.describe())];
  }

  private shareSpec(options: SharedMemoryShareOptions): AgentShareSpec {
    return {
      agent: this.describe(),
      volumeName: options.volumeName ?? this.volumeName(),
      volume: this.domainVolume(),
      mountPath: options.mountPath ?? this.mountPath,
      systemV: this.systemV,
      nodeSelector: this.nodeSelector(),
      tolerations: this.tolerations,
      containers: options.containers,
    };
  }

  /**
   * Why the Pod Security level of a shared workload's namespace refuses its pods, if it does: only
   * what they need beyond an inline csi volume (which even `restricted` allows) counts.
   */
  private namespaceProblem(subject: string, namespace: string): string | undefined {
    const needs = [...(this.delivery.usesCsi ? [] : ['the hostPath volume']), ...(this.systemV ? ['hostIPC'] : [])];
    const level = needs.length > 0 ? forbiddingLevel(this.node.root, namespace) : undefined;
    if (!level) return undefined;
    const fix = !this.delivery.usesCsi ? (this.systemV ? undefined : 'deliver the domain with AgentDelivery.csi()')
      : `turn ${propLabel('systemV')} off (POSIX shared memory through the CSI volume needs no change to the namespace)`;
    return namespaceLevelError(subject, namespace, level, needs, this.describe(), fix);
  }

  private domainVolume(): DomainVolume {
    return this.csiDriverName !== undefined
      ? { kind: 'csi', driver: this.csiDriverName, domain: this.name }
      : { kind: 'hostPath', path: this.hostPath };
  }

  private nodeSelector(): Record<string, string> {
    const selector: Record<string, string> = { [OS_LABEL]: 'linux' };
    if (this.nodeLabelKey !== undefined && this.nodeLabelValue !== undefined) selector[this.nodeLabelKey] = this.nodeLabelValue;
    return selector;
  }

  private volumeName(): string {
    return `${this.name}-shm`;
  }

  private describe(): string {
    return `SharedMemoryAgent '${this.node.id}'`;
  }

  /** The CSI node plugin owns the domain; the agent pods mount it like any tenant. */
  private deliverByCsi(namespace: ApiObject | undefined, props: SharedMemoryAgentProps, everyNode: boolean): void {
    const options = this.delivery._options ?? {};
    const agentTenant: Tenant = { namespace: this.namespaceName, serviceAccount: this.serviceAccountName ?? 'default' };
    const plugin = new CsiNodePlugin(this, 'CsiNodePlugin', {
      agentName: this.name,
      namespace: this.namespaceName,
      driverName: this.csiDriverName!,
      domainKind: this.domain.dedicatedTmpfs ? 'tmpfs' : 'host-shm',
      domainSizeBytes: this.domain._sizeBytes,
      hostPath: this.hostPath,
      // Each shared workload's namespace and ServiceAccount, as its pipeline saw them when it planned.
      tenants: () => uniqueTenants([agentTenant, ...this.explicitTenants, ...this.sharedTenants.values()]),
      nodeSelector: this.nodeSelector(),
      tolerations: everyNode ? 'all' : this.tolerations,
      priorityClassName: props.priorityClassName ?? 'system-node-critical',
      nodeImage: options.nodeImage ?? DEFAULT_NODE_IMAGE,
      kubeletDir: checkMountPath(options.kubeletDir ?? DEFAULT_KUBELET_DIR, 'kubeletDir', `AgentDelivery.csi() of ${this.describe()}`),
    });
    if (namespace) plugin.node.addDependency(namespace);
    // The driver first: an agent pod would only wait for it, but the manifest reads in order.
    this.daemonSet.node.addDependency(plugin);
  }

  /**
   * The agent pods' own volume of the domain: the inline csi volume business pods get, or the
   * domain directory, which the agent creates (`DirectoryOrCreate`; business pods wait for it).
   */
  private agentVolume(): Record<string, unknown> {
    return this.delivery.usesCsi
      ? businessVolume({ volumeName: this.volumeName(), volume: this.domainVolume() })
      : { name: this.volumeName(), hostPath: { path: this.hostPath, type: 'DirectoryOrCreate' } };
  }

  /** A hostPath mount propagates HostToContainer, so a tmpfs the mounter mounts later shows through. */
  private agentMount(): Record<string, unknown> {
    return this.delivery.usesCsi
      ? { name: this.volumeName(), mountPath: this.mountPath }
      : { name: this.volumeName(), mountPath: this.mountPath, mountPropagation: 'HostToContainer' };
  }
}
