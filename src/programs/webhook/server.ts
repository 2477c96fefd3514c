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
import { TlsMaterial } from './certificate-files';
import { CertificateSource, CertificateSourceOptions, openCertificateSource } from './certificate-source';
import { HANDSHAKE_TIMEOUT_MS, guardConnections } from './connections';
import type { KubeClientOptions } from './kube-client';
import { LimitGuard, LimitGuardOptions } from './limit-guard';
import { WebhookMetrics } from './metrics';
import { RouteContext, handleMetricsRequest, handleRequest } from './routes';
import { WebhookServerOptions } from '../../contracts/webhook-flags';
import { resolvePolicy } from '../../core';
import { Logger, createLogger } from '../shared/log';

export type { SelfManagedTuning } from './certificate-source';

/** The flags, plus what only a program (a test, a benchmark) sets. */
export interface StartOptions extends WebhookServerOptions, CertificateSourceOptions {
  /** Address to bind. @default every interface */
  readonly host?: string;
  /** @default JSON lines on stdout at `logLevel` */
  readonly logger?: Logger;
  /** How long `close()` lets in-flight requests finish before it cuts connections. @default 25 seconds */
  readonly drainTimeoutMs?: number;
  /** How `limitFollows` reads LimitRanges and ResourceQuotas. @default the in-cluster service account, 10 s per namespace */
  readonly limitGuard?: Omit<LimitGuardOptions, 'log' | 'kube'> & { readonly kube?: KubeClientOptions };
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

/** Loads the certificate, listens on the serving port (and the metrics port), then follows certificate changes. */
export async function startWebhookServer(options: StartOptions): Promise<RunningServer> {
  const log = options.logger ?? createLogger(options.logLevel);
  const policy = resolvePolicy(options.policy);
  const metrics = new WebhookMetrics();
  let server: https.Server | undefined;
  let draining = false;

  const certificates = await openCertificateSource(options, log, {
    onChange: (material, source) => {
      server?.setSecureContext({ ...TLS_OPTIONS, ...material });
      metrics.certificateReloads.inc();
      recordCertificate(material, source, true, metrics, log);
    },
    onReloadFailure: () => metrics.certificateReloadFailures.inc(),
  });
  recordCertificate(certificates.initial, options.tlsMode, false, metrics, log);

  const limitGuard = new LimitGuard({ ...options.limitGuard, log });
  const routes: RouteContext = {
    metrics,
    log,
    policy,
    limitGuard,
    maxBodyBytes: options.maxBodyBytes,
    draining: () => draining,
    notReady: () => certificates.notReady(),
  };
  server = createAdmissionServer(certificates.initial, routes, options);
  const metricsServer = await listenAll(server, routes, options).catch(error => {
    certificates.stop();
    certificates.close();
    limitGuard.close();
    throw error;
  });
  certificates.start();

  const port = (server.address() as AddressInfo).port;
  const boundMetricsPort = metricsServer ? (metricsServer.address() as AddressInfo).port : undefined;
  log.info('listening', { port, metricsPort: boundMetricsPort, tlsMode: options.tlsMode, podSelection: policy.podSelection, podsWithoutLimit: policy.podsWithoutLimit });
  const close = drainOnce(server, metricsServer, [certificates, limitGuard], log, options.drainTimeoutMs ?? 25_000, () => {
    draining = true;
  });
  return { port, metricsPort: boundMetricsPort, metrics, close };
}

/** Records the certificate now served: its expiry as a metric, and a log line. */
function recordCertificate(material: TlsMaterial, source: string, reload: boolean, metrics: WebhookMetrics, log: Logger): void {
  try {
    const certificate = new X509Certificate(material.cert);
    metrics.certificateNotAfter.set(Math.floor(Date.parse(certificate.validTo) / 1000));
    log.info(reload ? 'reloaded the serving certificate' : 'loaded the serving certificate', { source, notAfter: certificate.validTo, serial: certificate.serialNumber });
  } catch {
    // createSecureContext accepted it, so it serves; only our bookkeeping could not read it.
  }
}

/** The HTTPS server of the admission routes, with its timeouts and connection limits. */
function createAdmissionServer(initial: TlsMaterial, routes: RouteContext, options: StartOptions): https.Server {
  const { metrics, log } = routes;
  const server = https.createServer({
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
  return server;
}

/** Listens on the serving port, then on the metrics port if one is asked for; leaves nothing listening if either fails. */
async function listenAll(server: https.Server, routes: RouteContext, options: StartOptions): Promise<http.Server | undefined> {
  await listen(server, options.port, options.host);
  if (options.metricsPort <= 0) return undefined;
  return startMetricsServer(routes, options.metricsPort, options.host).catch(error => {
    server.close();
    throw error;
  });
}

/**
 * The server's `close()`: stops taking connections, lets in-flight requests finish (cutting them
 * after the drain timeout), then releases the certificate source and the API client. Called twice, it drains once.
 */
function drainOnce(
  server: https.Server, metricsServer: http.Server | undefined, [certificates, limitGuard]: [CertificateSource, LimitGuard], log: Logger,
  drainTimeoutMs: number, startDraining: () => void,
): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= new Promise<void>(resolve => {
      startDraining();
      certificates.stop();
      log.info('draining: no new connections; finishing requests in flight');
      const force = setTimeout(() => {
        log.warn('drain timeout: closing the remaining connections');
        server.closeAllConnections();
      }, drainTimeoutMs);
      force.unref();
      // Scrapes have nothing in flight worth waiting for.
      metricsServer?.close();
      metricsServer?.closeAllConnections();
      server.close(() => {
        clearTimeout(force);
        certificates.close();
        limitGuard.close();
        log.info('stopped');
        resolve();
      });
      // Idle keep-alive connections have no request to finish.
      server.closeIdleConnections();
    });
    return closing;
  };
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
