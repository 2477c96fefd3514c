/**
 * jest globalSetup of the e2e suites: builds the binaries if needed, starts one control plane and
 * its real node for the whole run, and tells the test files where they are (STATE_ENV).
 * global-teardown.ts stops them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { STATE_ENV, buildKube, startControlPlane } from './control-plane';
import { RUN_RECORD_ENV } from './network-namespace';
import { startRealNode } from './node/real-node';

export default async function globalSetup(): Promise<void> {
  const binDir = buildKube();
  const started = Date.now();
  const controlPlane = await startControlPlane({ binDir });
  // For the launcher's check that the run left nothing behind.
  const record = process.env[RUN_RECORD_ENV];
  if (record) fs.writeFileSync(record, controlPlane.dir);
  const startSeconds = (Date.now() - started) / 1000;
  const node = await startRealNode(controlPlane).catch(async error => {
    await controlPlane.stop();
    throw error;
  });
  const { stop, pki, group, ...state } = controlPlane;
  const file = path.join(state.dir, 'state.json');
  fs.writeFileSync(file, JSON.stringify({ ...state, node: node.state, startSeconds }));
  process.env[STATE_ENV] = file;
  const stopAll = async () => {
    await node.stop();
    await stop();
  };
  // globalSetup and globalTeardown share this context (not the tests'): the handle to stop with.
  (globalThis as any).__cdk8sShmE2e = { stop: stopAll, file };
  // Torn down even when jest is interrupted.
  const onSignal = (signal: NodeJS.Signals) => {
    void stopAll().finally(() => process.kill(process.pid, signal));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}
