/**
 * One AdmissionReview in, one AdmissionReview out: the webhook's whole decision, with no I/O.
 *
 * The HTTP layer parses the body and sends back what this returns; everything between is here and
 * is tested on its own. Sizing is the core's: this file only reads the envelope, asks
 * `planSharedMemory`, and turns the plan into a response.
 *
 * The webhook must never block or break a pod over its own confusion, so anything it does not
 * understand inside a well-formed review is allowed unchanged with a warning. Only a body that is
 * not an AdmissionReview at all (no request, no uid to echo) is refused, with HTTP 400.
 */
import { answerResize, isResize } from './review-resize';
import {
  JsonObject, JsonPatchOperation, Policy, QUIET_SKIP_REASONS, ResizeAction, ResizePlan, ShmPlan, SkipReason, isObject, objectAt, planSharedMemory,
  planToPatch,
} from '../../core';

export const ADMISSION_V1 = 'admission.k8s.io/v1';
/** Same shape as v1; an old API server may still send it, and must get its own version back. */
const ADMISSION_V1BETA1 = 'admission.k8s.io/v1beta1';

/** The API server shows warnings as `Warning:` lines and truncates long ones; we keep them under 120 characters ourselves. */
export const MAX_WARNING_LENGTH = 119;
const WARNING_PREFIX = 'cdk8s-shm: ';

/** How a review ended, for metrics and logs. Plan actions, or why no plan was made. */
export type AdmissionOutcome = 'inject' | 'update' | 'unchanged' | 'skip' | 'deny' | 'resize' | 'ignored' | 'error' | 'bad-request';

/**
 * Why a plan that grows limits (`limitFollows`) was not applied (limit-guard.ts): a LimitRange or
 * ResourceQuota of the namespace would refuse the grown pod, or they could not be read.
 */
export type GuardReason = 'limit-refused' | 'limit-unverified';

/** Why a request was let through without planning. */
export type IgnoreReason = 'operation-update' | 'operation-delete' | 'operation-connect' | 'operation-unknown' | 'not-a-pod' | 'subresource';

export interface AdmissionStatus {
  readonly code: number;
  readonly reason?: string;
  readonly message: string;
}

/** `AdmissionResponse` of admission.k8s.io/v1. */
export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly patchType?: 'JSONPatch';
  /** Base64 of the JSON patch. */
  readonly patch?: string;
  readonly warnings?: string[];
  readonly status?: AdmissionStatus;
}

export interface AdmissionReviewResponse {
  readonly apiVersion: string;
  readonly kind: 'AdmissionReview';
  readonly response: AdmissionResponse;
}

/** The answer to send and what it was about. */
export interface AdmissionReviewResult {
  /** 200 with `review`, or 400 with `error` when the body is not an AdmissionReview. */
  readonly httpStatus: 200 | 400;
  readonly review?: AdmissionReviewResponse;
  readonly error?: string;
  readonly outcome: AdmissionOutcome;
  /** The skip or deny reason, why the request was ignored, why limits were not grown, what a resize's volume does, or '' (bounded: it becomes a metric label). */
  readonly reason: SkipReason | IgnoreReason | GuardReason | ResizeAction | 'unsafe-shrink' | '';
  readonly uid?: string;
  /** The pod's namespace, as the request names it. */
  readonly namespace?: string;
  /** `namespace/name` of the pod, for logs. */
  readonly pod?: string;
  readonly dryRun?: boolean;
  readonly plan?: ShmPlan;
  readonly patch?: readonly JsonPatchOperation[];
  /** A resize's plan. */
  readonly resize?: ResizePlan;
}

/**
 * Reviews one parsed AdmissionReview body.
 * @param body the JSON the API server posted
 * @param policy the resolved policy (see `resolvePolicy`)
 */
export function reviewAdmission(body: unknown, policy: Policy): AdmissionReviewResult {
  const envelope = readEnvelope(body);
  if (typeof envelope === 'string') return badRequest(envelope);
  const reply = replyTo(envelope);
  // A resize: what /dev/shm does after it (review-resize.ts).
  if (isResize(envelope.request) && !isNotAPod(envelope.request)) return answerResizeReview(envelope.request, policy, reply);
  const ignored = whyIgnored(envelope.request);
  if (ignored) return reply.ignore(ignored.reason, ignored.warning);
  return answerPlan(objectAt(envelope.request.object) ?? {}, policy, reply);
}

/** What every answer echoes: the version asked in, and the request with its uid. */
interface Envelope {
  readonly apiVersion: string;
  readonly request: JsonObject;
  readonly uid: string;
}

