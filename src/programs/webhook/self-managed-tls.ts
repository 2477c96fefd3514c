/**
 * Self-managed TLS: the server makes its own CA and serving certificate, keeps them in a Secret,
 * and writes the CA into the `caBundle` of its MutatingWebhookConfiguration, so a cluster without
 * cert-manager needs nothing else.
 *
 * The construct pre-creates the (empty) Secret, so RBAC grants only get/update on that one Secret
 * and get/patch on that one configuration, never create. Several replicas start at once: each
 * reads the Secret, and one that finds no usable certificate writes a new one with the
 * resourceVersion it read. The API server lets exactly one such write through and answers the
 * others 409 Conflict; they read again and adopt the winner's certificate, so all replicas serve
 * one certificate that the one caBundle trusts. Replicas poll the Secret (no watch, so no extra
 * RBAC verb) and reload when it changes; whichever replica first sees the certificate near expiry
 * renews it the same way.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { TlsMaterial } from './certificate-files';
import { KubeApiError, KubeClient } from './kube-client';
import { createCertificateAuthority, issueServingCertificate, splitPemCertificates } from './x509';
import { NamespacedName, SELF_MANAGED_BOOTSTRAP_TIMEOUT_MS, ServiceName } from '../../contracts/webhook-flags';
import { JsonObject, isObject, objectAt } from '../../core';
import { Logger } from '../shared/log';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The Secret's keys: the usual `kubernetes.io/tls` pair plus the CA that signs it. */
export const SECRET_KEYS = { caCert: 'ca.crt', caKey: 'ca.key', cert: 'tls.crt', key: 'tls.key' } as const;

/** While the caBundle is not in place the server is not ready; try again this soon. */
const UNPUBLISHED_RETRY_MS = 5_000;

/** How many times one round re-reads after losing a write race before it gives up until the next poll. */
const MAX_CONFLICTS = 5;

export interface SelfManagedTlsOptions {
  readonly client: KubeClient;
  readonly secret: NamespacedName;
  readonly webhookConfiguration: string;
  readonly service: ServiceName;
  readonly log: Logger;
  /** Called when the certificate in use changes after `bootstrap()`. */
  readonly onMaterial: (material: TlsMaterial) => void;
  /** @default 10 years */
  readonly caValidityMs?: number;
  /** @default 1 year */
  readonly servingValidityMs?: number;
  /** Renew a certificate this long before it expires. @default 30 days */
  readonly renewBeforeMs?: number;
  /** @default 60 seconds */
  readonly pollIntervalMs?: number;
  /** Give up starting after this long without a certificate. @default 2 minutes */
  readonly bootstrapTimeoutMs?: number;
  /** The clock, so tests can move it. @default () => new Date() */
  readonly now?: () => Date;
}

/** What the Secret holds, decoded. */
interface StoredTls {
  /** Every CA the webhook configuration should trust: the signing CA first, then a retiring one. */
  readonly caBundle: string;
  readonly caKey: string;
  readonly cert: string;
  readonly key: string;
}

type Verdict =
  | { readonly kind: 'usable' }
  | { readonly kind: 'renew-serving'; readonly why: string }
  | { readonly kind: 'renew-ca'; readonly why: string };

