/**
 * Prometheus metrics in the text exposition format (version 0.0.4), without a client library:
 * the server ships as one small file, and counters, one gauge family and one histogram are all it
 * needs. Every label value comes from a bounded set (outcomes, skip reasons, HTTP codes), never
 * from the request, so the series count stays fixed whatever clients send.
 */

type Labels = Record<string, string>;

interface Metric {
  render(): string[];
}

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  const escape = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return `{${entries.map(([key, value]) => `${key}="${escape(value)}"`).join(',')}}`;
}

function header(name: string, help: string, type: string): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
}

/** A monotonically increasing count per label set. */
export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(readonly name: string, private readonly help: string) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels)) ?? 0;
  }

  render(): string[] {
    return [...header(this.name, this.help, 'counter'), ...[...this.values].map(([labels, value]) => `${this.name}${labels} ${value}`)];
  }
}

/** A value that goes up and down. */
export class Gauge implements Metric {
  private readonly values = new Map<string, number>();
  constructor(readonly name: string, private readonly help: string) {}

  set(value: number, labels: Labels = {}): void {
    this.values.set(labelText(labels), value);
  }

  get(labels: Labels = {}): number | undefined {
    return this.values.get(labelText(labels));
  }

  render(): string[] {
    return [...header(this.name, this.help, 'gauge'), ...[...this.values].map(([labels, value]) => `${this.name}${labels} ${value}`)];
  }
}

/** Observations counted into cumulative buckets, with their sum and count. */
export class Histogram implements Metric {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(readonly name: string, private readonly help: string, private readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    this.buckets.forEach((bound, i) => {
      if (value <= bound) this.counts[i]++;
    });
  }

  render(): string[] {
    return [
      ...header(this.name, this.help, 'histogram'),
      ...this.buckets.map((bound, i) => `${this.name}_bucket{le="${bound}"} ${this.counts[i]}`),
      `${this.name}_bucket{le="+Inf"} ${this.count}`,
      `${this.name}_sum ${this.sum}`,
      `${this.name}_count ${this.count}`,
    ];
  }
}

/** The webhook's metrics. */
export class WebhookMetrics {
  readonly admissionRequests = new Counter('cdk8s_shm_admission_requests_total',
    'AdmissionReview requests answered, by outcome (inject, update, unchanged, skip, deny, ignored, error, bad-request) and reason.');
  /** Admission takes milliseconds; the buckets reach the API server's 10 s default timeout. */
  readonly admissionDuration = new Histogram('cdk8s_shm_admission_duration_seconds',
    'Time from receiving a /mutate request to sending its answer.',
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  readonly httpErrors = new Counter('cdk8s_shm_http_errors_total', 'HTTP responses with a 4xx or 5xx status, by code.');
  readonly certificateReloads = new Counter('cdk8s_shm_certificate_reloads_total', 'Serving certificates loaded after the first one.');
  readonly certificateReloadFailures = new Counter('cdk8s_shm_certificate_reload_failures_total',
    'Certificate changes that could not be loaded (the previous certificate stays in use).');
  readonly certificateNotAfter = new Gauge('cdk8s_shm_certificate_not_after_seconds', 'Expiry of the serving certificate in use, as a Unix time.');
  readonly inFlight = new Gauge('cdk8s_shm_admission_in_flight', 'Admission requests being answered now.');
  readonly connectionsRefused = new Counter('cdk8s_shm_connections_refused_total',
    'Connections closed at accept, by the limit they were over (total, or per client address).');
  readonly tlsHandshakeFailures = new Counter('cdk8s_shm_tls_handshake_failures_total', 'TLS handshakes that failed or timed out.');
  readonly openConnections = new Gauge('cdk8s_shm_open_connections', 'Connections open now, with a request or not.');
  /** Read at each scrape: what a memory limit would count, and what of it the JavaScript heap holds. */
  readonly residentMemory = new Gauge('process_resident_memory_bytes', 'Resident memory size in bytes.');
  readonly heapUsed = new Gauge('nodejs_heap_size_used_bytes', 'JavaScript heap in use, in bytes.');
  readonly externalMemory = new Gauge('nodejs_external_memory_bytes', 'Memory of C++ objects bound to JavaScript (buffers, TLS), in bytes.');

  constructor() {
    this.inFlight.set(0);
    this.openConnections.set(0);
    this.certificateReloads.inc({}, 0);
    this.tlsHandshakeFailures.inc({}, 0);
  }

  render(): string {
    const memory = process.memoryUsage();
    this.residentMemory.set(memory.rss);
    this.heapUsed.set(memory.heapUsed);
    this.externalMemory.set(memory.external);
    const all: Metric[] = [this.admissionRequests, this.admissionDuration, this.httpErrors, this.certificateReloads,
      this.certificateReloadFailures, this.certificateNotAfter, this.inFlight, this.connectionsRefused, this.tlsHandshakeFailures,
      this.openConnections, this.residentMemory, this.heapUsed, this.externalMemory];
    return all.flatMap(metric => metric.render()).join('\n') + '\n';
  }
}