/** The envelope, or why the body is not an AdmissionReview at all. */
function readEnvelope(body: unknown): Envelope | string {
  if (!isObject(body)) return 'the body is not a JSON object';
  // An envelope without apiVersion or kind is read as v1, as controller-runtime does.
  const apiVersion = body.apiVersion ?? ADMISSION_V1;
  if (apiVersion !== ADMISSION_V1 && apiVersion !== ADMISSION_V1BETA1) return `apiVersion ${quote(apiVersion)} is not ${ADMISSION_V1}`;
  if (body.kind !== undefined && body.kind !== 'AdmissionReview') return `kind ${quote(body.kind)} is not AdmissionReview`;
  const request = objectAt(body.request);
  if (!request) return 'the AdmissionReview has no request';
  const uid = request.uid;
  if (typeof uid !== 'string' || uid === '') return 'the AdmissionReview request has no uid';
  return { apiVersion, request, uid };
}

/** What an answer carries besides `allowed` and its warnings. */
interface AnswerExtras {
  /** A refusal's status. */
  readonly status?: AdmissionStatus;
  /** The JSON patch, sent base64-encoded with `patchType: JSONPatch`. */
  readonly patch?: readonly JsonPatchOperation[];
}

/** What a result says besides the answer, for logs, metrics and the limit guard. */
interface ResultExtras {
  readonly plan?: ShmPlan;
  readonly resize?: ResizePlan;
  readonly patch?: readonly JsonPatchOperation[];
}

/**
 * Builds the answers to one request, each with what logs and metrics say about it. Answers and
 * results are built field by field rather than spread from a common part: in Node 20's V8 an
 * object literal that spreads one object and adds fields after it costs microseconds, and there
 * were a dozen per review (BENCHMARKS.md, "Pod creation").
 */
interface Reply {
  /** The answer: `allowed`, then the extras and the warnings, formatted. */
  answer(allowed: boolean, warnings: readonly string[], extras?: AnswerExtras): AdmissionReviewResponse;
  /** The result of a review answered with `review`. */
  result(outcome: AdmissionOutcome, reason: AdmissionReviewResult['reason'], review: AdmissionReviewResponse, extras?: ResultExtras): AdmissionReviewResult;
  ignore(reason: IgnoreReason, warning?: string): AdmissionReviewResult;
}

type Draft<T> = { -readonly [K in keyof T]?: T[K] };

function replyTo(envelope: Envelope): Reply {
  const { apiVersion, request, uid } = envelope;
  const metadata = objectAt(objectAt(request.object)?.metadata);
  const namespace = typeof request.namespace === 'string' ? request.namespace : metadata?.namespace;
  const name = typeof request.name === 'string' && request.name !== '' ? request.name : metadata?.name ?? metadata?.generateName;
  const podNamespace = typeof namespace === 'string' ? namespace : undefined;
  const pod = `${podNamespace ?? ''}/${typeof name === 'string' ? name : ''}`;
  const dryRun = request.dryRun === true;
  const answer = (allowed: boolean, warnings: readonly string[], extras?: AnswerExtras): AdmissionReviewResponse => {
    const response: Draft<AdmissionResponse> = { uid, allowed };
    if (extras?.status) response.status = extras.status;
    if (extras?.patch) {
      response.patchType = 'JSONPatch';
      response.patch = Buffer.from(JSON.stringify(extras.patch)).toString('base64');
    }
    if (warnings.length > 0) response.warnings = warnings.map(formatWarning);
    return { apiVersion, kind: 'AdmissionReview', response: response as AdmissionResponse };
  };
  const result: Reply['result'] = (outcome, reason, review, extras) => {
    const made: Draft<AdmissionReviewResult> = { uid, namespace: podNamespace, pod, dryRun, httpStatus: 200, outcome, reason };
    if (extras?.plan) made.plan = extras.plan;
    if (extras?.resize) made.resize = extras.resize;
    if (extras?.patch) made.patch = extras.patch;
    made.review = review;
    return made as AdmissionReviewResult;
  };
  return {
    answer,
    result,
    ignore: (reason, warning) => result('ignored', reason, answer(true, warning ? [warning] : [])),
  };
}

/** Whether the request positively says "not a core/v1 Pod" (only that is passed over; the configuration only sends pods). */
function isNotAPod(request: JsonObject): boolean {
  const kind = objectAt(request.kind);
  const resource = objectAt(request.resource);
  return Boolean((kind && (kind.kind !== 'Pod' || (kind.group ?? '') !== '')) || (resource && (resource.resource !== 'pods' || (resource.group ?? '') !== '')));
}

/** Why a request is let through without a plan (not a pod's CREATE), if it is. */
function whyIgnored(request: JsonObject): { reason: IgnoreReason; warning?: string } | undefined {
  if (isNotAPod(request)) return { reason: 'not-a-pod' };
  if (typeof request.subResource === 'string' && request.subResource !== '') return { reason: 'subresource' };
  // UPDATE cannot change volumes of a running pod anyway (a resize is read before this); every other operation is none of ours.
  switch (request.operation) {
    case 'CREATE': return undefined;
    case 'UPDATE': return { reason: 'operation-update' };
    case 'DELETE': return { reason: 'operation-delete' };
    case 'CONNECT': return { reason: 'operation-connect' };
    default: return { reason: 'operation-unknown', warning: `operation ${quote(request.operation ?? null)} is not CREATE; the pod is unchanged` };
  }
}

