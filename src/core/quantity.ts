/**
 * Kubernetes resource quantities, exactly as the API server reads them.
 *
 * Grammar (from `k8s.io/apimachinery/pkg/api/resource/quantity.go`):
 *
 *     <quantity>        ::= <signedNumber><suffix>
 *     <signedNumber>    ::= <number> | <sign><number>
 *     <sign>            ::= "+" | "-"
 *     <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
 *     <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
 *     <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
 *     <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
 *     <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
 *
 * `m` is milli even for memory (`966367641600m` is a real value the API server accepts); `1E` is
 * one exa but `1E3` is a thousand; `K` is not a suffix. Like the API server, a value finer than a
 * nano is rounded up to the next nano and a magnitude above 2^63-1 is capped there.
 *
 * Two things the grammar above does not say but the API server does: it trims white space around
 * a quantity in a manifest (`Quantity.UnmarshalJSON` calls `strings.TrimSpace`), and its scanner
 * reads a number without digits as zero (`.`, `-.`, `+`, even `Gi`). Manifests that rely on either
 * are valid, so they are read here the same way.
 *
 * Everything is BigInt: `0.1Gi` is 107374182.4 bytes, and floating point would get bytes wrong.
 */
import { Rational, ceil, floor, readSignedNumber, scaleByPowerOfTen } from './decimal';

/** A quantity could not be parsed. The message says what was wrong and what is allowed. */
export class QuantityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuantityError';
  }
}

/** The binary suffixes and their factors, smallest first: `formatBytes` writes a size in the largest that divides it. */
export const BINARY_SUFFIXES: Readonly<Record<string, bigint>> = {
  Ki: 2n ** 10n,
  Mi: 2n ** 20n,
  Gi: 2n ** 30n,
  Ti: 2n ** 40n,
  Pi: 2n ** 50n,
  Ei: 2n ** 60n,
};

const DECIMAL_SUFFIXES: Record<string, number> = {
  'n': -9,
  'u': -6,
  'm': -3,
  '': 0,
  'k': 3,
  'M': 6,
  'G': 9,
  'T': 12,
  'P': 15,
  'E': 18,
};

/** Quantities parsed and byte counts formatted so far, bounded (see `remember`). */
const parsed = new Map<string, Rational>();
const formatted = new Map<bigint, string>();
const CACHE_ENTRIES = 4096;
/** Longer inputs are rare and not worth keeping (a hostile client could send many). */
const MAX_CACHED_LENGTH = 32;

/** Keeps a value, starting afresh when the cache is full: simple, and bounded whatever the input. */
function remember<K, V>(cache: Map<K, V>, key: K, value: V): void {
  if (cache.size >= CACHE_ENTRIES) cache.clear();
  cache.set(key, value);
}

/** Largest magnitude the API server keeps; larger values are capped to it. */
export const MAX_QUANTITY = 2n ** 63n - 1n;

/** Inputs longer than this are refused before any arithmetic (the API server has a similar cap). */
export const MAX_INPUT_LENGTH = 1024;

/**
 * Exponents beyond this are capped (large) or rounded to the smallest unit (small) without BigInt blow-up.
 * The bound must leave room for the digits before the exponent: `0.<49 zeros>1e59` is 1e9 and
 * `1<60 zeros>e-51` is 1e9 too. Those digits number fewer than MAX_INPUT_LENGTH, so any nonzero
 * mantissa lies within 10^±MAX_INPUT_LENGTH; past this bound every value is above 2^63-1 or below
 * a nano, whatever the digits, and 10^1088 is still cheap in BigInt.
 */
const MAX_EXPONENT = MAX_INPUT_LENGTH + 64;

/**
 * White space as Go's `unicode.IsSpace` sees it, at either end (what `strings.TrimSpace` removes).
 * Not JavaScript's `trim()`: that also removes U+FEFF, which Go keeps, and keeps U+0085, which Go removes.
 */
const GO_SPACE_AROUND = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

const VALID_FORMS = 'a number with an optional suffix: Ki, Mi, Gi, Ti, Pi, Ei, n, u, m, k, M, G, T, P, E, or an exponent like 1e9';

/**
 * Parses a quantity to its exact value. Numbers are accepted as their decimal text.
 * @throws QuantityError with a message naming the input and the allowed forms
 */
export function parseQuantity(input: string | number): Rational {
  // Manifests repeat the same few quantities thousands of times (every replica's `2Gi`); a
  // Rational is immutable, so one parse serves them all.
  const cached = typeof input === 'string' ? parsed.get(input) : undefined;
  if (cached) return cached;
  const value = parseUncached(input);
  if (typeof input === 'string' && input.length <= MAX_CACHED_LENGTH) remember(parsed, input, value);
  return value;
}

