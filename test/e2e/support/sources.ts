/**
 * What the project ships, as objects: every example's synthesized chart, and the Helm chart
 * rendered with every value set its tests use. The e2e suites apply these to the API server.
 */
import * as path from 'path';
import { App } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { REPO } from './control-plane';
import { Kube } from './kube';
import { examples } from '../../../examples/registry';
import { CHART_VALUE_SETS, ChartValueSet } from '../../chart/value-sets';

/** The chart as users get it from the repository (the build copies the server bundle into it). */
export const CHART_DIR = path.join(REPO, 'charts', 'cdk8s-shm');
/** The release namespace the chart tests render into. */
export const CHART_NAMESPACE = 'cdk8s-shm';

export interface ObjectSource {
  readonly name: string;
  readonly objects: () => Promise<any[]>;
}

/** Every example, synthesized as `npm run examples` does. */
export function exampleSources(): ObjectSource[] {
  return examples().map(example => ({
    name: `example ${example.name}`,
    objects: async () => example.build(new App()).toJson(),
  }));
}

/** `helm template` of the chart with one value set. */
export async function renderChart(kube: Kube, values: ChartValueSet, release = 'cdk8s-shm', namespace = CHART_NAMESPACE): Promise<any[]> {
  const run = await kube.helm(['template', release, CHART_DIR, '--namespace', namespace, ...values.sets.flatMap(s => ['--set', s]), ...(values.extra ?? [])]);
  return parseAllDocuments(run.stdout).map(d => d.toJS()).filter(o => o);
}

/** The chart with every value set of test/chart/value-sets.ts. */
export function chartSources(kube: Kube): ObjectSource[] {
  return Object.entries(CHART_VALUE_SETS).map(([name, values]) => ({
    name: `chart ${name}`,
    objects: () => renderChart(kube, values),
  }));
}

/** `group/version/Kind` of an object. */
export function gvk(object: any): string {
  return `${object.apiVersion}/${object.kind}`;
}