/** The core's plan of the pod, as an answer: a denial, a patch, or the pod as it is. */
function answerPlan(pod: JsonObject, policy: Policy, reply: Reply): AdmissionReviewResult {
  const { answer, result } = reply;
  let plan: ShmPlan;
  let patch: JsonPatchOperation[];
  try {
    plan = planSharedMemory(pod, policy);
    patch = planToPatch(plan, '');
  } catch (error) {
    // The core promises not to throw; if it ever does, the pod still goes through unchanged.
    return result('error', '', answer(true, [`internal error, the pod is unchanged: ${(error as Error)?.message}`]));
  }

  const warnings = plan.warnings.map(w => w.message);
  if (plan.action === 'skip' && plan.reason && !QUIET_SKIP_REASONS.has(plan.reason)) warnings.push(`no /dev/shm: ${plan.message}`);
  const reason = plan.reason ?? '';
  if (plan.action === 'deny') {
    return result(plan.action, reason, answer(false, warnings, { status: forbidden(plan.message) }), { plan });
  }
  if (patch.length === 0) return result(plan.action, reason, answer(true, warnings), { plan });
  return result(plan.action, reason, answer(true, warnings, { patch }), { plan, patch });
}

function forbidden(message: string): AdmissionStatus {
  return { code: 403, reason: 'Forbidden', message: `${WARNING_PREFIX}${message}` };
}

/** The answer grows memory limits (`limitFollows`): what limit-guard.ts checks before it goes out. */
export function growsLimits(result: AdmissionReviewResult): boolean {
  return result.patch !== undefined && (result.plan?.edits?.resources.length ?? 0) > 0;
}

/**
 * The answer that leaves the pod as it came, in place of one that would have grown its limits:
 * allowed, no patch, the plan's own warnings replaced by `messages` (they were about the patch).
 */
export function leaveUnchanged(result: AdmissionReviewResult, reason: GuardReason, messages: readonly string[]): AdmissionReviewResult {
  const review = result.review;
  if (!review) return result;
  return {
    ...result,
    patch: undefined,
    outcome: 'skip',
    reason,
    review: { apiVersion: review.apiVersion, kind: 'AdmissionReview', response: { uid: review.response.uid, allowed: true, ...warningsField(messages) } },
  };
}

/** A resize's answer: the new sizeLimit, a refusal, or the resize as it is, each with its warnings. */
function answerResizeReview(request: JsonObject, policy: Policy, reply: Reply): AdmissionReviewResult {
  const { answer, result } = reply;
  let decided: ReturnType<typeof answerResize>;
  try {
    decided = answerResize(request, policy);
  } catch (error) {
    // As for a CREATE: the core promises not to throw; if it ever does, the resize goes through as asked.
    return result('error', '', answer(true, [`internal error, the resize is unchanged: ${(error as Error)?.message}`]));
  }
  const { allowed, denial, patch, warnings, resize } = decided;
  const review = answer(allowed, warnings, { status: denial ? forbidden(denial) : undefined, patch });
  return result(allowed ? 'resize' : 'deny', allowed ? resize.action : 'unsafe-shrink', review, { resize, patch });
}

/**
 * A warning as the API server will show it: prefixed, printable, and under 120 characters however
 * they are counted. Go counts bytes, JavaScript UTF-16 units, people code points; a quantity
 * like "💥" in a message is 1, 2 or 4 of them (test/reliability/regressions/warning-emoji.json),
 * so the limit applies to UTF-8 bytes, the largest count, cut on a code point boundary.
 *
 * The API server drops, silently, every warning that is not valid UTF-8 or holds a control
 * character (Go's unicode.IsControl: C0, DEL and the C1 range U+0080-U+009F, which pod names and
 * annotations can carry as U+0085 or U+009B), so those become spaces, and a lone surrogate
 * becomes U+FFFD, as Go's JSON decoder would read it.
 */
export function formatWarning(message: string): string {
  const text = `${WARNING_PREFIX}${message}`
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
  if (utf8Length(text) <= MAX_WARNING_LENGTH) return text;
  let cut = '';
  let bytes = 0;
  for (const char of text) {
    bytes += utf8Length(char);
    if (bytes > MAX_WARNING_LENGTH - 3) break;
    cut += char;
  }
  return `${cut}...`;
}

const utf8 = new TextEncoder();

function utf8Length(text: string): number {
  return utf8.encode(text).length;
}

function warningsField(messages: readonly string[]): { warnings?: string[] } {
  return messages.length > 0 ? { warnings: messages.map(formatWarning) } : {};
}

function badRequest(error: string): AdmissionReviewResult {
  return { httpStatus: 400, error, outcome: 'bad-request', reason: '' };
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/**
 * A value from the request for a message. Only scalars are spelled out: JSON.stringify of a list
 * nested a few thousand deep overflows the stack, which made a 500 of a plain bad request
 * (test/reliability/regressions/deeply-nested-apiversion.json).
 */
function quote(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object' && value !== null) return 'an object';
  return clip(JSON.stringify(value));
}
