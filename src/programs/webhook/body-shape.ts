/**
 * How much JSON.parse would build from a body, counted on the bytes before it builds anything.
 *
 * V8 spends tens of bytes on every object and array, so a body of 4 MiB (the default limit when this was found) made
 * of `[[[[…` or `[{},{},…` becomes 100 MB and more of heap: past the 96 MB heap and 128Mi memory
 * limit the SharedMemoryWebhook construct runs the server with, and the process dies of
 * "JavaScript heap out of memory" (test/reliability/regressions/heap-deep-nesting.json,
 * heap-million-volumes.json). A real pod, managedFields and all, has a few thousand objects nested
 * a few dozen deep, so these bounds refuse only what no API server sends.
 *
 * The same pass notes numbers JSON.parse would round to a double (see `roundsNumbers`), so that
 * the common body, which has none, pays no second pass for reading them exactly.
 */

/** Deepest nesting of objects and arrays accepted. */
export const MAX_JSON_DEPTH = 1_000;
/** Most objects and arrays accepted in one body. */
export const MAX_JSON_CONTAINERS = 100_000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const DOT = 0x2e;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

/**
 * A double holds every decimal of at most 15 significant digits (DBL_DIG): such a number written
 * without an exponent comes back from JSON.parse with its exact value. Leading zeros count here
 * too, which only sends a few more bodies the slow way.
 */
const EXACT_DIGITS = 15;

/** What the scan found. */
export interface JsonShape {
  /** Why the body is refused, if it is. */
  readonly problem?: string;
  /**
   * The body has a number JSON.parse may round: more than 15 digits, or an exponent (which may
   * overflow to Infinity or underflow to 0). Strings never count.
   */
  readonly roundsNumbers: boolean;
}

/**
 * Scans a body for nesting, container count and numbers a double cannot hold, skipping strings. The
 * scan trusts nothing: on a body that is not JSON it may count oddly, and JSON.parse refuses that
 * body anyway.
 */
export function jsonShape(body: Buffer): JsonShape {
  let depth = 0;
  let containers = 0;
  let roundsNumbers = false;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (byte === QUOTE) {
      // Strings are most of a pod's bytes, so jump to the closing quote with the native search
      // rather than walk them byte by byte (1.7x faster on a 220 KB review, BENCHMARKS.md); a quote
      // after an odd run of backslashes is escaped and the search goes on past it.
      let end = body.indexOf(QUOTE, i + 1);
      while (end !== -1) {
        let backslashes = 0;
        while (body[end - 1 - backslashes] === BACKSLASH) backslashes++;
        if (backslashes % 2 === 0) break;
        end = body.indexOf(QUOTE, end + 1);
      }
      if (end === -1) return { roundsNumbers }; // an unterminated string: JSON.parse refuses it
      i = end;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > MAX_JSON_DEPTH) return { problem: `the body nests objects and arrays more than ${MAX_JSON_DEPTH} deep`, roundsNumbers };
      if (++containers > MAX_JSON_CONTAINERS) return { problem: `the body holds more than ${MAX_JSON_CONTAINERS} objects and arrays`, roundsNumbers };
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth--;
    } else if (byte >= DIGIT_0 && byte <= DIGIT_9) {
      // A number's digits, with its fraction; its sign went by as an ordinary byte.
      let digits = 0;
      let j = i;
      for (; j < body.length && ((body[j] >= DIGIT_0 && body[j] <= DIGIT_9) || body[j] === DOT); j++) if (body[j] !== DOT) digits++;
      if (digits > EXACT_DIGITS || body[j] === LOWER_E || body[j] === UPPER_E) roundsNumbers = true;
      i = j - 1;
    }
  }
  return { roundsNumbers };
}
