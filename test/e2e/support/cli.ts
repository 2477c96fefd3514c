/**
 * The shipped command line (lib/bundle/cli.js, built by `npx projen compile`), as the e2e suites
 * ask it what the core says about the same objects they give the API server.
 */
import * as path from 'path';
import { REPO } from './control-plane';
import { CommandError, asStream, runAsync } from './kube';
import type { PlanJson } from '../../../src/programs/cli/plan-table';

/** The bundled CLI. */
export const CLI_BUNDLE = path.join(REPO, 'lib', 'bundle', 'cli.js');

/** `cdk8s-shm plan -o json [flags]` on these objects: one entry per workload, in order. */
export async function planJson(objects: readonly unknown[], flags: readonly string[] = []): Promise<PlanJson[]> {
  const run = await runAsync(process.execPath, [CLI_BUNDLE, 'plan', '-o', 'json', '--quiet', ...flags], { input: asStream(objects) });
  if (run.status !== 0) throw new CommandError(`cdk8s-shm plan ${flags.join(' ')}`, run);
  return JSON.parse(run.stdout);
}
