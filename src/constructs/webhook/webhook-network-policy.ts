/**
 * Options for the webhook's NetworkPolicy.
 */
export interface WebhookNetworkPolicyOptions {
  /**
   * Where the API servers connect from, as CIDRs: only these may reach the serving port. Include
   * every control-plane address (and, where the API server goes through a proxy such as
   * konnectivity, the proxy's). The kubelet's probes come from the node and are not affected by
   * most network plugins.
   *
   * @default - any address, on the serving port only
   */
  readonly apiServerCidrs?: string[];

  /**
   * Ports the server may reach the API server on (self-managed TLS only: it writes its Secret
   * and caBundle). The `kubernetes` Service's port is translated to the control plane's before
   * the policy is applied, so list that one.
   *
   * @default [443, 6443]
   */
  readonly apiServerPorts?: number[];

  /**
   * Namespaces (by name) whose pods may scrape `/metrics` on the metrics port.
   *
   * @default - none: the metrics port is closed to every pod
   */
  readonly metricsNamespaces?: string[];
}

/**
 * Whether the webhook's pods get a NetworkPolicy, and which one.
 */
export class WebhookNetworkPolicy {
  /** No NetworkPolicy: whatever the namespace's policies allow. */
  public static none(): WebhookNetworkPolicy {
    return new WebhookNetworkPolicy(undefined);
  }

  /**
   * Ingress only on the serving port (from `apiServerCidrs`) and on the metrics port (from
   * `metricsNamespaces`); egress only to the API server (limitFollows reads LimitRanges and
   * ResourceQuotas, self-managed TLS its Secret and webhook configuration). The
   * server resolves no names (it reaches the API server by the address in
   * `KUBERNETES_SERVICE_HOST`), so no DNS is allowed either.
   */
  public static restrict(options: WebhookNetworkPolicyOptions = {}): WebhookNetworkPolicy {
    return new WebhookNetworkPolicy(options ?? {});
  }

  private constructor(/** @internal */ public readonly _options: WebhookNetworkPolicyOptions | undefined) {}
}
