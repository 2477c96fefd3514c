/**
 * Property tests over generated pods (support/arbitraries.ts): the core's patch always applies
 * with a standard RFC 6902 library, the result validates against the Kubernetes schema, volume
 * names and mount paths stay unique, the size never exceeds the pod limit, planning the result
 * again gives no operations, and the construct path and the patch path give the same pod.
 *
 * Bounded in `npm test` (fixed seeds), thousands of runs in `npm run fuzz` (fresh seeds, printed).
 * A counterexample found in full mode is saved under regressions/ for regressions.test.ts.
 */
import fc from 'fast-check';
import { ConstructPolicy, Json, anyPod, constructPolicy, webhookPolicy } from './support/arbitraries';
import { checkConstructMatchesPatch, checkPlan, saveRegression } from './support/checks';
import { FULL, report, scale, seedFor } from './support/mode';
import { PolicyInput } from '../../src/core';
import { validateAgainstSchema } from '../support/schema';

jest.setTimeout(FULL ? 1_800_000 : 60_000);

const counts: Record<string, number> = {};

/** Runs a property with a printed seed; in full mode a counterexample is saved as a regression. */
function run<T>(name: string, arbitrary: fc.Arbitrary<T>, numRuns: number, property: (value: T) => void, save: (value: T) => object): void {
  const seed = seedFor(`properties/${name}`);
  const result = fc.check(fc.property(arbitrary, value => {
    property(value);
  }), { seed, numRuns });
  counts[name] = result.numRuns;
  if (result.failed) {
    let saved = '';
    if (FULL && result.counterexample) saved = `\nsaved as ${saveRegression(name, save(result.counterexample[0]) as any)}`;
    throw new Error(`property '${name}' failed (seed ${seed}; replay with CDK8S_SHM_FUZZ_SEED=${seed})${saved}\n${fc.defaultReportMessage(result)}`);
  }
}

test('the patch applies, keeps the Pod rules, never exceeds the limit, and is idempotent', () => {
  const patchedSample: Json[] = [];
  const inputSample: Json[] = [];
  const schemaEvery = FULL ? 4 : 2;
  let i = 0;
  run('plan', fc.tuple(anyPod(), webhookPolicy), scale(1_000, 30_000), ([pod, policy]: [Json, PolicyInput]) => {
    const patched = checkPlan(pod, policy);
    if (i++ % schemaEvery === 0 && patched !== pod) {
      inputSample.push(pod);
      patchedSample.push(patched);
    }
  }, ([pod, policy]) => ({ kind: 'plan', description: 'found by properties.test.ts', pod, policy }));

  // One child process validates the sample in one go; the inputs must validate too, or the
  // generator (not the patch) is wrong.
  const results = validateAgainstSchema([...inputSample, ...patchedSample]);
  counts.schemaValidated = results.length;
  const failures = results.flatMap((result, index) => {
    if (result.ok) return [];
    const which = index < inputSample.length ? 'generated input' : 'patched pod';
    const object = index < inputSample.length ? inputSample[index] : patchedSample[index - inputSample.length];
    return [`${which}: ${result.error}\n${JSON.stringify(object)}`];
  });
  expect(failures).toEqual([]);
});

test('the construct path and the patch path give the same pod', () => {
  run('construct', fc.tuple(anyPod(true), constructPolicy), scale(400, 8_000), ([pod, policy]: [Json, ConstructPolicy]) => {
    checkConstructMatchesPatch(pod, policy);
  }, ([pod, policy]) => ({ kind: 'construct', description: 'found by properties.test.ts', pod, policy }));
});

afterAll(() => report('properties', { runs: counts }));