function parseUncached(input: string | number): Rational {
  const raw = typeof input === 'number' ? numberToText(input) : input;
  if (typeof raw !== 'string') {
    throw new QuantityError(`quantity must be a string or a number, got ${describe(input)}`);
  }
  if (raw.length > MAX_INPUT_LENGTH) {
    throw new QuantityError(`quantity is ${raw.length} characters long; at most ${MAX_INPUT_LENGTH} are accepted`);
  }
  const text = raw.replace(GO_SPACE_AROUND, '');
  if (text.length === 0) throw new QuantityError('quantity is empty; expected ' + VALID_FORMS);
  const number = readSignedNumber(text, true)!; // with optional digits, some number (maybe empty) always starts the text
  const suffix = text.slice(number.length);
  const value = applySuffix(number.value, suffix);
  if (value === undefined) {
    // Without a digit, the input is not a number with a wrong suffix but no quantity at all.
    if (!/\d/.test(text.slice(0, number.length))) throw new QuantityError(`"${clip(text)}" is not a valid quantity: expected ${VALID_FORMS}`);
    throw new QuantityError(`"${clip(text)}" has an invalid suffix "${clip(suffix)}"${suffixHint(suffix)}: expected ${VALID_FORMS}`);
  }
  return normalize(value);
}

/** True when `input` is a valid quantity. */
export function isQuantity(input: unknown): boolean {
  if (typeof input !== 'string' && typeof input !== 'number') return false;
  try {
    parseQuantity(input);
    return true;
  } catch {
    return false;
  }
}

/** A memory quantity in whole bytes, rounded up (what the kubelet does with a limit: `Quantity.Value()`). */
export function bytesCeil(input: string | number): bigint {
  return ceil(parseQuantity(input));
}

/** A memory quantity in whole bytes, rounded down (a size we hand out never exceeds what was asked). */
export function bytesFloor(input: string | number): bigint {
  return floor(parseQuantity(input));
}

/**
 * Formats a byte count canonically: the largest binary unit that divides it exactly, else bytes.
 * `1073741824n` → `1Gi`, `1536n * 2n ** 20n` → `1536Mi`, `1000n` → `1000`.
 */
export function formatBytes(bytes: bigint): string {
  const cached = formatted.get(bytes);
  if (cached !== undefined) return cached;
  const text = formatUncached(bytes);
  remember(formatted, bytes, text);
  return text;
}

function formatUncached(bytes: bigint): string {
  if (bytes === 0n) return '0';
  const magnitude = bytes < 0n ? -bytes : bytes;
  const units = Object.entries(BINARY_SUFFIXES).reverse();
  for (const [unit, factor] of units) {
    if (magnitude % factor === 0n) return `${bytes / factor}${unit}`;
  }
  return bytes.toString();
}

/** The value with its suffix applied, or undefined when the suffix is not one. */
function applySuffix(value: Rational, suffix: string): Rational | undefined {
  // Own properties only: `1toString` or `1__proto__` must be an invalid suffix, not an inherited member.
  if (Object.prototype.hasOwnProperty.call(BINARY_SUFFIXES, suffix)) {
    return { num: value.num * BINARY_SUFFIXES[suffix], den: value.den };
  }
  if (Object.prototype.hasOwnProperty.call(DECIMAL_SUFFIXES, suffix)) {
    return scaleByPowerOfTen(value, DECIMAL_SUFFIXES[suffix]);
  }
  // `e`/`E` followed by a signed integer is an exponent; a lone `E` was matched above as exa.
  const exponent = /^[eE]([+-]?)(\d+)$/.exec(suffix);
  if (!exponent) return undefined;
  const digits = exponent[2].replace(/^0+(?=\d)/, '');
  const magnitude = digits.length > 6 ? Infinity : Number(digits);
  const power = exponent[1] === '-' ? -magnitude : magnitude;
  if (value.num === 0n) return { num: 0n, den: 1n };
  if (power > MAX_EXPONENT) return { num: value.num < 0n ? -MAX_QUANTITY : MAX_QUANTITY, den: 1n };
  if (power < -MAX_EXPONENT) return { num: value.num < 0n ? -1n : 1n, den: 10n ** 9n };
  return scaleByPowerOfTen(value, power);
}

function suffixHint(suffix: string): string {
  if (suffix === 'K') return ' ("K" is not a suffix: use "k" for 1000 or "Ki" for 1024)';
  if (/\s/.test(suffix)) return ' (no spaces are allowed)';
  if (/^[kKmMgGtTpPeE][iIbB]?$/.test(suffix)) return ` (suffixes are case-sensitive: did you mean "${suggest(suffix)}"?)`;
  return '';
}

/** Rounds up to a nano (away from zero, as the API server does) and caps the magnitude at 2^63-1. */
function normalize(value: Rational): Rational {
  const nano = 10n ** 9n;
  let num = value.num * nano;
  const rem = num % value.den;
  num = num / value.den;
  if (rem !== 0n) num += value.num < 0n ? -1n : 1n;
  const cap = MAX_QUANTITY * nano;
  if (num > cap) num = cap;
  if (num < -cap) num = -cap;
  return reduce({ num, den: nano });
}

function reduce(value: Rational): Rational {
  let { num, den } = value;
  while (den > 1n && num % 10n === 0n) {
    num /= 10n;
    den /= 10n;
  }
  return { num, den };
}

function numberToText(value: number): string {
  if (!Number.isFinite(value)) throw new QuantityError(`quantity must be a finite number, got ${value}`);
  // JavaScript renders 1e21 and 1e-7 with an exponent; that is valid quantity grammar too.
  return String(value).replace('e+', 'e');
}

function suggest(suffix: string): string {
  const head = suffix[0].toUpperCase();
  const binary = head === 'K' ? 'Ki' : `${head}i`;
  return suffix.length > 1 ? binary : head === 'K' ? 'k' : head;
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
