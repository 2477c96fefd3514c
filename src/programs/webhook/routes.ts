/**
 * The webhook's routes: `POST /mutate` (an AdmissionReview in, its answer out, with the body
 * limits), `/healthz`, `/readyz` and `/metrics` on the serving port, and `GET /metrics` alone on
 * the metrics port. The decision is `reviewAdmission`'s; the server (server.ts) owns the sockets.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { jsonShape } from './body-shape';
import { parseJsonBody } from './json-body';
import { LimitGuard } from './limit-guard';
import { WebhookMetrics } from './metrics';
import { AdmissionReviewResult, growsLimits, leaveUnchanged, reviewAdmission } from './review';
import { Policy } from '../../core';
import { Logger } from '../shared/log';

/** What the routes need from the server that runs them. */
export interface RouteContext {
  readonly metrics: WebhookMetrics;
  readonly log: Logger;
  readonly policy: Policy;
  readonly maxBodyBytes: number;
  /** Checks an answer that grows limits (`limitFollows`) against the namespace's LimitRanges and quotas. */
  readonly limitGuard: LimitGuard;
  /** The server is draining: every answer is its connection's last, and /readyz says so. */
  draining(): boolean;
  /** Why the server cannot serve admission yet (the caBundle is not published), if it cannot. */
  notReady(): string | undefined;
}

function send(ctx: RouteContext, res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  if (status >= 400) ctx.metrics.httpErrors.inc({ code: String(status) });
  const headers: Record<string, string | number> = { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) };
  // While draining, every answer is the connection's last, so keep-alive connections end with it.
  if (ctx.draining()) headers.Connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
}

function sendMetrics(ctx: RouteContext, res: ServerResponse): void {
  ctx.metrics.render().then(
    text => send(ctx, res, 200, text, ctx.metrics.contentType),
    error => {
      ctx.log.error('metrics failed', { error });
      send(ctx, res, 500, 'internal error\n');
    },
  );
}

/** The metrics port serves `GET /metrics` and nothing else, in plain HTTP. */
export function handleMetricsRequest(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): void {
  if ((req.url ?? '/').split('?')[0] !== '/metrics') {
    send(ctx, res, 404, 'not found\n');
  } else if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(ctx, res, 405, 'use GET\n');
  } else {
    sendMetrics(ctx, res);
  }
}

export function handleRequest(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0];
  const method = req.method ?? 'GET';
  if (path === '/mutate') {
    if (method !== 'POST') {
      res.setHeader('Allow', 'POST');
      send(ctx, res, 405, 'use POST\n');
      return;
    }
    mutate(ctx, req, res);
    return;
  }
  const routes: Record<string, () => void> = {
    '/healthz': () => send(ctx, res, 200, 'ok\n'),
    '/readyz': () => {
      const notReady = ctx.draining() ? 'draining' : ctx.notReady();
      send(ctx, res, notReady ? 503 : 200, `${notReady ?? 'ok'}\n`);
    },
    '/metrics': () => sendMetrics(ctx, res),
  };
  const route = routes[path];
  if (!route) {
    send(ctx, res, 404, 'not found\n');
    return;
  }
  if (method !== 'GET' && method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(ctx, res, 405, 'use GET\n');
    return;
  }
  route();
}

/** How one admission call ends: answered once, counted, timed and logged. */
interface AdmissionCall {
  readonly done: boolean;
  finish(result: Pick<AdmissionReviewResult, 'outcome' | 'reason'>, status: number, body: string, extra?: Record<string, unknown>): void;
  refuse(status: number, message: string): void;
  /** The client went away: nothing to answer, nothing to count but the call no longer in flight. */
  abandon(): void;
}

/** `POST /mutate`: the body in within its limits, then the review out. */
function mutate(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): void {
  const call = startCall(ctx, res);
  // A refusal decided before the whole body is in is sent once the rest has arrived, discarded
  // unread: answering and closing while the client still writes resets the connection, and the
  // client loses the answer with the reset (test/reliability/regressions/oversized-body-reset.json).
  // The request timeout bounds how long a client can keep sending.
  let refusal = refusalFromHeaders(req, ctx.maxBodyBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    if (call.done || refusal) return;
    size += chunk.length;
    if (size > ctx.maxBodyBytes) {
      refusal = { status: 413, message: `the body exceeds the ${ctx.maxBodyBytes}-byte limit` };
      chunks.length = 0;
      return;
    }
    chunks.push(chunk);
  });
  req.on('error', () => call.abandon());
  req.on('end', () => {
    if (call.done) return;
    if (refusal) call.refuse(refusal.status, refusal.message);
    else if (size === 0) call.refuse(400, 'the body is empty; expected an AdmissionReview');
    else answerReview(ctx, Buffer.concat(chunks), call);
  });
}

