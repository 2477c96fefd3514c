/**
 * Where the serving certificate comes from, behind one interface, so that the server never
 * branches on the TLS mode (as cert-manager's webhook has its `CertificateSource`): files that
 * cert-manager or a user keeps current, or the self-managed CA in a Secret.
 *
 * The self-managed mode is loaded only when it is asked for: its certificate library is most of the
 * bundle's bytes, and evaluating it costs a server on files about a third of its start-up
 * (BENCHMARKS.md, "Libraries in the programs").
 */
import { CertificateFileWatcher, TlsMaterial, readTlsFiles } from './certificate-files';
import type { KubeClientOptions } from './kube-client';
import type { SelfManagedTlsOptions } from './self-managed-tls';
import { TlsMode, WebhookServerOptions } from '../../contracts/webhook-flags';
import { Logger } from '../shared/log';

/** Self-managed TLS timings; the defaults suit a cluster, tests shorten them. */
export type SelfManagedTuning = Pick<SelfManagedTlsOptions, 'caValidityMs' | 'servingValidityMs' | 'renewBeforeMs' | 'pollIntervalMs' | 'bootstrapTimeoutMs' | 'now'>;

/** What a certificate source reads besides the flags. */
export interface CertificateSourceOptions extends Pick<WebhookServerOptions, 'tlsMode' | 'tlsCert' | 'tlsKey' | 'tlsSecret' | 'webhookConfiguration' | 'service'> {
  /** How self-managed mode reaches the API server. @default the in-cluster service account */
  readonly kube?: KubeClientOptions;
  readonly selfManaged?: SelfManagedTuning;
  /** How often certificate files are re-read besides watching them. @default 10 seconds */
  readonly certificatePollIntervalMs?: number;
}

/** What the source tells the server as it runs. */
export interface CertificateEvents {
  /** A new certificate to serve, and where it came from (`files`, `secret`). */
  onChange(material: TlsMaterial, source: string): void;
  /** A change that could not be loaded; the current certificate stays. */
  onReloadFailure(error: Error): void;
}

export interface CertificateSource {
  /** The certificate to start with. */
  readonly initial: TlsMaterial;
  /** Starts following changes, once the server listens. */
  start(): void;
  /** Why the API server cannot trust the server yet, if it cannot. */
  notReady(): string | undefined;
  /** Stops following changes. */
  stop(): void;
  /** Releases connections, once the server has drained. */
  close(): void;
}

/**
 * Loads the first certificate of the mode the flags ask for.
 * @throws Error saying which files or which Secret could not give one
 */
export async function openCertificateSource(options: CertificateSourceOptions, log: Logger, events: CertificateEvents): Promise<CertificateSource> {
  return options.tlsMode === 'self-managed' ? openSelfManaged(options, log, events) : openFiles(options, log, events);
}

function openFiles(options: CertificateSourceOptions, log: Logger, events: CertificateEvents): CertificateSource {
  let initial: TlsMaterial;
  try {
    initial = readTlsFiles(options.tlsCert, options.tlsKey);
  } catch (error) {
    throw new Error(`cannot load the serving certificate from --tls-cert ${options.tlsCert} and --tls-key ${options.tlsKey}: ${(error as Error).message}`);
  }
  const watcher = new CertificateFileWatcher({
    certFile: options.tlsCert,
    keyFile: options.tlsKey,
    current: initial,
    pollIntervalMs: options.certificatePollIntervalMs,
    onChange: material => events.onChange(material, 'files'),
    onError: error => {
      events.onReloadFailure(error);
      log.warn('certificate files changed but do not load; keeping the current certificate', { error });
    },
  });
  return {
    initial,
    start: () => watcher.start(),
    notReady: () => undefined,
    stop: () => watcher.stop(),
    close: () => undefined,
  };
}

async function openSelfManaged(options: CertificateSourceOptions, log: Logger, events: CertificateEvents): Promise<CertificateSource> {
  // require(), not import: esbuild evaluates a module required inside a function when the call runs.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { KubeClient, inClusterOptions }: typeof import('./kube-client') = require('./kube-client');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SelfManagedTls }: typeof import('./self-managed-tls') = require('./self-managed-tls');
  const kube = new KubeClient(options.kube ?? inClusterOptions());
  const selfManaged = new SelfManagedTls({
    ...options.selfManaged,
    client: kube,
    secret: required(options.tlsSecret, '--tls-secret', options.tlsMode),
    webhookConfiguration: required(options.webhookConfiguration, '--webhook-configuration', options.tlsMode),
    service: required(options.service, '--service', options.tlsMode),
    log,
    onMaterial: material => events.onChange(material, 'secret'),
  });
  let initial: TlsMaterial;
  try {
    initial = await selfManaged.bootstrap();
  } catch (error) {
    kube.close();
    throw error;
  }
  return {
    initial,
    start: () => selfManaged.start(),
    // Until the webhook configuration trusts our CA, every call the API server makes would fail.
    notReady: () => (selfManaged.caBundlePublished ? undefined : 'waiting for the caBundle to be published'),
    stop: () => selfManaged.stop(),
    close: () => kube.close(),
  };
}

function required<T>(value: T | undefined, flag: string, mode: TlsMode): T {
  if (value === undefined) throw new Error(`--tls-mode ${mode} needs ${flag}`);
  return value;
}
