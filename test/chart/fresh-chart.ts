/**
 * The chart as the build generates it, in a directory of its own for one test file, with the real
 * helm to render it (scripts/fetch-tools.sh).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateChart } from '../../scripts/helm-chart';
import { bundle, tool } from '../programs/cli/tools';

export interface FreshChart {
  /** The chart's directory. */
  readonly dir: string;
  /** The helm binary. */
  readonly helm: string;
}

/**
 * Generates the chart before the file's tests (after bundling the programs it carries) and removes
 * it after them. Read the fields inside tests or hooks, once `beforeAll` has run.
 */
export function freshChart(prefix: string): FreshChart {
  const chart = { dir: '', helm: '' };
  beforeAll(() => {
    bundle();
    chart.dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), prefix)), 'cdk8s-shm');
    generateChart(chart.dir);
    chart.helm = tool('helm');
  }, 180_000);
  afterAll(() => {
    if (chart.dir) fs.rmSync(path.dirname(chart.dir), { recursive: true, force: true });
  });
  return chart;
}
