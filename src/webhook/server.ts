/**
 * The admission webhook's HTTPS server: routes, limits, timeouts, certificate reloads and a
 * draining close. The decision itself is `reviewAdmission`'s; this file only moves bytes, counts
 * and logs.
 *
 * Built on Node's own `https` so that the whole server bundles into one small file.
 */
import { X509Certificate } from 'node:crypto';
import * as http from 'node:http';
import { IncomingMessage, ServerResponse } from 'node:http';
import * as https from 'node:https';
import { AddressInfo } from 'node:net';
import { resolvePolicy } from '../core';
import { jsonShapeProblem } from './body-shape';
import { CertificateFileWatcher, TlsMaterial, readTlsFiles } from './certificate-files';
import { HANDSHAKE_TIMEOUT_MS, guardConnections } from './connections';
import { KubeClient, KubeClientOptions, inClusterOptions } from './kube-client';
import { Logger, createLogger } from './log';
import { WebhookMetrics } from './metrics';
import { WebhookServerOptions } from './options';
import { AdmissionReviewResult, reviewAdmission } from './review';
import { SelfManagedTls, SelfManagedTlsOptions } from './self-managed-tls';

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
  }, (req, res) => handle(req, res));

  guardConnections(server, options, {
    onRefused: limit => metrics.connectionsRefused.inc({ limit }),
    onHttpError: status => metrics.httpErrors.inc({ code: String(status) }),
    onHandshakeFailure: error => {
      metrics.tlsHandshakeFailures.inc();
      log.debug('TLS handshake failed', { error });
    },
    onOpenConnections: open => metrics.openConnections.set(open),
  });

  function send(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
    if (status >= 400) metrics.httpErrors.inc({ code: String(status) });
    const headers: Record<string, string | number> = { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) };
    // While draining, every answer is the connection's last, so keep-alive connections end with it.
    if (draining) headers.Connection = 'close';
    res.writeHead(status, headers);
    res.end(body);
  }

  function sendMetrics(res: ServerResponse): void {
    send(res, 200, metrics.render(), 'text/plain; version=0.0.4; charset=utf-8');
  }

  /** The metrics port serves `GET /metrics` and nothing else, in plain HTTP. */
  function handleMetrics(req: IncomingMessage, res: ServerResponse): void {
    if ((req.url ?? '/').split('?')[0] !== '/metrics') {
      send(res, 404, 'not found\n');
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, 'use GET\n');
    } else {
      sendMetrics(res);
    }
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    if (path === '/mutate') {
      if (method !== 'POST') {
        res.setHeader('Allow', 'POST');
        send(res, 405, 'use POST\n');
        return;
      }
      mutate(req, res);
      return;
    }
    const routes: Record<string, () => void> = {
      '/healthz': () => send(res, 200, 'ok\n'),
      '/readyz': () => {
        if (draining) send(res, 503, 'draining\n');
        // Until the webhook configuration trusts our CA, every call the API server makes would fail.
        else if (selfManaged && !selfManaged.caBundlePublished) send(res, 503, 'waiting for the caBundle to be published\n');
        else send(res, 200, 'ok\n');
      },
      '/metrics': () => sendMetrics(res),
    };
    const route = routes[path];
    if (!route) {
      send(res, 404, 'not found\n');
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, 'use GET\n');
      return;
    }
    route();
  }

  function mutate(req: IncomingMessage, res: ServerResponse): void {
    const started = process.hrtime.bigint();
    metrics.inFlight.set((metrics.inFlight.get() ?? 0) + 1);
    let done = false;
    const finish = (result: Pick<AdmissionReviewResult, 'outcome' | 'reason'>, status: number, body: string, extra: Record<string, unknown> = {}) => {
      if (done) return;
      done = true;
      metrics.inFlight.set((metrics.inFlight.get() ?? 1) - 1);
      metrics.admissionRequests.inc({ outcome: result.outcome, reason: result.reason });
      if (status >= 400) {
        // The body is in by now (see `refusal`); a client that sends bad requests gets a fresh start.
        res.setHeader('Connection', 'close');
        log.warn('refused an admission request', { status, ...extra });
      }
      send(res, status, body, status === 200 ? 'application/json' : 'text/plain; charset=utf-8');
      metrics.admissionDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    };
    const refuse = (status: number, message: string) => finish({ outcome: 'bad-request', reason: '' }, status, `${message}\n`, { error: message });

    // A refusal decided before the whole body is in is sent once the rest has arrived, discarded
    // unread: answering and closing while the client still writes resets the connection, and the
    // client loses the answer with the reset (test/reliability/regressions/oversized-body-reset.json).
    // The request timeout bounds how long a client can keep sending.
    let refusal: { status: number; message: string } | undefined;
    const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const declared = Number(req.headers['content-length']);
    if (contentType !== '' && contentType !== 'application/json') {
      refusal = { status: 415, message: `Content-Type ${contentType} is not application/json` };
    } else if (declared > options.maxBodyBytes) {
      refusal = { status: 413, message: `the body (${declared} bytes) exceeds the ${options.maxBodyBytes}-byte limit` };
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (done || refusal) return;
      size += chunk.length;
      if (size > options.maxBodyBytes) {
        refusal = { status: 413, message: `the body exceeds the ${options.maxBodyBytes}-byte limit` };
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => {
      // The client went away; there is no one to answer.
      if (done) return;
      done = true;
      metrics.inFlight.set((metrics.inFlight.get() ?? 1) - 1);
    });
    req.on('end', () => {
      if (done) return;
      if (refusal) {
        refuse(refusal.status, refusal.message);
        return;
      }
      if (size === 0) {
        refuse(400, 'the body is empty; expected an AdmissionReview');
        return;
      }
      const raw = Buffer.concat(chunks);
      const shape = jsonShapeProblem(raw);
      if (shape) {
        refuse(400, `${shape}; expected an AdmissionReview`);
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        refuse(400, 'the body is not JSON; expected an AdmissionReview');
        return;
      }
      let result: AdmissionReviewResult;
      try {
        result = reviewAdmission(body, policy);
      } catch (error) {
        // reviewAdmission does not throw; if it ever does, the API server's failurePolicy decides.
        log.error('review failed', { error });
        finish({ outcome: 'error', reason: '' }, 500, 'internal error\n');
        return;
      }
      if (result.httpStatus !== 200 || !result.review) {
        refuse(400, result.error ?? 'not an AdmissionReview');
        return;
      }
      const fields = {
        uid: result.uid,
        pod: result.pod,
        outcome: result.outcome,
        reason: result.reason || undefined,
        size: result.plan?.size,
        dryRun: result.dryRun || undefined,
        message: result.plan?.message,
      };
      // A line per mutated pod was a third of the server's cost per request (BENCHMARKS.md), and it
      // repeats what is already recorded: the pod carries cdk8s-shm.io/size-limit, the API server's
      // audit log records every webhook patch, and /metrics counts outcomes. Denials stay visible.
      if (result.outcome === 'deny') log.info('admission', fields);
      else log.debug('admission', fields);
      finish(result, 200, JSON.stringify(result.review));
    });
  }

  await listen(server, options.port, options.host).catch(error => {
    selfManaged?.stop();
    kube?.close();
    throw error;
  });
  const port = (server.address() as AddressInfo).port;

  let metricsServer: http.Server | undefined;
  if (options.metricsPort > 0) {
    metricsServer = http.createServer({
      keepAliveTimeout: 30_000,
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: HEADERS_TIMEOUT_MS,
      connectionsCheckingInterval: 1_000,
    }, (req, res) => handleMetrics(req, res));
    // A scraper needs a connection or two; nobody needs hundreds.
    guardConnections(metricsServer, { maxConnections: 64, maxConnectionsPerClient: 16 }, {
      onRefused: limit => metrics.connectionsRefused.inc({ limit }),
      onHttpError: status => metrics.httpErrors.inc({ code: String(status) }),
      onHandshakeFailure: () => undefined,
      onOpenConnections: () => undefined,
    });
    await listen(metricsServer, options.metricsPort, options.host).catch(error => {
      server!.close();
      selfManaged?.stop();
      kube?.close();
      throw new Error(`cannot listen on --metrics-port ${options.metricsPort}: ${(error as Error).message}`);
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
  log.info('listening', { port, metricsPort: boundMetricsPort, tlsMode: options.tlsMode, selection: policy.selection, withoutLimit: policy.withoutLimit });

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
