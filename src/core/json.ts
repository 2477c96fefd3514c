/**
 * Safe reading of untrusted JSON. The webhook sees whatever a client sends, and the core must
 * decide without throwing, so every read goes through these guards.
 */

/** A JSON object. */
export type JsonObject = { [key: string]: unknown };

/** True for a plain JSON object (not null, not an array). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object at `value`, or undefined when it is absent or not an object. */
export function objectAt(value: unknown): JsonObject | undefined {
  return isObject(value) ? value : undefined;
}

/** The string at `value`, or undefined. */
export function stringAt(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
