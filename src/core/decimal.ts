/**
 * Exact decimal numbers as rationals with a power-of-ten denominator.
 *
 * Quantities and ratios are decimal text; doing arithmetic on them in floating point loses bytes
 * (0.1 + 0.2 is not 0.3, and 2^63 is not representable). Everything here is BigInt.
 */

/** An exact rational number `num / den` with `den > 0`. */
export interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

/**
 * Grammar of the decimal part that quantities and ratios share (from Kubernetes' quantity.go):
 *
 *     <signedNumber> ::= <number> | <sign><number>
 *     <sign>         ::= "+" | "-"
 *     <number>       ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
 *
 * Returns the rational and how many characters it consumed, or undefined when no number starts
 * at the beginning of `text`. With `digitsOptional`, a number without any digit (`""`, `"."`,
 * `"-."`, `"+"`) reads as zero: the API server's quantity scanner does exactly that, so a
 * manifest with `memory: "."` is valid and means 0.
 */
export function readSignedNumber(text: string, digitsOptional = false): { value: Rational; length: number } | undefined {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?/.exec(text);
  if (!match) return undefined;
  const [whole, sign, intDigits, fracDigits = ''] = match;
  if (intDigits.length === 0 && fracDigits.length === 0 && !digitsOptional) return undefined; // ".", "+", "" are not decimals
  const digits = `${intDigits}${fracDigits}`.replace(/^0+(?=\d)/, '');
  let num = BigInt(digits === '' ? '0' : digits);
  if (sign === '-') num = -num;
  return { value: { num, den: 10n ** BigInt(fracDigits.length) }, length: whole.length };
}

/** Parses a plain decimal (`0.5`, `.25`, `1`, `1e-1`) exactly. Throws on anything else. */
export function parseDecimal(text: string): Rational {
  const number = readSignedNumber(text);
  if (!number) throw new Error(`"${text}" is not a decimal number`);
  const rest = text.slice(number.length);
  if (rest === '') return number.value;
  const exponent = /^[eE]([+-]?\d{1,4})$/.exec(rest);
  if (!exponent) throw new Error(`"${text}" is not a decimal number`);
  return scaleByPowerOfTen(number.value, Number(exponent[1]));
}

/** `value × 10^exponent`, exactly. */
export function scaleByPowerOfTen(value: Rational, exponent: number): Rational {
  return exponent >= 0
    ? { num: value.num * 10n ** BigInt(exponent), den: value.den }
    : { num: value.num, den: value.den * 10n ** BigInt(-exponent) };
}

/** Largest integer not above the rational. */
export function floor(value: Rational): bigint {
  const q = value.num / value.den;
  return value.num < 0n && q * value.den !== value.num ? q - 1n : q;
}

/** Smallest integer not below the rational. */
export function ceil(value: Rational): bigint {
  return -floor({ num: -value.num, den: value.den });
}

/** Compares two rationals: negative, zero or positive. */
export function compare(a: Rational, b: Rational): number {
  const left = a.num * b.den;
  const right = b.num * a.den;
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Renders a rational as the shortest exact decimal when it has one (always true for our inputs). */
export function formatRational(value: Rational): string {
  let den = value.den;
  let scale = 0;
  while (den % 10n === 0n) {
    den /= 10n;
    scale++;
  }
  if (den !== 1n) return `${value.num}/${value.den}`;
  const negative = value.num < 0n;
  const digits = (negative ? -value.num : value.num).toString().padStart(scale + 1, '0');
  const intPart = digits.slice(0, digits.length - scale);
  const fracPart = digits.slice(digits.length - scale).replace(/0+$/, '');
  return `${negative ? '-' : ''}${intPart}${fracPart ? `.${fracPart}` : ''}`;
}
