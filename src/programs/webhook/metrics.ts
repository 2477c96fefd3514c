/**
 * The webhook's metrics, in the Prometheus text exposition format (0.0.4) written by prom-client
 * (bundled; BENCHMARKS.md, "Libraries in the programs", has what it costs at start and per
 * request). Every label value comes from a bounded set (outcomes, skip reasons, HTTP codes), never
 * from the request, so the series count stays fixed whatever clients send.
 */
import type * as PromClient from 'prom-client';

// The metric classes from their own modules: the package's entry also loads its cluster
// aggregator, push gateway client, default metrics and summaries (with OpenTelemetry's API), which
// made 67 KB of the bundle and 40 ms of the start; these four are 14 KB and 10 ms.
/* eslint-disable @typescript-eslint/no-require-imports */
const Counter: typeof PromClient.Counter = require('prom-client/lib/counter');
const Gauge: typeof PromClient.Gauge = require('prom-client/lib/gauge');
const Histogram: typeof PromClient.Histogram = require('prom-client/lib/histogram');
const Registry: typeof PromClient.Registry = require('prom-client/lib/registry');
/* eslint-enable @typescript-eslint/no-require-imports */

/** The webhook's metrics, in a registry of their own (no process-wide default registry). */
export class WebhookMetrics {
  private readonly registry = new Registry();
  readonly admissionRequests = new Counter({
    name: 'cdk8s_shm_admission_requests_total',
    help: 'AdmissionReview requests answered, by outcome (inject, update, unchanged, skip, deny, resize, ignored, error, bad-request) and reason.',
    labelNames: ['outcome', 'reason'] as const,
    registers: [this.registry],
  });
  /** Admission takes milliseconds; the buckets reach the API server's 10 s default timeout. */
  readonly admissionDuration = new Histogram({
    name: 'cdk8s_shm_admission_duration_seconds',
    help: 'Time from receiving a /mutate request to sending its answer.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly httpErrors = new Counter({
    name: 'cdk8s_shm_http_errors_total', help: 'HTTP responses with a 4xx or 5xx status, by code.', labelNames: ['code'] as const, registers: [this.registry],
  });
  readonly certificateReloads = new Counter({
    name: 'cdk8s_shm_certificate_reloads_total', help: 'Serving certificates loaded after the first one.', registers: [this.registry],
  });
  readonly certificateReloadFailures = new Counter({
    name: 'cdk8s_shm_certificate_reload_failures_total',
    help: 'Certificate changes that could not be loaded (the previous certificate stays in use).',
    registers: [this.registry],
  });
  readonly certificateNotAfter = new Gauge({
    name: 'cdk8s_shm_certificate_not_after_seconds', help: 'Expiry of the serving certificate in use, as a Unix time.', registers: [this.registry],
  });
  readonly inFlight = new Gauge({ name: 'cdk8s_shm_admission_in_flight', help: 'Admission requests being answered now.', registers: [this.registry] });
  readonly connectionsRefused = new Counter({
    name: 'cdk8s_shm_connections_refused_total',
    help: 'Connections closed at accept, by the limit they were over (total, or per client address).',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });
  readonly tlsHandshakeFailures = new Counter({
    name: 'cdk8s_shm_tls_handshake_failures_total', help: 'TLS handshakes that failed or timed out.', registers: [this.registry],
  });
  readonly openConnections = new Gauge({ name: 'cdk8s_shm_open_connections', help: 'Connections open now, with a request or not.', registers: [this.registry] });

  /** The content type of `render()`'s text. */
  readonly contentType = this.registry.contentType;

  constructor() {
    // Read at each scrape: what a memory limit would count, and what of it the JavaScript heap
    // holds. Named as prom-client's default metrics name them; those are not collected, because
    // their event loop and GC observers would run under every request.
    const memory = (name: string, help: string, read: (usage: NodeJS.MemoryUsage) => number) =>
      new Gauge({ name, help, registers: [this.registry], collect() { this.set(read(process.memoryUsage())); } });
    memory('process_resident_memory_bytes', 'Resident memory size in bytes.', usage => usage.rss);
    memory('nodejs_heap_size_used_bytes', 'JavaScript heap in use, in bytes.', usage => usage.heapUsed);
    memory('nodejs_external_memory_bytes', 'Memory of C++ objects bound to JavaScript (buffers, TLS), in bytes.', usage => usage.external);
  }

  /** The exposition text of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}

/** A metric's current value for one label set (0 before the first event), for tests and logs. */
export async function metricValue(
  metric: PromClient.Counter<string> | PromClient.Gauge<string>, labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await metric.get();
  const wanted = Object.entries(labels);
  const sample = values.find(v => wanted.every(([key, value]) => v.labels[key] === value) && Object.keys(v.labels).length === wanted.length);
  return sample?.value ?? 0;
}
