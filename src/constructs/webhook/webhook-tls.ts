import { X509Certificate } from 'crypto';
import { propLabel } from '../common/language-names';

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

  /**
   * The namespace cert-manager runs in. It is never sent to the webhook: with
   * `failurePolicy: Fail`, a webhook waiting for its certificate would otherwise keep cert-manager
   * itself from starting.
   *
   * @default "cert-manager"
   */
  readonly namespace?: string;
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
   * The CA that signed the certificate, which the API server trusts the webhook through: PEM
   * (`-----BEGIN CERTIFICATE-----`, one or more), or the base64 of that PEM as the
   * `caBundle` field of a webhook configuration holds it.
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
    // JavaScript callers get no compile-time check of the required fields.
    const given = (options ?? {}) as Partial<ProvidedTlsOptions>;
    for (const field of ['secretName', 'caBundle'] as const) {
      if (typeof given[field] !== 'string' || given[field] === '') {
        throw new Error(`WebhookTls.provided() needs ${propLabel(field)}: ${field === 'secretName'
          ? 'the kubernetes.io/tls Secret in the webhook\'s namespace' : 'the PEM, or base64 PEM, of the CA that signed the certificate'}`);
      }
    }
    return new WebhookTls('provided', undefined, { secretName: given.secretName!, caBundle: caBundlePem(given.caBundle!) });
  }

  /** @internal */
  public get _caBundleBase64(): string | undefined {
    return this._provided && Buffer.from(this._provided.caBundle).toString('base64');
  }

  private constructor(
    /** @internal */ public readonly _mode: TlsModeName,
    /** @internal */ public readonly _certManager: CertManagerTlsOptions | undefined,
    /** @internal */ public readonly _provided: ProvidedTlsOptions | undefined,
  ) {}
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * The PEM of a caBundle given as PEM or as base64 of PEM; every certificate in it must parse.
 * Throws naming the field and what was found.
 */
function caBundlePem(caBundle: string): string {
  let pem = caBundle;
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    const compact = pem.replace(/\s+/g, '');
    const decoded = /^[A-Za-z0-9+/]+={0,2}$/.test(compact) ? Buffer.from(compact, 'base64').toString('utf8') : '';
    if (!decoded.includes('-----BEGIN CERTIFICATE-----')) {
      throw new Error(`${propLabel('caBundle')} of WebhookTls.provided() must be PEM (-----BEGIN CERTIFICATE-----) or the base64 of that PEM, as a webhook configuration's caBundle holds it`);
    }
    pem = decoded;
  }
  const certificates = pem.match(PEM_CERTIFICATE) ?? [];
  certificates.forEach((certificate, index) => {
    try {
      new X509Certificate(certificate);
    } catch (error) {
      throw new Error(`${propLabel('caBundle')} of WebhookTls.provided(): certificate ${index + 1} of ${certificates.length} does not parse (${(error as Error).message})`);
    }
  });
  if (certificates.length === 0) throw new Error(`${propLabel('caBundle')} of WebhookTls.provided() holds no complete PEM certificate`);
  return pem;
}
