/**
 * The admission webhook's HTTPS server: TLS, connection limits, timeouts, certificate reloads, the
 * metrics port and a draining close. What each request gets is routes.ts', and the decision
 * itself `reviewAdmission`'s; this file owns the sockets.
 *
 * Built on Node's own `https` so that the whole server bundles into one small file.
 */
import { X509Certificate } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { AddressInfo } from 'node:net';
import { CertificateFileWatcher, TlsMaterial, readTlsFiles } from './certificate-files';
import { HANDSHAKE_TIMEOUT_MS, guardConnections } from './connections';
import { KubeClient, KubeClientOptions, inClusterOptions } from './kube-client';
import { WebhookMetrics } from './metrics';
import { RouteContext, handleMetricsRequest, handleRequest } from './routes';
import { SelfManagedTls, SelfManagedTlsOptions } from './self-managed-tls';
import { WebhookServerOptions } from '../../contracts/webhook-flags';
import { resolvePolicy } from '../../core';
import { Logger, createLogger } from '../shared/log';

/** Self-managed TLS timings; the defaults suit a cluster, tests shorten them. */
export type SelfManagedTuning = Pick<SelfManagedTlsOptions, 'caValidityMs' | 'servingValidityMs' | 'renewBeforeMs' | 'pollIntervalMs' | 'bootstrapTimeoutMs' | 'now'>;

/** The flags, plus what only a program (a test, a benchmark) sets. */
export interface StartOptions extends WebhookServerOptions {
  /** Address to bind. @default every interface */
  readonly host?: string;
  /** @default JSON lines on stdout at `logLevel` */
  readonly logger?: Logger;
  /** How self-managed mode reaches the API server. @default the in-cluster service account */
  readonly kube?: KubeClientOptions;
  readonly selfManaged?: SelfManagedTuning;
  /** How often certificate files are re-read besides watching them. @default 10 seconds */
  readonly certificatePollIntervalMs?: number;
  /** How long `close()` lets in-flight requests finish before it cuts connections. @default 25 seconds */
  readonly drainTimeoutMs?: number;
}

export interface RunningServer {
  /** The port bound (the one asked for, or the one the system chose for port 0). */
  readonly port: number;
  /** The plain-HTTP metrics port bound, if one was asked for. */
  readonly metricsPort?: number;
  readonly metrics: WebhookMetrics;
  /** Stops accepting connections, lets in-flight requests finish, then resolves. */
  close(): Promise<void>;
}

/**
 * TLS 1.0 and 1.1 are deprecated (RFC 8996); the API server speaks 1.2 and 1.3. TLS 1.2 is held to
 * forward-secret AEAD suites (ECDHE with AES-GCM or ChaCha20-Poly1305), what Go offers first and
 * what Mozilla's "intermediate" profile keeps: no CBC, no static RSA key exchange. Every TLS 1.3
 * suite is AEAD.
 */
