import { Rational, ceil, compare, floor, formatRational, parseDecimal, readSignedNumber, scaleByPowerOfTen } from '../../src/core';

/** Same value (not necessarily the same representation). */
function expectValue(actual: Rational, num: bigint, den: bigint): void {
  expect(actual.den > 0n).toBe(true);
  expect(actual.num * den).toBe(num * actual.den);
}

describe('readSignedNumber', () => {
  const cases: Array<[string, bigint, bigint, number]> = [
    ['12.5Gi', 125n, 10n, 4],
    ['1', 1n, 1n, 1],
    ['1.', 1n, 1n, 2],
    ['.5', 5n, 10n, 2],
    ['-.5', -5n, 10n, 3],
    ['+3e2', 3n, 1n, 2],
    ['007', 7n, 1n, 3],
    ['0.000', 0n, 1n, 5],
    ['-0', 0n, 1n, 2],
    ['1.2.3', 12n, 10n, 3],
  ];
  test.each(cases)('%s', (text, num, den, length) => {
    const result = readSignedNumber(text);
    expect(result).toBeDefined();
    expectValue(result!.value, num, den);
    expect(result!.length).toBe(length);
  });

  test.each(['', '.', '+', '-', '+.', 'abc', ' 1', 'e3', '.e3'])('%j is not a number', text => {
    expect(readSignedNumber(text)).toBeUndefined();
  });
});

describe('parseDecimal', () => {
  const cases: Array<[string, bigint, bigint]> = [
    ['0.5', 1n, 2n],
    ['.25', 1n, 4n],
    ['1', 1n, 1n],
    ['1.', 1n, 1n],
    ['1e-1', 1n, 10n],
    ['5E-1', 1n, 2n],
    ['2.5e+2', 250n, 1n],
    ['-0.75', -3n, 4n],
    ['0.1', 1n, 10n],
  ];
  test.each(cases)('%s', (text, num, den) => {
    expectValue(parseDecimal(text), num, den);
  });

  test.each(['', 'abc', '0.5x', '1e', '1e12345', '1 ', ' 1', '1e1.5', '.', '1/2', '0.5Gi'])('%j throws', text => {
    expect(() => parseDecimal(text)).toThrow(`"${text}" is not a decimal number`);
  });
});

describe('scaleByPowerOfTen', () => {
  test.each<[Rational, number, bigint, bigint]>([
    [{ num: 15n, den: 10n }, 3, 1500n, 1n],
    [{ num: 15n, den: 10n }, -3, 15n, 10000n],
    [{ num: -2n, den: 1n }, 0, -2n, 1n],
  ])('%p × 10^%p', (value, exponent, num, den) => {
    expectValue(scaleByPowerOfTen(value, exponent), num, den);
  });
});

describe('floor and ceil', () => {
  test.each<[bigint, bigint, bigint, bigint]>([
    // num, den, floor, ceil
    [3n, 2n, 1n, 2n],
    [-3n, 2n, -2n, -1n],
    [4n, 2n, 2n, 2n],
    [-4n, 2n, -2n, -2n],
    [0n, 7n, 0n, 0n],
    [1n, 1000000000n, 0n, 1n],
    [-1n, 1000000000n, -1n, 0n],
    [1073741824n, 10n, 107374182n, 107374183n],
  ])('%p/%p', (num, den, expectedFloor, expectedCeil) => {
    expect(floor({ num, den })).toBe(expectedFloor);
    expect(ceil({ num, den })).toBe(expectedCeil);
  });
});

describe('compare', () => {
  test.each<[Rational, Rational, number]>([
    [{ num: 1n, den: 2n }, { num: 5n, den: 10n }, 0],
    [{ num: 1n, den: 3n }, { num: 1n, den: 2n }, -1],
    [{ num: 3n, den: 2n }, { num: 1n, den: 1n }, 1],
    [{ num: -1n, den: 2n }, { num: 0n, den: 1n }, -1],
    [{ num: 10000001n, den: 10000000n }, { num: 1n, den: 1n }, 1],
  ])('%p vs %p', (a, b, expected) => {
    expect(compare(a, b)).toBe(expected);
    expect(compare(b, a)).toBe(0 - expected);
  });
});

describe('formatRational', () => {
  test.each<[bigint, bigint, string]>([
    [0n, 1n, '0'],
    [5n, 10n, '0.5'],
    [250n, 1000n, '0.25'],
    [100n, 10n, '10'],
    [-5n, 100n, '-0.05'],
    [1073741824n, 10n, '107374182.4'],
    [15n, 1n, '15'],
    [1n, 3n, '1/3'],
    [-1n, 3n, '-1/3'],
  ])('%p/%p → %s', (num, den, text) => {
    expect(formatRational({ num, den })).toBe(text);
  });
});