/** The DNS names the API server may use for the Service: it calls `name.namespace.svc`. */
export function serviceDnsNames(service: ServiceName): string[] {
  const { name, namespace } = service;
  return [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`];
}

export class SelfManagedTls {
  private stored?: StoredTls;
  private resourceVersion?: string;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private published = false;
  private readonly now: () => Date;
  private readonly caValidityMs: number;
  private readonly servingValidityMs: number;
  private readonly renewBeforeMs: number;

  constructor(private readonly options: SelfManagedTlsOptions) {
    this.now = options.now ?? (() => new Date());
    this.caValidityMs = options.caValidityMs ?? 3650 * DAY_MS;
    this.servingValidityMs = options.servingValidityMs ?? 365 * DAY_MS;
    this.renewBeforeMs = options.renewBeforeMs ?? 30 * DAY_MS;
    if (this.renewBeforeMs >= this.servingValidityMs || this.servingValidityMs > this.caValidityMs) {
      throw new Error('self-managed TLS needs renewBefore < serving validity <= CA validity');
    }
  }

  /** The certificate and key in use. */
  get material(): TlsMaterial | undefined {
    return this.stored && { cert: this.stored.cert, key: this.stored.key };
  }

  /** The resourceVersion of the Secret the certificate in use came from. */
  get secretResourceVersion(): string | undefined {
    return this.resourceVersion;
  }

  /** The PEM bundle the webhook configuration should trust. */
  get caBundle(): string | undefined {
    return this.stored?.caBundle;
  }

  /**
   * Whether the webhook configuration has held our CA since the last check. Until then the API
   * server cannot trust us, so the server reports itself not ready.
   */
  get caBundlePublished(): boolean {
    return this.published;
  }

  /**
   * Gets a usable certificate into the Secret (or adopts the one there) and the caBundle into the
   * webhook configuration. Retries API errors with backoff: RBAC and the Secret may be applied a
   * moment after the Deployment.
   */
  async bootstrap(): Promise<TlsMaterial> {
    const deadline = Date.now() + (this.options.bootstrapTimeoutMs ?? SELF_MANAGED_BOOTSTRAP_TIMEOUT_MS);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.syncSecret();
        break;
      } catch (error) {
        const hint = explain(error, this.options);
        if (Date.now() >= deadline || this.stopped) throw new Error(`self-managed TLS could not start: ${hint}`);
        this.options.log.warn('self-managed TLS: retrying', { attempt, error: hint });
        await sleep(Math.min(250 * 2 ** attempt, 10_000));
      }
    }
    // The server can serve without the caBundle in place (the API server will not trust it yet);
    // the next poll tries again, so this is no reason to stay down.
    await this.syncCaBundle().catch(error => this.options.log.warn('self-managed TLS: caBundle not updated yet', { error: explain(error, this.options) }));
    return this.material!;
  }

  /** Polls the Secret and the webhook configuration until `stop()`; soon again while the caBundle is not in place. */
  start(): void {
    const schedule = () => {
      if (this.stopped) return;
      const interval = this.options.pollIntervalMs ?? 60_000;
      this.timer = setTimeout(() => {
        this.sync()
          .catch(error => this.options.log.warn('self-managed TLS: sync failed; keeping the current certificate', { error: explain(error, this.options) }))
          .finally(schedule);
      }, this.published ? interval : Math.min(interval, UNPUBLISHED_RETRY_MS));
      this.timer.unref();
    };
    schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** One round: adopt a changed Secret or renew a certificate near expiry, then check the caBundle. */
  async sync(): Promise<void> {
    await this.syncSecret();
    await this.syncCaBundle();
  }

  private async syncSecret(): Promise<void> {
    const { namespace, name } = this.options.secret;
    for (let conflicts = 0; ; conflicts++) {
      const secret = await this.options.client.getSecret(namespace, name);
      const resourceVersion = objectAt(secret.metadata)?.resourceVersion;
      const stored = decode(secret);
      const verdict = stored ? this.judge(stored) : { kind: 'renew-ca' as const, why: 'the Secret holds no certificate yet' };
      if (verdict.kind === 'usable') {
        this.adopt(stored!, typeof resourceVersion === 'string' ? resourceVersion : undefined);
        return;
      }
      const next = this.issue(verdict.kind === 'renew-ca' ? undefined : stored, stored);
      const updated: JsonObject = { ...secret, data: { ...objectAt(secret.data), ...encode(next) } };
      delete updated.stringData;
      try {
        const written = await this.options.client.replaceSecret(namespace, name, updated);
        const writtenVersion = objectAt(written.metadata)?.resourceVersion;
        this.options.log.info('self-managed TLS: wrote a new certificate', {
          secret: `${namespace}/${name}`, why: verdict.why, notAfter: new X509Certificate(next.cert).validTo,
        });
        this.adopt(next, typeof writtenVersion === 'string' ? writtenVersion : undefined);
        return;
      } catch (error) {
        if (!(error instanceof KubeApiError && error.status === 409) || conflicts >= MAX_CONFLICTS) throw error;
        // Another replica wrote first: read again and, if its certificate is usable, adopt it.
        this.options.log.info('self-managed TLS: another replica wrote the Secret first; adopting its certificate', { secret: `${namespace}/${name}` });
      }
    }
  }

  private async syncCaBundle(): Promise<void> {
    const bundle = this.stored?.caBundle;
    if (!bundle) return;
    const name = this.options.webhookConfiguration;
    const configuration = await this.options.client.getMutatingWebhookConfiguration(name);
    const desired = Buffer.from(bundle).toString('base64');
    const webhooks = Array.isArray(configuration.webhooks) ? configuration.webhooks : [];
    // The configuration is ours by name: every webhook in it calls this server.
    const ops = webhooks.flatMap((webhook, index) => {
      if (!isObject(webhook) || !isObject(webhook.clientConfig) || webhook.clientConfig.caBundle === desired) return [];
      // The test pins the index to the webhook we looked at, should the list change in between.
      return [
        { op: 'test', path: `/webhooks/${index}/name`, value: webhook.name },
        { op: 'add', path: `/webhooks/${index}/clientConfig/caBundle`, value: desired },
      ];
    });
    if (ops.length === 0) {
      this.published = webhooks.length > 0;
      return;
    }
    this.published = false;
    await this.options.client.patchMutatingWebhookConfiguration(name, ops);
    this.published = true;
    this.options.log.info('self-managed TLS: updated the caBundle', { webhookConfiguration: name, webhooks: ops.length / 2 });
  }

  private adopt(stored: StoredTls, resourceVersion: string | undefined): void {
    const changed = this.stored !== undefined && (this.stored.cert !== stored.cert || this.stored.key !== stored.key);
    this.stored = stored;
    this.resourceVersion = resourceVersion;
    if (changed) this.options.onMaterial({ cert: stored.cert, key: stored.key });
  }

  /** Whether the stored certificates can serve now and for a while, for this Service. */
  private judge(stored: StoredTls): Verdict {
    const now = this.now().getTime();
    let ca: X509Certificate;
    let cert: X509Certificate;
    try {
      ca = new X509Certificate(splitPemCertificates(stored.caBundle)[0] ?? '');
      if (!ca.ca || !ca.checkPrivateKey(createPrivateKey(stored.caKey))) return { kind: 'renew-ca', why: 'the stored CA is not a CA or does not match its key' };
    } catch {
      return { kind: 'renew-ca', why: 'the stored CA does not parse' };
    }
    if (Date.parse(ca.validTo) - now < this.servingValidityMs) return { kind: 'renew-ca', why: `the CA expires ${ca.validTo}` };
    try {
      cert = new X509Certificate(stored.cert);
      if (!cert.checkPrivateKey(createPrivateKey(stored.key))) return { kind: 'renew-serving', why: 'the serving key does not match its certificate' };
    } catch {
      return { kind: 'renew-serving', why: 'the serving certificate does not parse' };
    }
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return { kind: 'renew-serving', why: 'the serving certificate is not signed by the CA' };
    const missing = serviceDnsNames(this.options.service).filter(dns => cert.checkHost(dns, { subject: 'never' }) === undefined);
    if (missing.length > 0) return { kind: 'renew-serving', why: `the serving certificate lacks ${missing.join(', ')}` };
    if (Date.parse(cert.validTo) - now <= this.renewBeforeMs) return { kind: 'renew-serving', why: `the serving certificate expires ${cert.validTo}` };
    return { kind: 'usable' };
  }

  /**
   * A serving certificate from the stored CA, or a new CA and one from it. A retiring CA stays in
   * the bundle while it is valid, so replicas still serving its certificate stay trusted until they
   * reload.
   */
  private issue(keepCa: StoredTls | undefined, previous: StoredTls | undefined): StoredTls {
    const now = this.now();
    let caCert: string;
    let caKey: string;
    let bundle: string[];
    if (keepCa) {
      bundle = splitPemCertificates(keepCa.caBundle);
      caCert = bundle[0];
      caKey = keepCa.caKey;
    } else {
      const ca = createCertificateAuthority({ commonName: `${this.options.service.name}-ca`, validityMs: this.caValidityMs, now });
      caCert = ca.certPem;
      caKey = ca.keyPem;
      const retiring = previous ? splitPemCertificates(previous.caBundle).slice(0, 1).filter(pem => stillValid(pem, now)) : [];
      bundle = [caCert, ...retiring];
    }
    const caExpiry = Date.parse(new X509Certificate(caCert).validTo);
    const serving = issueServingCertificate({ certPem: caCert, keyPem: caKey }, {
      commonName: `${this.options.service.name}.${this.options.service.namespace}.svc`,
      dnsNames: serviceDnsNames(this.options.service),
      // Never outlive the CA that signs it.
      validityMs: Math.min(this.servingValidityMs, caExpiry - now.getTime()),
      now,
    });
    return { caBundle: bundle.join(''), caKey, cert: serving.certPem, key: serving.keyPem };
  }
}

function stillValid(pem: string, now: Date): boolean {
  try {
    return Date.parse(new X509Certificate(pem).validTo) > now.getTime();
  } catch {
    return false;
  }
}

function decode(secret: JsonObject): StoredTls | undefined {
  const data = objectAt(secret.data) ?? {};
  const text = (key: string) => (typeof data[key] === 'string' ? Buffer.from(data[key] as string, 'base64').toString('utf8') : '');
  const stored = { caBundle: text(SECRET_KEYS.caCert), caKey: text(SECRET_KEYS.caKey), cert: text(SECRET_KEYS.cert), key: text(SECRET_KEYS.key) };
  return stored.caBundle && stored.caKey && stored.cert && stored.key ? stored : undefined;
}

function encode(stored: StoredTls): Record<string, string> {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  return {
    [SECRET_KEYS.caCert]: b64(stored.caBundle),
    [SECRET_KEYS.caKey]: b64(stored.caKey),
    [SECRET_KEYS.cert]: b64(stored.cert),
    [SECRET_KEYS.key]: b64(stored.key),
  };
}

/** The error, plus what to do about the usual ones. */
function explain(error: unknown, options: SelfManagedTlsOptions): string {
  if (error instanceof KubeApiError) {
    const secret = `${options.secret.namespace}/${options.secret.name}`;
    if (error.status === 404 && error.path.includes('/secrets/')) return `${error.message} (the Secret ${secret} must exist: the SharedMemoryWebhook construct creates it)`;
    if (error.status === 403) return `${error.message} (RBAC: the service account needs get/update on Secret ${secret} and get/patch on MutatingWebhookConfiguration ${options.webhookConfiguration})`;
  }
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}
