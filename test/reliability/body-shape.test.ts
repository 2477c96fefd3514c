/**
 * The pre-parse bound on nesting and object count (src/programs/webhook/body-shape.ts), table-driven: it
 * counts only structure outside strings, and refuses exactly past its bounds.
 */
import { MAX_JSON_CONTAINERS, MAX_JSON_DEPTH, jsonShape } from '../../src/programs/webhook/body-shape';
import { loadFixtures } from '../programs/webhook/support/fixtures';

const shape = (text: string) => jsonShape(Buffer.from(text)).problem;

test.each([
  ['nesting at the bound', '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH), undefined],
  ['nesting past the bound', '['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1), /more than 1000 deep/],
  ['unclosed nesting past the bound', '{"a":'.repeat(MAX_JSON_DEPTH + 1), /more than 1000 deep/],
  ['objects at the bound', `[${'{},'.repeat(MAX_JSON_CONTAINERS - 2)}{}]`, undefined],
  ['objects past the bound', `[${'{},'.repeat(MAX_JSON_CONTAINERS - 1)}{}]`, /more than 100000 objects/],
  ['brackets inside strings do not count', JSON.stringify({ a: '['.repeat(5_000), b: '{'.repeat(200_000) }), undefined],
  ['escaped quotes do not end a string', JSON.stringify({ a: `\\"${'['.repeat(5_000)}` }), undefined],
])('%s', (_, text, expected) => {
  const problem = shape(text);
  if (expected === undefined) expect(problem).toBeUndefined();
  else expect(problem).toMatch(expected);
});

test('every real AdmissionReview fixture is well inside the bounds', () => {
  for (const { review } of loadFixtures()) expect(jsonShape(Buffer.from(JSON.stringify(review))).problem).toBeUndefined();
});
