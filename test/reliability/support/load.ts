/**
 * A load of real AdmissionReviews, as kube-apiserver sends them: several keep-alive clients (and,
 * now and then, fresh connections), every answer checked (support/answers.ts). Used by the fault
 * and connection suites while they abuse the server.
 */
import fc from 'fast-check';
import { answerProblem } from './answers';
import { anyPod } from './arbitraries';
import { FuzzInput, expectedOf } from './fuzz-inputs';
import { seedFor } from './mode';
import { DEFAULT_MAX_BODY_BYTES } from '../../../src/contracts/webhook-flags';
import { loadFixtures, podCreateReview } from '../../programs/webhook/support/fixtures';
import { Answer, keepAliveAgent, send } from '../../programs/webhook/support/webhook-process';

/** Valid reviews to send under load: the fixtures and generated pods. */
const reviews: any[] = [
  ...loadFixtures().map(f => f.review),
  ...fc.sample(anyPod(), { seed: seedFor('load'), numRuns: 40 }).map(pod => podCreateReview(pod, 'x')),
];
let uids = 0;
/** The next review to send; its category is its uid. */
export function nextReview(): FuzzInput {
  const review = structuredClone(reviews[uids % reviews.length]);
  review.request.uid = `load-${++uids}`;
  return { category: review.request.uid, body: Buffer.from(JSON.stringify(review)) };
}

export interface LoadStats {
  answered: number;
  /** Connections closed before any response byte (the request was never taken). */
  refused: number;
  readonly answeredUids: Set<string>;
  readonly refusedUids: Set<string>;
  failures: string[];
  latenciesMs: number[];
}

/**
 * A loop of requests from `clients` workers until `stop()` says so. Each worker has its own
 * keep-alive connection; `freshEvery` > 0 makes every n-th request open a new connection (a new
 * TLS handshake). Every answer is checked; `tolerateRefusals` accepts connections closed before
 * any response byte (what a stopping server does to requests it never took).
 */
export interface LoadOptions {
  readonly clients: number;
  readonly stop: () => boolean;
  readonly freshEvery?: number;
  readonly tolerateRefusals?: () => boolean;
  readonly onAnswer?: (answer: Answer) => void;
  /** The source address of every connection (a second API server, say). @default the system's choice */
  readonly localAddress?: string;
}

export function runLoad(port: number, options: LoadOptions): { stats: LoadStats; done: Promise<void> } {
  const stats: LoadStats = { answered: 0, refused: 0, failures: [], latenciesMs: [], answeredUids: new Set(), refusedUids: new Set() };
  const worker = async () => {
    const agent = keepAliveAgent(1, options.localAddress);
    let n = 0;
    while (!options.stop()) {
      const input = nextReview();
      const expected = expectedOf(input, DEFAULT_MAX_BODY_BYTES);
      const fresh = options.freshEvery !== undefined && options.freshEvery > 0 && ++n % options.freshEvery === 0;
      const started = performance.now();
      try {
        const answer = await send(port, { body: input.body, agent: fresh ? false : agent, localAddress: options.localAddress, timeoutMs: 30_000 });
        stats.latenciesMs.push(performance.now() - started);
        const problem = answerProblem(expected, answer);
        if (problem) {stats.failures.push(problem);} else {
          stats.answered++;
          stats.answeredUids.add(input.category);
        }
        options.onAnswer?.(answer);
      } catch (error) {
        const e = error as NodeJS.ErrnoException & { partial?: boolean };
        if (!e.partial && options.tolerateRefusals?.()) {
          stats.refused++;
          stats.refusedUids.add(input.category);
          // The server is gone or going; a client would retry elsewhere.
          if (e.code === 'ECONNREFUSED') break;
        } else {
          stats.failures.push(`${e.partial ? 'answer cut off' : 'no answer'}: ${e.code} ${e.message}`);
        }
      }
    }
    agent.destroy();
  };
  const done = Promise.all(Array.from({ length: options.clients }, worker)).then(() => undefined);
  return { stats, done };
}

/** Resolves once the load has had `n` more answers. */
export async function answers(stats: LoadStats, n: number): Promise<void> {
  const target = stats.answered + stats.failures.length + n;
  while (stats.answered + stats.failures.length < target) await new Promise(resolve => setImmediate(resolve));
}

export function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
}
