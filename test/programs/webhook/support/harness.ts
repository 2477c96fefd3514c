/**
 * Stands in for kube-apiserver calling a mutating webhook: AdmissionReview v1 over real HTTPS,
 * the server certificate checked against the CA bundle under the Service's DNS name, the `uid`
 * checked, the patch decoded and applied with a standard RFC 6902 library (which fails on a patch
 * that does not apply, as the API server does), and the patched pod checked against the Pod
 * schema and the Pod rules the schema cannot express.
 */
import * as https from 'https';
import { Operation, applyPatch, deepClone } from 'fast-json-patch';
import { withPod } from './fixtures';
import { SERVICE_DNS } from './tls';
import { podRuleViolations } from '../../../support/pod-rules';
import { expectValidAgainstSchema } from '../../../support/schema';

export interface WebhookTarget {
  readonly port: number;
  /** The caBundle of the webhook configuration. */
  readonly ca: string;
  /** @default the Service DNS name */
  readonly servername?: string;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The certificate the server presented. */
  readonly peerCertificate?: { serialNumber: string; fingerprint256: string };
}

export interface RequestOptions {
  readonly method?: string;
  readonly path?: string;
  readonly body?: string | Buffer;
  readonly headers?: Record<string, string>;
  readonly agent?: https.Agent;
  readonly timeoutMs?: number;
}

export function httpsRequest(target: WebhookTarget, options: RequestOptions = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const body = options.body;
    const req = https.request({
      host: '127.0.0.1',
      port: target.port,
      servername: target.servername ?? SERVICE_DNS,
      ca: target.ca,
      method: options.method ?? 'GET',
      path: options.path ?? '/',
      agent: options.agent ?? false,
      headers: {
        ...(body !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) } : {}),
        ...options.headers,
      },
      timeout: options.timeoutMs ?? 30_000,
    }, res => {
      const chunks: Buffer[] = [];
      const socket = res.socket as import('tls').TLSSocket;
      const peer = socket.getPeerCertificate?.();
      res.on('data', chunk => chunks.push(chunk));
      res.on('end', () => resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        text: Buffer.concat(chunks).toString('utf8'),
        peerCertificate: peer && peer.serialNumber ? { serialNumber: peer.serialNumber, fingerprint256: peer.fingerprint256 } : undefined,
      }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** What the API server makes of one webhook call. */
export interface Admission {
  readonly allowed: boolean;
  readonly response: any;
  readonly warnings: string[];
  readonly ops: Operation[];
  /** The pod after the patch (the original when there is none). */
  readonly patched: any;
}

/** Sends one review and checks the answer as kube-apiserver would; throws on anything it would reject. */
export async function admit(target: WebhookTarget, review: any): Promise<Admission> {
  const answer = await httpsRequest(target, { method: 'POST', path: '/mutate', body: JSON.stringify(review) });
  if (answer.status !== 200) throw new Error(`HTTP ${answer.status}: ${answer.text}`);
  const body = JSON.parse(answer.text);
  expect(body.apiVersion).toBe(review.apiVersion ?? 'admission.k8s.io/v1');
  expect(body.kind).toBe('AdmissionReview');
  const response = body.response;
  expect(response.uid).toBe(review.request.uid);
  expect(typeof response.allowed).toBe('boolean');
  const warnings: string[] = response.warnings ?? [];
  for (const warning of warnings) expect(warning.length).toBeLessThan(120);

  let ops: Operation[] = [];
  let patched = review.request.object;
  if (response.patch !== undefined) {
    expect(response.patchType).toBe('JSONPatch');
    expect(response.allowed).toBe(true);
    ops = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'));
    expect(Array.isArray(ops)).toBe(true);
    // validateOperation: true makes the library reject what the API server rejects (missing parents, bad paths).
    patched = applyPatch(deepClone(review.request.object), ops, true, false).newDocument;
  } else {
    expect(response.patchType).toBeUndefined();
  }
  return { allowed: response.allowed, response, warnings, ops, patched };
}

/** Admits a review, then admits the patched pod again (reinvocation): the second call must change nothing. */
export async function admitAndReinvoke(target: WebhookTarget, review: any): Promise<{ first: Admission; second: Admission }> {
  const first = await admit(target, review);
  const second = await admit(target, withPod(review, first.patched));
  expect(second.ops).toEqual([]);
  expect(second.allowed).toBe(first.allowed);
  return { first, second };
}

/** The pod as the API server would store it: schema-valid, unique volume names and mount paths. */
export function expectValidPods(pods: readonly any[]): void {
  const objects = pods.map(pod => ({ apiVersion: 'v1', kind: 'Pod', ...pod }));
  for (const pod of objects) {
    const name = pod.metadata?.name ?? pod.metadata?.generateName;
    expect({ name, problems: podRuleViolations(pod.spec) }).toEqual({ name, problems: [] });
  }
  expectValidAgainstSchema(objects);
}
