/**
 * Options for certificates issued by cert-manager.
 */
export interface CertManagerTlsOptions {
  /**
   * Name of an existing cert-manager Issuer (in the webhook's namespace) or ClusterIssuer.
   *
   * @default - a self-signed Issuer is created next to the webhook
   */
  readonly issuerName?: string;

  /**
   * Kind of `issuerName`: `Issuer` or `ClusterIssuer`.
   *
   * @default "Issuer"
   */
  readonly issuerKind?: string;
}

/**
 * Options for a certificate the user provides.
 */
export interface ProvidedTlsOptions {
  /**
   * A `kubernetes.io/tls` Secret in the webhook's namespace, holding `tls.crt` and `tls.key` for the
   * webhook Service's DNS name (`<name>.<namespace>.svc`).
   */
  readonly secretName: string;

  /**
   * PEM of the CA that signed the certificate; the API server trusts the webhook through it.
   */
  readonly caBundle: string;
}

/** @internal */
export type TlsModeName = 'self-managed' | 'cert-manager' | 'provided';

/**
 * Where the webhook's serving certificate comes from.
 */
export class WebhookTls {
  /**
   * The server creates a CA and a serving certificate at start, stores them in a Secret the
   * construct pre-creates, writes the CA into its own MutatingWebhookConfiguration and renews
   * before expiry. Nothing else to install; RBAC is limited to those two objects by name.
   *
   * GitOps tools that own the MutatingWebhookConfiguration must ignore `caBundle`.
   */
  public static selfManaged(): WebhookTls {
    return new WebhookTls('self-managed', undefined, undefined);
  }

  /**
   * cert-manager issues the certificate (a `Certificate` in the webhook's namespace) and its CA
   * injector writes `caBundle`. Requires cert-manager in the cluster.
   */
  public static certManager(options: CertManagerTlsOptions = {}): WebhookTls {
    return new WebhookTls('cert-manager', options, undefined);
  }

  /**
   * A certificate the user manages: an existing TLS Secret and the CA that signed it.
   */
  public static provided(options: ProvidedTlsOptions): WebhookTls {
    return new WebhookTls('provided', undefined, options);
  }

  private constructor(
    /** @internal */ public readonly _mode: TlsModeName,
    /** @internal */ public readonly _certManager: CertManagerTlsOptions | undefined,
    /** @internal */ public readonly _provided: ProvidedTlsOptions | undefined,
  ) {}
}
