/** What the SharedMemoryAgent tests share: an agent container, lookups, validation, synth errors. */
import { Chart, Size, Testing } from 'cdk8s';
import { podspec } from '../../../src';
import { podRuleViolations } from '../../support/pod-rules';
import { expectValidAgainstSchema } from '../../support/schema';

export const agentContainer: podspec.AgentContainer = {
  name: 'agent',
  image: 'example/agent:1.0',
  resources: { cpu: { request: podspec.Cpu.millis(50) }, memory: { request: Size.mebibytes(128), limit: Size.mebibytes(128) } },
};

/** The one object of `kind` (and `name`), failing the test unless there is exactly one. */
export function one(objects: any[], kind: string, name?: string): any {
  const found = objects.filter(o => o.kind === kind && (name === undefined || o.metadata?.name === name));
  expect(found).toHaveLength(1);
  return found[0];
}

/** The Kubernetes schema for every object, the API server's pod rules for every pod template. */
export function expectValid(objects: any[]): void {
  expectValidAgainstSchema(objects);
  for (const o of objects) {
    const template = o.kind === 'Pod' ? o : o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template : o.spec?.template;
    if (template) expect(podRuleViolations(template.spec)).toEqual([]);
  }
}

/** The message synthesis fails with (the test fails if it succeeds). */
export function synthErrors(chart: Chart): string {
  try {
    Testing.synth(chart);
  } catch (error) {
    return String((error as Error).message);
  }
  throw new Error('synthesis succeeded');
}
