/**
 * jest globalSetup of the e2e suites: builds the binaries if needed, starts one control plane for
 * the whole run, and tells the test files where it is (STATE_ENV). global-teardown.ts stops it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { STATE_ENV, buildKube, startControlPlane } from './control-plane';

export default async function globalSetup(): Promise<void> {
  const binDir = buildKube();
  const started = Date.now();
  const controlPlane = await startControlPlane(binDir);
  const { stop, ...state } = controlPlane;
  const file = path.join(state.dir, 'state.json');
  fs.writeFileSync(file, JSON.stringify({ ...state, startSeconds: (Date.now() - started) / 1000 }));
  process.env[STATE_ENV] = file;
  // globalSetup and globalTeardown share this context (not the tests'): the handle to stop with.
  (globalThis as any).__cdk8sShmE2e = { stop, file };
  // Torn down even when jest is interrupted.
  const onSignal = (signal: NodeJS.Signals) => {
    void stop().finally(() => process.kill(process.pid, signal));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}
