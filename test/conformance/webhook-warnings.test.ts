/**
 * Warnings the API server keeps. It drops, without a word, every webhook warning that is not
 * valid UTF-8 or holds a control character; the judge here is its own code
 * (k8s.io/apimachinery's NewWarningHeader, in test/support/go/kube), fed the JSON the server sends.
 */
import fc from 'fast-check';
import { resolvePolicy } from '../../src/core';
import { formatWarning, reviewAdmission } from '../../src/programs/webhook/review';
import { loadFixture } from '../programs/webhook/support/fixtures';
import { goProgram, runGoProgram } from '../support/go-program';

interface Verdict { readonly valid: boolean; readonly error?: string }

let judge: (warnings: readonly string[]) => Verdict[];
beforeAll(() => {
  const binary = goProgram('kube');
  // Through JSON, as the warnings travel: a lone surrogate arrives as a \ud800 escape.
  judge = warnings => runGoProgram<{ warnings: Verdict[] }>(binary, { warnings: JSON.parse(JSON.stringify(warnings)) }).warnings;
}, 900_000);

/** Every C0 and C1 control, DEL, and the characters around them that are not controls. */
const AWKWARD = [...Array.from({ length: 0x20 }, (_, i) => i), 0x7f, ...Array.from({ length: 0x20 }, (_, i) => 0x80 + i), 0xa0, 0x2028, 0xfeff]
  .map(code => String.fromCharCode(code));

test('the judge refuses what it should: C1 controls and lone surrogates', () => {
  expect(judge(['plain', 'next line \u0085', 'CSI \u009b', 'tab\t', 'lone \ud800']).map(v => v.valid)).toEqual([true, false, false, false, true]);
});

test('every awkward character, alone and in a message, gives a warning the API server keeps', () => {
  const warnings = AWKWARD.flatMap(c => [formatWarning(c), formatWarning(`size ${c}3Gi${c} of pod ${c}`)]);
  const verdicts = judge(warnings);
  expect(warnings.filter((_w, i) => !verdicts[i].valid)).toEqual([]);
  expect(formatWarning('a\u0085b\u009bc')).toBe('cdk8s-shm: a b c');
  expect(formatWarning('\u00a0\u2028')).toBe('cdk8s-shm: \u00a0\u2028');
});

test('any text: the API server keeps the warning', () => {
  const texts = fc.sample(fc.oneof(fc.fullUnicodeString({ maxLength: 200 }), fc.string16bits({ maxLength: 200 }),
    fc.array(fc.constantFrom(...AWKWARD, 'x', '💥'), { maxLength: 60 }).map(a => a.join(''))), { seed: 14, numRuns: 3000 });
  const warnings = texts.map(formatWarning);
  const verdicts = judge(warnings);
  expect(warnings.flatMap((w, i) => (verdicts[i].valid ? [] : [{ text: texts[i], warning: w, error: verdicts[i].error }]))).toEqual([]);
});

test('a review quoting pod annotations with C1 controls still warns', () => {
  const review = loadFixture('25-invalid-annotation.json');
  review.request.object.metadata.annotations['cdk8s-shm.io/size'] = '3\u0085Gi\u009b';
  const warnings = reviewAdmission(review, resolvePolicy()).review!.response.warnings ?? [];
  expect(warnings.length).toBeGreaterThan(0);
  expect(judge(warnings).every(v => v.valid)).toBe(true);
  expect(warnings.join('\n')).toContain('3 Gi ');
});