function startCall(ctx: RouteContext, res: ServerResponse): AdmissionCall {
  const { metrics, log } = ctx;
  const started = process.hrtime.bigint();
  metrics.inFlight.inc();
  const end = () => {
    call.done = true;
    metrics.inFlight.dec();
  };
  // `done` is a field, not a getter: in V8 an object literal with a getter gets a hidden class of
  // its own each time, so a getter here made one per request, and those filled the old generation
  // (a full collection every 1,000 requests; BENCHMARKS.md, "Pod creation").
  const call: { -readonly [K in keyof AdmissionCall]: AdmissionCall[K] } = {
    done: false,
    finish: (result, status, body, extra = {}) => {
      if (call.done) return;
      end();
      metrics.admissionRequests.inc({ outcome: result.outcome, reason: result.reason });
      if (status >= 400) {
        // The body is in by now (see `mutate`); a client that sends bad requests gets a fresh start.
        res.setHeader('Connection', 'close');
        log.warn('refused an admission request', { status, ...extra });
      }
      send(ctx, res, status, body, status === 200 ? 'application/json' : 'text/plain; charset=utf-8');
      metrics.admissionDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    },
    refuse: (status, message) => call.finish({ outcome: 'bad-request', reason: '' }, status, `${message}\n`, { error: message }),
    abandon: () => {
      if (!call.done) end();
    },
  };
  return call;
}

/** A refusal the headers already decide: a body that is not JSON, or declared larger than the limit. */
function refusalFromHeaders(req: IncomingMessage, maxBodyBytes: number): { status: number; message: string } | undefined {
  const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const declared = Number(req.headers['content-length']);
  if (contentType !== '' && contentType !== 'application/json') return { status: 415, message: `Content-Type ${contentType} is not application/json` };
  if (declared > maxBodyBytes) return { status: 413, message: `the body (${declared} bytes) exceeds the ${maxBodyBytes}-byte limit` };
  return undefined;
}

/** The whole body in: its shape checked, read as JSON, reviewed, and the answer sent. */
function answerReview(ctx: RouteContext, raw: Buffer, call: AdmissionCall): void {
  const shape = jsonShape(raw);
  if (shape.problem) {
    call.refuse(400, `${shape.problem}; expected an AdmissionReview`);
    return;
  }
  let body: unknown;
  try {
    body = parseJsonBody(raw, shape);
  } catch {
    call.refuse(400, 'the body is not JSON; expected an AdmissionReview');
    return;
  }
  let result: AdmissionReviewResult;
  try {
    result = reviewAdmission(body, ctx.policy);
  } catch (error) {
    // reviewAdmission does not throw; if it ever does, the API server's failurePolicy decides.
    ctx.log.error('review failed', { error });
    call.finish({ outcome: 'error', reason: '' }, 500, 'internal error\n');
    return;
  }
  if (result.httpStatus !== 200 || !result.review) {
    call.refuse(400, result.error ?? 'not an AdmissionReview');
    return;
  }
  const answer = (final: AdmissionReviewResult) => {
    logAdmission(ctx.log, final);
    call.finish(final, 200, JSON.stringify(final.review));
  };
  // Only an answer that grows limits waits for the guard; every other one goes out at once.
  if (!growsLimits(result)) {
    answer(result);
    return;
  }
  const pod = (body as { request: { object?: unknown } }).request.object;
  // The guard never rejects; the catch is for a bug of ours, which must still answer, and grow nothing unchecked.
  void ctx.limitGuard.review(result, pod)
    .catch(() => leaveUnchanged(result, 'limit-unverified', ['limitFollows not applied, pod unchanged: internal error']))
    .then(answer);
}

function logAdmission(log: Logger, result: AdmissionReviewResult): void {
  const fields = {
    uid: result.uid,
    pod: result.pod,
    outcome: result.outcome,
    reason: result.reason || undefined,
    size: result.plan?.size ?? result.resize?.rule,
    dryRun: result.dryRun || undefined,
    message: result.plan?.message ?? result.resize?.message,
  };
  // A line per mutated pod was a third of the server's cost per request (BENCHMARKS.md), and it
  // repeats what is already recorded: the pod carries cdk8s-shm.io/size-limit, the API server's
  // audit log records every webhook patch, and /metrics counts outcomes. Denials stay visible.
  if (result.outcome === 'deny') log.info('admission', fields);
  else log.debug('admission', fields);
}
