/**
 * Reading a body's numbers as the API server reads them: the shape scan notes the numbers a double
 * may round, and only those bodies are read a second time, by lossless-json.
 */
import { loadFixtures } from './support/fixtures';
import { jsonShape } from '../../../src/programs/webhook/body-shape';
import { parseJsonBody } from '../../../src/programs/webhook/json-body';

const read = (text: string) => parseJsonBody(Buffer.from(text), jsonShape(Buffer.from(text)));

test.each([
  ['15 digits', '{"a": 123456789012345}', false],
  ['15 digits with a fraction and a sign', '{"a": -1234567.89012345}', false],
  ['long digit runs inside strings', '{"uid": "12345678901234567890", "b": "1e400"}', false],
  ['true, false and null', '[true, false, null, 0]', false],
  ['16 digits', '{"a": 1234567890123456}', true],
  ['16 digits across a fraction', '{"a": 0.1234567890123456}', true],
  ['an exponent', '{"a": 1e3}', true],
  ['an exponent with a sign', '[1.5E-3]', true],
  ['a negative number above 2^53', '[-12345678901234567]', true],
])('%s: rounds numbers %s', (_, text, rounds) => {
  expect(jsonShape(Buffer.from(text)).roundsNumbers).toBe(rounds);
});

test('a number a double holds stays a number, any other keeps its text', () => {
  expect(read('{"a": 9007199254740995, "b": 1.5, "c": [1e400, 1e-400, 1e3], "d": "9007199254740995", "e": 12, "f": 9007199254740991}'))
    .toEqual({ a: '9007199254740995', b: 1.5, c: ['1e400', '1e-400', 1000], d: '9007199254740995', e: 12, f: 9007199254740991 });
});

test('the slow path reads what JSON.parse reads: the last duplicate key wins, __proto__ is an own key', () => {
  const value = read('{"a": 1, "a": 12345678901234567890, "__proto__": {"x": 9007199254740995}}') as any;
  expect(value.a).toBe('12345678901234567890');
  expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
  expect(Object.getOwnPropertyDescriptor(value, '__proto__')?.value).toEqual({ x: '9007199254740995' });
});

test.each([
  ['a trailing comma', '{"a": 12345678901234567890,}'],
  ['a leading zero', '[012345678901234567]'],
  ['a number as a key', '{12345678901234567890: 1}'],
])('not JSON on either path: %s', (_, text) => {
  expect(() => read(text)).toThrow(SyntaxError);
});

test('every real AdmissionReview fixture takes the fast path and reads as JSON.parse reads it', () => {
  for (const { review } of loadFixtures()) {
    const text = JSON.stringify(review);
    expect(jsonShape(Buffer.from(text)).roundsNumbers).toBe(false);
    expect(read(text)).toEqual(JSON.parse(text));
  }
});
