/**
 * Fuzzing the real server: the bundled webhook spawned with node under the heap limit the
 * SharedMemoryWebhook construct deploys it with, over real TLS and keep-alive connections, sent
 * malformed and mutated requests (support/fuzz-inputs.ts): truncated JSON, wrong types at every
 * field, huge strings and arrays, deep nesting, invalid quantities, missing uid, wrong kind,
 * binary garbage, odd HTTP, slow senders.
 *
 * Every answer must be a well-formed AdmissionReview echoing the uid whose patch applies, or a 4xx
 * with a body (support/answers.ts); never a 5xx, never a reset. Afterwards the process must still
 * run, /healthz answer, nothing be left in flight, and its RSS not have grown past a generous
 * bound over the RSS after a warm-up batch.
 *
 * Bounded in `npm test` (a few hundred inputs, fixed seed); `npm run fuzz` sends more than 10,000.
 */
import { answerProblem, describeInput } from './support/answers';
import { saveRegression } from './support/checks';
import { FuzzInput, FuzzInputs, expectedOf } from './support/fuzz-inputs';
import { FULL, report, scale, seedFor } from './support/mode';
import { DEFAULT_MAX_BODY_BYTES, WEBHOOK_NODE_FLAGS } from '../../src/contracts/webhook-flags';
import { WebhookProcess, keepAliveAgent, killAll, send, startWebhookProcess } from '../programs/webhook/support/webhook-process';

jest.setTimeout(FULL ? 1_800_000 : 90_000);

/** What SharedMemoryWebhook deploys in NODE_OPTIONS. */
export const PRODUCTION_NODE_ARGS = [...WEBHOOK_NODE_FLAGS];
const MIB = 1024 * 1024;

let webhook: WebhookProcess;
beforeAll(async () => {
  // Info level: the 'listening' line carries the port, and every refusal and injection is logged as in production.
  webhook = await startWebhookProcess(['--log-level', 'info'], PRODUCTION_NODE_ARGS);
});
afterAll(async () => {
  await webhook?.stop();
  killAll();
});

test('malformed and mutated requests: a review with the right uid or a 4xx, never a crash, a 5xx or unbounded memory', async () => {
  const seed = seedFor('fuzz-server');
  const total = scale(600, 12_000);
  const warmUp = Math.floor(total / 10);
  const inputs = new FuzzInputs(seed, DEFAULT_MAX_BODY_BYTES);
  const agent = keepAliveAgent(8);
  const failures: string[] = [];
  const inFlight = new Set<FuzzInput>();
  const statuses: Record<string, number> = {};
  let sent = 0;
  let rssAfterWarmUp = 0;
  let rssAtHalf = 0;
  let peakRss = 0;
  let died: string | undefined;
  void webhook.exited.then(status => {
    died = `the webhook exited ${JSON.stringify(status)} with these requests in flight:\n${[...inFlight].map(describeInput).join('\n')}\n${webhook.stderr().slice(-2_000)}`;
  });

  const record = (input: FuzzInput, problem: string) => {
    if (failures.length < 20) failures.push(`${problem}\n  input: ${describeInput(input)}`);
    if (FULL) saveRegression('server', { kind: 'server', description: `found by fuzz-server.test.ts (seed ${seed}): ${problem}`, bodyBase64: input.body.toString('base64') });
  };

  // The warm-up starts with the largest inputs, so that the RSS after it includes the peak a
  // 4 MiB body costs; growth past that would be memory kept from request to request.
  const largest = inputs.largest(16);
  const worker = async () => {
    while (sent < total && !died) {
      const index = sent++;
      const input = largest.shift() ?? inputs.next();
      const expected = expectedOf(input, DEFAULT_MAX_BODY_BYTES);
      inFlight.add(input);
      try {
        const answer = await send(webhook.port, {
          body: input.body,
          method: input.method,
          path: input.path,
          headers: input.headers,
          agent,
          pieces: input.pieces,
          delayMs: input.delayMs,
          timeoutMs: 60_000,
        });
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        const problem = answerProblem(expected, answer);
        if (problem) record(input, problem);
      } catch (error) {
        statuses.error = (statuses.error ?? 0) + 1;
        if (!died) record(input, `no answer: ${(error as NodeJS.ErrnoException).code ?? ''} ${(error as Error).message}`);
      } finally {
        inFlight.delete(input);
      }
      if (index === warmUp) rssAfterWarmUp = webhook.rss();
      if (index === Math.floor(total / 2)) rssAtHalf = webhook.rss();
      if (index % 50 === 0 && webhook.alive()) peakRss = Math.max(peakRss, webhook.rss());
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: 8 }, worker));
  agent.destroy();
  const seconds = (Date.now() - started) / 1000;
  if (died) throw new Error(`seed ${seed}: ${died}`);

  // Still alive and well: health, nothing stuck in flight.
  const health = await send(webhook.port, { path: '/healthz' });
  expect(health.status).toBe(200);
  const metrics = (await send(webhook.port, { path: '/metrics' })).body;
  expect(metrics).toMatch(/^cdk8s_shm_admission_in_flight 0$/m);
  const rssAfter = webhook.rss();

  report('fuzz-server', {
    seed,
    inputsSent: sent,
    seconds,
    categories: inputs.counts,
    statuses,
    failures: failures.length,
    rssAfterWarmUpMiB: Math.round(rssAfterWarmUp / MIB),
    rssAtHalfMiB: Math.round(rssAtHalf / MIB),
    rssAfterMiB: Math.round(rssAfter / MIB),
    peakRssMiB: Math.round(peakRss / MIB),
  });
  expect({ seed, failures }).toEqual({ seed, failures: [] });
  expect(sent).toBeGreaterThanOrEqual(total);
  // Unbounded growth would show as RSS far above the warm-up level; transient peaks from 4 MiB
  // bodies are allowed for, since V8 does not hand memory back at once.
  expect(rssAfter).toBeLessThan(rssAfterWarmUp * 1.5 + 64 * MIB);
  // The second half of the run may not add what the first did: a leak grows with the inputs.
  expect(rssAfter).toBeLessThan(rssAtHalf + 64 * MIB);
});