const TLS_OPTIONS = {
  minVersion: 'TLSv1.2' as const,
  ciphers: [
    'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
};

/**
 * The API server's webhook client keeps idle connections for 90 s (Go's transport default). The
 * side that closes an idle connection races the other side's next request on it, and a POST lost
 * that way is a failed admission call, so we keep idle connections longer and let the client close.
 */
const KEEP_ALIVE_TIMEOUT_MS = 120_000;
/** The API server sends headers at once; a client that dribbles them is not the API server. */
const HEADERS_TIMEOUT_MS = 10_000;
/** The API server gives up on a webhook after at most 30 s; no request needs longer. */
const REQUEST_TIMEOUT_MS = 30_000;

export async function startWebhookServer(options: StartOptions): Promise<RunningServer> {
  const log = options.logger ?? createLogger(options.logLevel);
  const policy = resolvePolicy(options.policy);
  const metrics = new WebhookMetrics();
  let draining = false;

  let kube: KubeClient | undefined;
  let selfManaged: SelfManagedTls | undefined;
  let watcher: CertificateFileWatcher | undefined;
  let server: https.Server | undefined;

  const useMaterial = (material: TlsMaterial, source: string) => {
    if (server) {
      server.setSecureContext({ ...TLS_OPTIONS, ...material });
      metrics.certificateReloads.inc();
    }
    try {
      const certificate = new X509Certificate(material.cert);
      metrics.certificateNotAfter.set(Math.floor(Date.parse(certificate.validTo) / 1000));
      log.info(server ? 'reloaded the serving certificate' : 'loaded the serving certificate', { source, notAfter: certificate.validTo, serial: certificate.serialNumber });
    } catch {
      // createSecureContext accepted it, so it serves; only our bookkeeping could not read it.
    }
  };

  let initial: TlsMaterial;
  if (options.tlsMode === 'self-managed') {
    kube = new KubeClient(options.kube ?? inClusterOptions());
    selfManaged = new SelfManagedTls({
      ...options.selfManaged,
      client: kube,
      secret: required(options.tlsSecret, '--tls-secret'),
      webhookConfiguration: required(options.webhookConfiguration, '--webhook-configuration'),
      service: required(options.service, '--service'),
      log,
      onMaterial: material => useMaterial(material, 'secret'),
    });
    try {
      initial = await selfManaged.bootstrap();
    } catch (error) {
      kube.close();
      throw error;
    }
  } else {
    try {
      initial = readTlsFiles(options.tlsCert, options.tlsKey);
    } catch (error) {
      throw new Error(`cannot load the serving certificate from --tls-cert ${options.tlsCert} and --tls-key ${options.tlsKey}: ${(error as Error).message}`);
    }
  }
  useMaterial(initial, options.tlsMode);

  server = https.createServer({
    ...TLS_OPTIONS,
    ...initial,
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    headersTimeout: HEADERS_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // Timeouts are checked on this period; the 30 s default would stretch them.
    connectionsCheckingInterval: 1_000,
  }, (req, res) => handleRequest(routes, req, res));

  guardConnections(server, options, {
    onRefused: limit => metrics.connectionsRefused.inc({ limit }),
    onHttpError: status => metrics.httpErrors.inc({ code: String(status) }),
    onHandshakeFailure: error => {
      metrics.tlsHandshakeFailures.inc();
      log.debug('TLS handshake failed', { error });
    },
    onOpenConnections: open => metrics.openConnections.set(open),
  });

  const routes: RouteContext = {
    metrics,
    log,
    policy,
    maxBodyBytes: options.maxBodyBytes,
    draining: () => draining,
    // Until the webhook configuration trusts our CA, every call the API server makes would fail.
    notReady: () => selfManaged && !selfManaged.caBundlePublished ? 'waiting for the caBundle to be published' : undefined,
  };

  await listen(server, options.port, options.host).catch(error => {
    selfManaged?.stop();
    kube?.close();
    throw error;
  });
  const port = (server.address() as AddressInfo).port;

  let metricsServer: http.Server | undefined;
  if (options.metricsPort > 0) {
    metricsServer = await startMetricsServer(routes, options.metricsPort, options.host).catch(error => {
      server!.close();
      selfManaged?.stop();
      kube?.close();
      throw error;
    });
  }

  if (selfManaged) {
    selfManaged.start();
  } else {
    watcher = new CertificateFileWatcher({
      certFile: options.tlsCert,
      keyFile: options.tlsKey,
      current: initial,
      pollIntervalMs: options.certificatePollIntervalMs,
      onChange: material => useMaterial(material, 'files'),
      onError: error => {
        metrics.certificateReloadFailures.inc();
        log.warn('certificate files changed but do not load; keeping the current certificate', { error });
      },
    });
    watcher.start();
  }
  const boundMetricsPort = metricsServer ? (metricsServer.address() as AddressInfo).port : undefined;
  log.info('listening', { port, metricsPort: boundMetricsPort, tlsMode: options.tlsMode, podSelection: policy.podSelection, podsWithoutLimit: policy.podsWithoutLimit });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>(resolve => {
      draining = true;
      watcher?.stop();
      selfManaged?.stop();
      log.info('draining: no new connections; finishing requests in flight');
      const force = setTimeout(() => {
        log.warn('drain timeout: closing the remaining connections');
        server!.closeAllConnections();
      }, options.drainTimeoutMs ?? 25_000);
      force.unref();
      // Scrapes have nothing in flight worth waiting for.
      metricsServer?.close();
      metricsServer?.closeAllConnections();
      server!.close(() => {
        clearTimeout(force);
        kube?.close();
        log.info('stopped');
        resolve();
      });
      // Idle keep-alive connections have no request to finish.
      server!.closeIdleConnections();
    });
    return closing;
  };

  return { port, metricsPort: boundMetricsPort, metrics, close };
}

/** The plain-HTTP server of `GET /metrics` alone, on a port of its own. */
async function startMetricsServer(routes: RouteContext, port: number, host: string | undefined): Promise<http.Server> {
  const metricsServer = http.createServer({
    keepAliveTimeout: 30_000,
    headersTimeout: HEADERS_TIMEOUT_MS,
    requestTimeout: HEADERS_TIMEOUT_MS,
    connectionsCheckingInterval: 1_000,
  }, (req, res) => handleMetricsRequest(routes, req, res));
  // A scraper needs a connection or two; nobody needs hundreds.
  guardConnections(metricsServer, { maxConnections: 64, maxConnectionsPerClient: 16 }, {
    onRefused: limit => routes.metrics.connectionsRefused.inc({ limit }),
    onHttpError: status => routes.metrics.httpErrors.inc({ code: String(status) }),
    onHandshakeFailure: () => undefined,
    onOpenConnections: () => undefined,
  });
  await listen(metricsServer, port, host).catch(error => {
    throw new Error(`cannot listen on --metrics-port ${port}: ${(error as Error).message}`);
  });
  return metricsServer;
}

/** Resolves once listening, rejects with the listen error (a port in use, say). */
function listen(server: http.Server | https.Server, port: number, host: string | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function required<T>(value: T | undefined, flag: string): T {
  if (value === undefined) throw new Error(`--tls-mode self-managed needs ${flag}`);
  return value;
}
