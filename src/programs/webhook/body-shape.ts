/**
 * How much JSON.parse would build from a body, counted on the bytes before it builds anything.
 *
 * V8 spends tens of bytes on every object and array, so a body of 4 MiB (the default limit when this was found) made
 * of `[[[[…` or `[{},{},…` becomes 100 MB and more of heap: past the 96 MB heap and 128Mi memory
 * limit the SharedMemoryWebhook construct runs the server with, and the process dies of
 * "JavaScript heap out of memory" (test/reliability/regressions/heap-deep-nesting.json,
 * heap-million-volumes.json). A real pod, managedFields and all, has a few thousand objects nested
 * a few dozen deep, so these bounds refuse only what no API server sends.
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

/**
 * Scans a body for nesting and container count, skipping strings. The scan trusts nothing: on a
 * body that is not JSON it may count oddly, and JSON.parse refuses that body anyway.
 * @returns why the body is refused, or undefined
 */
export function jsonShapeProblem(body: Buffer): string | undefined {
  let depth = 0;
  let containers = 0;
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
      if (end === -1) return undefined; // an unterminated string: JSON.parse refuses it
      i = end;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > MAX_JSON_DEPTH) return `the body nests objects and arrays more than ${MAX_JSON_DEPTH} deep`;
      if (++containers > MAX_JSON_CONTAINERS) return `the body holds more than ${MAX_JSON_CONTAINERS} objects and arrays`;
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth--;
    }
  }
  return undefined;
}
