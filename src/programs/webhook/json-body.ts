/**
 * A request body read as the API server reads JSON: numbers exactly.
 *
 * JSON.parse reads every number into a double, so a quantity written as a JSON number with more
 * than 15 digits (above 2^53, or a long fraction) or an exponent comes out rounded, while the API
 * server reads a quantity from the number's text (`Quantity.UnmarshalJSON`), exactly. The common
 * body has no such number (the shape scan says so on its way through) and costs JSON.parse alone.
 * One that has is read again by lossless-json (bundled), which hands over each number's text: a
 * number a double holds exactly stays a number, any other stays its text, which the core reads as
 * the same quantity the API server reads.
 */
import { isSafeNumber, parse } from 'lossless-json';
import { JsonShape } from './body-shape';

/**
 * Parses a body the shape scan let through.
 * @throws SyntaxError when the body is not JSON (JSON.parse decides that on both paths, so both accept the same bodies)
 */
export function parseJsonBody(body: Buffer, shape: JsonShape): unknown {
  const text = body.toString('utf8');
  const value: unknown = JSON.parse(text);
  if (!shape.roundsNumbers) return value;
  // The last of duplicate keys wins, as in JSON.parse (lossless-json would throw).
  return parse(text, null, { parseNumber: exactNumber, onDuplicateKey: ({ newValue }) => newValue });
}

function exactNumber(text: string): number | string {
  return isSafeNumber(text) ? Number(text) : text;
}
