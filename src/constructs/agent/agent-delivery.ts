/**
 * A namespace, or one ServiceAccount in a namespace, whose pods may mount an agent's domain.
 */
export interface AgentTenant {
  /**
   * The namespace.
   */
  readonly namespace: string;

  /**
   * Only pods that run as this ServiceAccount.
   *
   * @default - any ServiceAccount of the namespace
   */
  readonly serviceAccount?: string;
}

/**
 * Options for `AgentDelivery.csi()`.
 */
export interface CsiDeliveryOptions {
  /**
   * The CSI driver name: the `CSIDriver` object's, and the one business pods' inline volumes name.
   * At most 63 characters forming (lower-cased) a DNS-1123 subdomain.
   *
   * @default - `<agent name>.cdk8s-shm.io`
   */
  readonly driverName?: string;

  /**
   * More pods that may mount the domain. The plugin always admits the agent's own pods and, for
   * every workload connected with `share()`, its namespace and ServiceAccount; add tenants here
   * for workloads deployed from elsewhere.
   *
   * @default - only the agent and the workloads connected with `share()`
   */
  readonly tenants?: AgentTenant[];

  /**
   * The Node.js image that runs the plugin bundled in this package (from a ConfigMap). It also
   * needs `mount` and `umount` (busybox has both); pin it, by digest if you can.
   *
   * @default "docker.io/library/node:24.19.0-alpine3.24"
   */
  readonly nodeImage?: string;

  /**
   * The kubelet's root directory (its `--root-dir`): where it asks for pod volumes and looks for
   * plugins.
   *
   * @default "/var/lib/kubelet"
   */
  readonly kubeletDir?: string;
}

/**
 * How the agent's domain reaches the business pods (and the agent's own).
 */
export class AgentDelivery {
  /**
   * A CSI node plugin of this package publishes the domain as an inline `csi` volume, only into
   * pods of the agent's tenants. Pod Security `restricted` allows such volumes, so business
   * namespaces keep their level. The default.
   *
   * @param options driver name, more tenants, images
   */
  public static csi(options: CsiDeliveryOptions = {}): AgentDelivery {
    return new AgentDelivery(true, options);
  }

  /**
   * A hostPath volume of the domain directory, for clusters where no CSI driver may be installed.
   * Less safe: every namespace that shares with the agent must run Pod Security `privileged`,
   * where anyone who may create pods can become root on the node, and any pod of any privileged
   * namespace can mount the domain.
   */
  public static hostPath(): AgentDelivery {
    return new AgentDelivery(false, undefined);
  }

  /**
   * True when the domain is delivered by the CSI node plugin.
   */
  public readonly usesCsi: boolean;

  /** @internal */
  public readonly _options?: CsiDeliveryOptions;

  private constructor(csi: boolean, options: CsiDeliveryOptions | undefined) {
    this.usesCsi = csi;
    this._options = options;
  }
}
