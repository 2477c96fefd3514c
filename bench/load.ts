/**
 * The load generator: autocannon's programmatic API, in the benchmark's own process (the servers
 * each have theirs), HTTP/1.1 keep-alive, one request in flight per connection.
 *
 * autocannon's own histogram records whole milliseconds, and a loopback admission call takes a
 * fraction of one, so latencies are taken from its per-response event (hrtime, sub-microsecond)
 * and the percentiles computed here.
 */
/// <reference path="./autocannon.d.ts" />
import autocannon from 'autocannon';
import { Payload } from './payloads';

export interface LoadResult {
  /** Answers with status 2xx per second. */
  readonly rps: number;
  /** Milliseconds. */
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  /** Connection errors, timeouts and non-2xx answers: anything but 0 spoils the run. */
  readonly failures: number;
}

export function runLoad(port: number, payload: Payload, connections: number, seconds: number): Promise<LoadResult> {
  let latencies = new Float64Array(65_536);
  let count = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon({
      url: `https://127.0.0.1:${port}/mutate`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: payload.body,
      connections,
      pipelining: 1,
      duration: seconds,
      timeout: 10,
    }, (error, result) => {
      if (error) {
        reject(error);
        return;
      }
      const sorted = latencies.subarray(0, count).sort();
      resolve({
        rps: count / result.duration,
        p50: percentile(sorted, 0.5),
        p99: percentile(sorted, 0.99),
        requests: count,
        failures: result.errors + result.timeouts + result.non2xx,
      });
    });
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      if (statusCode < 200 || statusCode > 299) return;
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count++] = responseTime;
    });
  });
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function median(values: readonly number[]): number {
  const sorted = values.filter(v => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
