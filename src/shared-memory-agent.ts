import { ApiObject, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { checkCsiDriverName, checkHostPath, checkLabel, checkMountPath } from './agent/checks';
import { CsiNodePlugin, DEFAULT_KUBELET_DIR, DEFAULT_REGISTRAR_IMAGE } from './agent/csi-node-plugin';
import { DOMAIN_CONTAINER_PATH, hostShmPreparerScript, tmpfsMounterScript } from './agent/mounter';
import { PSS_AUDIT, PSS_ENFORCE, PSS_WARN, forbiddingLevel, namespaceLevelError } from './agent/pod-security';
import { DomainVolume, TolerationJson } from './agent/share-plan';
import { AgentShareSpec, ShareStage } from './agent/share-stage';
import { checkTenants, uniqueTenants, workloadTenant } from './agent/tenants';
import { AgentDelivery } from './agent-delivery';
import { AgentPlacement } from './agent-placement';
import { DEFAULT_NODE_IMAGE } from './bundled-program';
import { ANNOTATION_PREFIX, INJECT_ANNOTATION, SHM_MOUNT_PATH, isDns1123Label } from './core';
import { DOMAIN_ATTRIBUTE, Tenant } from './csi/options';
import { checkImageReference } from './image-reference';
import { ShmPipeline } from './pipeline';
import { SharedMemoryDomain } from './shared-memory-domain';
import { checkCreatedNamespace, priorityClassQuota } from './system-names';

/**
 * Properties for `SharedMemoryAgent`.
 */
export interface SharedMemoryAgentProps {
  /**
   * The agent containers. Each must set `resources` (a node-critical daemon's footprint should be
   * explicit, and its memory limit must cover the shared-memory pages it writes). They run
   * unprivileged: all capabilities dropped unless `securityContext.capabilities` says otherwise,
   * no privilege escalation, non-root, read-only root filesystem; `privileged` is refused.
   */
  readonly containers: kplus.ContainerProps[];

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
   * Service account of the agent pods.
   *
   * @default - the namespace's default service account, with no token mounted
   */
  readonly serviceAccount?: kplus.IServiceAccount;
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
 * process through shared memory (seed 002). Two containers of one pod already share System V IPC
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
   * The agent DaemonSet.
   */
  public readonly daemonSet: kplus.DaemonSet;

  private readonly tolerations: TolerationJson[];
  private readonly explicitTenants: Tenant[] = [];
  /** The business objects shared with this agent. */
  private readonly shared = new Set<ApiObject>();
  /** The namespace and ServiceAccount of each shared workload, recorded when its pipeline plans. */
  private readonly sharedTenants = new Map<ApiObject, Tenant>();
  private readonly _warnings: string[] = [];

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

    if (!props.containers || props.containers.length === 0) {
      throw new Error(`'containers' of ${subject} is empty: give the agent containers`);
    }
    const mounterImage = checkImageReference(props.mounterImage ?? DEFAULT_MOUNTER_IMAGE, 'mounterImage', subject);
    const priorityClassName = props.priorityClassName ?? 'system-node-critical';
    if (props.createNamespace ?? true) checkCreatedNamespace(this.namespaceName, 'namespace', 'createNamespace', subject);

    let namespace: kplus.Namespace | undefined;
    if (props.createNamespace ?? true) {
      namespace = new kplus.Namespace(this, 'Namespace', {
        metadata: {
          name: this.namespaceName,
          // The CSI plugin (or the hostPath mounter) needs `privileged`; warn and audit still report
          // anything beyond baseline.
          labels: { [PSS_ENFORCE]: 'privileged', [PSS_WARN]: 'baseline', [PSS_AUDIT]: 'baseline' },
        },
      });
    }

    this.daemonSet = new kplus.DaemonSet(this, 'DaemonSet', {
      metadata: { name: this.name, namespace: this.namespaceName },
      // The agent's shared memory is its domain: the webhook and the CLI leave its pods alone.
      podMetadata: { annotations: { [INJECT_ANNOTATION]: 'false' } },
      serviceAccount: props.serviceAccount,
    });
    if (namespace) this.daemonSet.node.addDependency(namespace);
    const volume = this.delivery.usesCsi
      ? this.deliverByCsi(namespace, props, placement.everyNode)
      : this.deliverByHostPath(mounterImage);
    // A node-critical DaemonSet has a pod per node: far fewer than 10,000.
    const quota = priorityClassQuota(this.name, this.namespaceName, priorityClassName, 10_000);
    if (quota) {
      const quotaObject = new ApiObject(this, 'PriorityClassQuota', quota);
      if (namespace) quotaObject.node.addDependency(namespace);
      // Where the quota is required, pods of the class are refused until it exists: it comes first.
      for (const daemonSet of this.node.findAll().filter(c => c instanceof kplus.DaemonSet || (ApiObject.isApiObject(c) && c.kind === 'DaemonSet'))) {
        daemonSet.node.addDependency(quotaObject);
      }
    }
    for (const container of props.containers) this.addAgentContainer(container, volume, subject);

    if (placement.everyNode) {
      this.daemonSet.scheduling.tolerate(kplus.Node.tainted(kplus.NodeTaintQuery.any()));
    } else if (this.tolerations.length > 0) {
      this.daemonSet.scheduling.tolerate(kplus.Node.tainted(kplus.NodeTaintQuery.is(
        this.tolerations[0].key, this.tolerations[0].value, { effect: kplus.TaintEffect.NO_SCHEDULE })));
    }
    // cdk8s-plus has no field for these; its objects take patches in their typed (L1) form,
    // where the pod's `hostIPC` is `hostIpc` and an IntOrString is `{ value }`.
    const daemonSetObject = ApiObject.of(this.daemonSet);
    daemonSetObject.addJsonPatch(
      JsonPatch.add('/spec/template/spec/priorityClassName', priorityClassName),
      JsonPatch.add('/spec/template/spec/nodeSelector', this.nodeSelector()),
      // One node at a time; no surge, so two agents never run side by side on one domain.
      JsonPatch.add('/spec/updateStrategy', { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: { value: 1 }, maxSurge: { value: 0 } } }),
    );
    if (this.systemV) {
      daemonSetObject.addJsonPatch(JsonPatch.add('/spec/template/spec/hostIpc', true));
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

    this.node.addValidation({ validate: () => this.validateAgent(props.createNamespace ?? true) });
  }

  /**
   * Things worth knowing about this agent's security and limits (also printed at synthesis).
   */
  public get warnings(): string[] {
    return [...this._warnings];
  }

  /**
   * Connects a cdk8s-plus workload (Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod) to
   * the agent: mounts the domain in the chosen containers (an inline csi volume of the agent's
   * driver, or with the hostPath delivery a hostPath volume with HostToContainer propagation),
   * makes the workload's namespace and ServiceAccount a tenant of the CSI plugin, sets `hostIPC`
   * if System V is on, and makes the pods land only on nodes where the agent runs (node selector
   * and toleration). Checked at synthesis against the final workload.
   *
   * @param workload the business workload
   * @param options which containers, where, under what volume name
   */
  public share(workload: kplus.AbstractPod, options: SharedMemoryShareOptions = {}): void {
    if (workload === this.daemonSet) throw new Error(`${this.describe()} cannot share with its own DaemonSet`);
    const apiObject = ApiObject.of(workload);
    this.bind(apiObject, `${apiObject.kind} '${workload.node.id}'`, options);
  }

  /**
   * `share()` for any API object with a pod template (imported with `Include` or `Helm`, or an L1
   * `KubeDeployment`, for instance).
   *
   * @param apiObject the business workload
   * @param options which containers, where, under what volume name
   */
  public shareApiObject(apiObject: ApiObject, options: SharedMemoryShareOptions = {}): void {
    this.bind(apiObject, `${apiObject.kind} '${apiObject.node.id}'`, options);
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
      throw new Error(`'volumeName' (${JSON.stringify(options.volumeName)}) of share() for ${subject} must be a DNS-1123 label`);
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
    for (const warning of this._warnings) console.warn(`[${this.node.path}] Warning: ${warning}`);
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
      : "turn 'systemV' off (POSIX shared memory through the CSI volume needs no change to the namespace)";
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
  private deliverByCsi(namespace: kplus.Namespace | undefined, props: SharedMemoryAgentProps, everyNode: boolean): kplus.Volume {
    const options = this.delivery._options ?? {};
    const agentTenant: Tenant = { namespace: this.namespaceName, serviceAccount: props.serviceAccount?.name ?? 'default' };
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
      registrarImage: options.registrarImage ?? DEFAULT_REGISTRAR_IMAGE,
      kubeletDir: checkMountPath(options.kubeletDir ?? DEFAULT_KUBELET_DIR, 'kubeletDir', `AgentDelivery.csi() of ${this.describe()}`),
    });
    if (namespace) plugin.node.addDependency(namespace);
    // The driver first: an agent pod would only wait for it, but the manifest reads in order.
    this.daemonSet.node.addDependency(plugin);
    return kplus.Volume.fromCsi(this, 'Domain', this.csiDriverName!, {
      name: this.volumeName(),
      attributes: { [DOMAIN_ATTRIBUTE]: this.name },
    });
  }

  /** A hostPath volume of the domain directory, and the init container that prepares it. */
  private deliverByHostPath(mounterImage: string): kplus.Volume {
    const volume = kplus.Volume.fromHostPath(this, 'Domain', this.volumeName(), {
      path: this.hostPath,
      type: kplus.HostPathVolumeType.DIRECTORY_OR_CREATE,
    });
    this.addMounterTo(this.daemonSet, volume, mounterImage);
    return volume;
  }

  /** The only privileged container: it mounts the tmpfs and exits. */
  private addMounterTo(daemonSet: kplus.DaemonSet, volume: kplus.Volume, image: string): void {
    const small: kplus.ContainerResources = {
      cpu: { request: kplus.Cpu.millis(10), limit: kplus.Cpu.millis(100) },
      memory: { request: Size.mebibytes(16), limit: Size.mebibytes(16) },
    };
    if (this.domain.dedicatedTmpfs) {
      daemonSet.addInitContainer({
        name: 'mount-tmpfs',
        image,
        command: ['/bin/sh', '-c', tmpfsMounterScript(this.domain._sizeBytes!)],
        resources: small,
        // mount(2) and Bidirectional propagation both need a privileged container.
        securityContext: { privileged: true, allowPrivilegeEscalation: true, ensureNonRoot: false, user: 0, group: 0, readOnlyRootFilesystem: true },
        volumeMounts: [{ volume, path: DOMAIN_CONTAINER_PATH, propagation: kplus.MountPropagation.BIDIRECTIONAL }],
      });
    } else {
      daemonSet.addInitContainer({
        name: 'prepare-domain',
        image,
        command: ['/bin/sh', '-c', hostShmPreparerScript()],
        resources: small,
        // Root owns the directory the kubelet created, and an owner needs no capability to chmod.
        securityContext: {
          ensureNonRoot: false,
          user: 0,
          group: 0,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: [kplus.Capability.ALL] },
        },
        volumeMounts: [{ volume, path: DOMAIN_CONTAINER_PATH }],
      });
    }
  }

  private addAgentContainer(props: kplus.ContainerProps, volume: kplus.Volume, subject: string): void {
    const name = props.name ?? '(unnamed)';
    if (!props.resources) {
      throw new Error(`agent container '${name}' of ${subject} has no 'resources': set cpu and memory explicitly `
        + '(cdk8s-plus would silently give it 512Mi-2Gi of memory); the memory limit must also cover the shared-memory pages it writes');
    }
    if (props.securityContext?.privileged) {
      throw new Error(`agent container '${name}' of ${subject} is privileged: only the init container that mounts the tmpfs is; `
        + "add the capabilities it needs under 'securityContext.capabilities' instead");
    }
    const container = this.daemonSet.addContainer({
      ...props,
      securityContext: { capabilities: { drop: [kplus.Capability.ALL] }, ...props.securityContext },
    });
    container.mount(this.mountPath, volume, this.delivery.usesCsi ? {} : { propagation: kplus.MountPropagation.HOST_TO_CONTAINER });
  }
}
