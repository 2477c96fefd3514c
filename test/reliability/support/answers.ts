/**
 * What a correct answer to a fuzz input looks like (see `expectedOf` in fuzz-inputs.ts): a 200
 * AdmissionReview of the request's apiVersion whose `response.uid` is the request's, `allowed` a
 * boolean, warnings under 120 characters, and any patch a JSON array of operations that applies
 * to the request's object with a standard RFC 6902 library; or a 4xx with a body. Never a 5xx.
 */
import { Operation, applyPatch } from 'fast-json-patch';
import { Expected, FuzzInput } from './fuzz-inputs';
import { Answer } from '../../programs/webhook/support/webhook-process';

/** @returns what is wrong with the answer, or undefined when it is right */
export function answerProblem(expected: Expected, answer: Answer): string | undefined {
  if (answer.status >= 500) return `HTTP ${answer.status}: ${answer.body.slice(0, 200)}`;
  if (expected.kind === '4xx') {
    if (answer.status < 400 || answer.status >= 500) return `expected a 4xx, got HTTP ${answer.status}: ${answer.body.slice(0, 200)}`;
    if (expected.status !== undefined && answer.status !== expected.status) return `expected HTTP ${expected.status}, got ${answer.status}: ${answer.body.slice(0, 200)}`;
    if (answer.body.length === 0) return `HTTP ${answer.status} without a body`;
    return undefined;
  }
  if (answer.status !== 200) return `expected a review (uid ${JSON.stringify(expected.uid.slice(0, 60))}), got HTTP ${answer.status}: ${answer.body.slice(0, 200)}`;
  if (!/^application\/json/.test(String(answer.headers['content-type']))) return `Content-Type ${answer.headers['content-type']}`;
  let review: any;
  try {
    review = JSON.parse(answer.body);
  } catch {
    return `the 200 body is not JSON: ${answer.body.slice(0, 200)}`;
  }
  if (review?.kind !== 'AdmissionReview' || review.apiVersion !== expected.apiVersion) return `not an AdmissionReview ${expected.apiVersion}: ${answer.body.slice(0, 200)}`;
  const response = review.response;
  if (typeof response !== 'object' || response === null) return 'no response';
  if (response.uid !== expected.uid) return `uid ${JSON.stringify(String(response.uid).slice(0, 60))} is not the request's ${JSON.stringify(expected.uid.slice(0, 60))}`;
  if (typeof response.allowed !== 'boolean') return `allowed is ${JSON.stringify(response.allowed)}`;
  for (const warning of response.warnings ?? []) {
    if (typeof warning !== 'string' || Buffer.byteLength(warning) >= 120) return `warning too long or not a string: ${JSON.stringify(warning).slice(0, 200)}`;
    // The core promises never to throw; the review's catch-all turning a throw into a warning is a bug caught, not a pass.
    if (/internal error/.test(warning)) return `the core threw: ${warning}`;
  }
  if (response.allowed === false && typeof response.status?.message !== 'string') return 'a denial without a status message';
  if (response.patch === undefined) return response.patchType === undefined ? undefined : 'patchType without a patch';
  if (response.patchType !== 'JSONPatch') return `patchType ${response.patchType}`;
  if (!response.allowed) return 'a patch on a denial';
  let ops: unknown;
  try {
    ops = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'));
  } catch {
    return 'the patch is not base64 JSON';
  }
  if (!Array.isArray(ops)) return 'the patch is not an array';
  try {
    // In place, not on a copy: the object may be nested deeper than a recursive clone can go,
    // and the expectation is not used again.
    applyPatch(expected.object, ops as Operation[], true, true);
  } catch (error) {
    return `the patch does not apply to the request's object: ${(error as Error).message.slice(0, 300)}`;
  }
  return undefined;
}

/** A short description of an input for failure messages. */
export function describeInput(input: FuzzInput): string {
  const text = input.body.toString('utf8');
  return `${input.category} ${input.method ?? 'POST'} ${input.path ?? '/mutate'} ${JSON.stringify(input.headers ?? {})} (${input.body.length} bytes): ${JSON.stringify(text.slice(0, 300))}${text.length > 300 ? '...' : ''}`;
}
