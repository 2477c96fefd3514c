/**
 * Every input that ever broke a property or the server, kept as a file in regressions/ with what
 * broke and how it was fixed. Server inputs are sent to the real bundled process (under the
 * production heap limit) and must get a correct answer; plan and construct inputs must keep the
 * core's properties. The fuzz and property suites save new finds here in full mode.
 */
import { readFileSync, readdirSync } from 'fs';
import * as path from 'path';
import { answerProblem } from './support/answers';
import { REGRESSION_DIR, Regression, checkConstructMatchesPatch, checkPlan, regressionBody } from './support/checks';
import { expectedOf } from './support/fuzz-inputs';
import { report } from './support/mode';
import { DEFAULT_MAX_BODY_BYTES, WEBHOOK_NODE_FLAGS } from '../../src/contracts/webhook-flags';
import { WebhookProcess, keepAliveAgent, killAll, send, startWebhookProcess } from '../programs/webhook/support/webhook-process';

jest.setTimeout(60_000);

const regressions: Array<[string, Regression]> = readdirSync(REGRESSION_DIR)
  .filter(file => file.endsWith('.json')).sort()
  .map(file => [file, JSON.parse(readFileSync(path.join(REGRESSION_DIR, file), 'utf8'))]);
const server = regressions.filter(([, r]) => r.kind === 'server');
const core = regressions.filter(([, r]) => r.kind !== 'server');

test('there are regressions, and each says what broke', () => {
  expect(regressions.length).toBeGreaterThan(0);
  for (const [file, regression] of regressions) {
    expect({ file, kind: ['plan', 'construct', 'server'].includes(regression.kind), described: regression.description.length > 20 })
      .toEqual({ file, kind: true, described: true });
  }
  report('regressions', { files: regressions.length, server: server.length, core: core.length });
});

test.each(core)('%s', (_, regression) => {
  if (regression.kind === 'plan') checkPlan(regression.pod, regression.policy ?? {});
  else checkConstructMatchesPatch(regression.pod, regression.policy ?? {});
});

describe('server regressions, on the real process', () => {
  let webhook: WebhookProcess;
  // The heap limit SharedMemoryWebhook deploys with (see fuzz-server.test.ts).
  beforeAll(async () => (webhook = await startWebhookProcess([], [...WEBHOOK_NODE_FLAGS])));
  afterAll(async () => {
    await webhook?.stop();
    killAll();
  });

  test.each(server)('%s', async (_, regression) => {
    const input = { category: 'regression', body: regressionBody(regression) };
    const expected = expectedOf(input, DEFAULT_MAX_BODY_BYTES);
    const answer = await send(webhook.port, { body: input.body, agent: keepAliveAgent(1) });
    expect(answerProblem(expected, answer)).toBeUndefined();
    expect(webhook.alive()).toBe(true);
  });
});
