/**
 * Malformed and mutated requests for the server fuzzer, drawn from a seeded PRNG: the frozen
 * AdmissionReview fixtures and generated pods, then mutated at the JSON level (wrong types at any
 * field, deleted fields, huge strings and arrays, deep nesting, invalid quantities, missing or odd
 * `uid`, wrong `kind` and `apiVersion`) or at the byte level (truncated, bytes flipped, binary
 * garbage), plus a few HTTP-level oddities and slow senders.
 *
 * Each input says what a correct server must answer (see `expectedOf`): the oracle is the
 * AdmissionReview contract, written here independently of src/programs/webhook/review.ts.
 */
import fc from 'fast-check';
import { anyPod } from './arbitraries';
import { Random } from './mode';
import { MAX_JSON_CONTAINERS, MAX_JSON_DEPTH } from '../../../src/programs/webhook/body-shape';
import { loadFixtures } from '../../programs/webhook/support/fixtures';

export type Json = any;

export interface FuzzInput {
  /** Which generator made it, for the counts and for failure messages. */
  readonly category: string;
  readonly body: Buffer;
  readonly method?: string;
  readonly path?: string;
  /** Replaces the default `Content-Type: application/json` and `Content-Length`. */
  readonly headers?: Record<string, string>;
  /** A slow sender: the body in this many pieces, `delayMs` apart. */
  readonly pieces?: number;
  readonly delayMs?: number;
}

/** What the body must get: a review echoing `uid`, or a 4xx (`status` when it is a specific one). */
export type Expected =
  | { readonly kind: 'review'; readonly uid: string; readonly apiVersion: string; readonly object: Json }
  | { readonly kind: '4xx'; readonly status?: number };

const V1 = 'admission.k8s.io/v1';
const V1BETA1 = 'admission.k8s.io/v1beta1';

/**
 * The contract, independently of the server's code: a JSON object with `apiVersion` absent, v1 or
 * v1beta1, `kind` absent or AdmissionReview, and a `request` object with a non-empty string
 * `uid` is an AdmissionReview and gets a 200 review echoing that uid. Anything else gets a 4xx.
 */
export function expectedOf(input: FuzzInput, maxBodyBytes: number): Expected {
  const method = input.method ?? 'POST';
  const path = input.path ?? '/mutate';
  if (path !== '/mutate' || method !== 'POST') return { kind: '4xx' };
  const contentType = (input.headers?.['Content-Type'] ?? 'application/json').split(';')[0].trim().toLowerCase();
  if (contentType !== '' && contentType !== 'application/json') return { kind: '4xx', status: 415 };
  if (input.body.length > maxBodyBytes) return { kind: '4xx', status: 413 };
  let body: Json;
  try {
    body = JSON.parse(input.body.toString('utf8'));
  } catch {
    return { kind: '4xx', status: 400 };
  }
  const isObject = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(body)) return { kind: '4xx', status: 400 };
  // More nesting or more objects than the server can hold in its heap is refused before it is built.
  const shape = shapeOf(body);
  if (shape.depth > MAX_JSON_DEPTH || shape.containers > MAX_JSON_CONTAINERS) return { kind: '4xx', status: 400 };
  const apiVersion = body.apiVersion ?? V1;
  if (apiVersion !== V1 && apiVersion !== V1BETA1) return { kind: '4xx', status: 400 };
  if (body.kind !== undefined && body.kind !== 'AdmissionReview') return { kind: '4xx', status: 400 };
  if (!isObject(body.request) || typeof body.request.uid !== 'string' || body.request.uid === '') return { kind: '4xx', status: 400 };
  return { kind: 'review', uid: body.request.uid, apiVersion, object: body.request.object };
}

/** Deepest nesting and number of objects and arrays in a parsed value (iteratively: it may be deep). */
export function shapeOf(value: Json): { depth: number; containers: number } {
  let depth = 0;
  let containers = 0;
  const stack: Array<[Json, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, level] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    containers++;
    depth = Math.max(depth, level);
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, level + 1]);
  }
  return { depth, containers };
}

/** Makes fuzz inputs from a seed. */
export class FuzzInputs {
  private readonly random: Random;
  private readonly seeds: Json[];
  /** Texts of the deep values in the input being built (see `nested`). */
  private readonly deepTexts: string[] = [];
  readonly counts: Record<string, number> = {};

  constructor(seed: number, private readonly maxBodyBytes: number) {
    this.random = new Random(seed);
    const fixtures = loadFixtures().map(f => f.review);
    // Generated pods, wrapped as CREATE reviews: mutations of these reach deep into the planner.
    const pods = fc.sample(anyPod(), { seed, numRuns: 60 });
    const generated = pods.map((pod, i) => ({
      apiVersion: V1,
      kind: 'AdmissionReview',
      request: {
        uid: `gen-${seed}-${i}`,
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        namespace: 'ml',
        operation: 'CREATE',
        object: pod,
      },
    }));
    this.seeds = [...fixtures, ...generated];
  }

  next(): FuzzInput {
    const r = this.random;
    const generators: Array<[number, () => FuzzInput]> = [
      [30, () => this.mutated()],
      [10, () => this.generatedPod()],
      [8, () => this.envelope()],
      [8, () => this.quantities()],
      [8, () => this.truncated()],
      [8, () => this.flipped()],
      [5, () => this.garbage()],
      [3, () => this.deep()],
      [2, () => this.huge()],
      [3, () => this.http()],
      [1, () => this.slow()],
    ];
    const total = generators.reduce((sum, [weight]) => sum + weight, 0);
    let pick = r.next() * total;
    for (const [weight, make] of generators) {
      pick -= weight;
      if (pick < 0) {
        const input = make();
        this.counts[input.category] = (this.counts[input.category] ?? 0) + 1;
        return input;
      }
    }
    return this.mutated();
  }

  /** The largest inputs (huge and deeply nested bodies), for a warm-up that reaches peak memory first. */
  largest(n: number): FuzzInput[] {
    return Array.from({ length: n }, (_, i) => {
      const input = i % 2 === 0 ? this.huge() : this.deep();
      this.counts[input.category] = (this.counts[input.category] ?? 0) + 1;
      return input;
    });
  }

  private seed(): Json {
    return structuredClone(this.random.pick(this.seeds));
  }

  private json(value: Json, category: string, extra: Partial<FuzzInput> = {}): FuzzInput {
    const text = (JSON.stringify(value) ?? 'null').replace(/"@@deep:(\d+)@@"/g, (_, i) => this.deepTexts[Number(i)]);
    this.deepTexts.length = 0;
    return { category, body: Buffer.from(text), ...extra };
  }

  /** A value of a random JSON type, sometimes pathological. */
  private wrongValue(): Json {
    const r = this.random;
    switch (r.int(16)) {
      case 0: return null;
      case 1: return r.chance(0.5);
      case 2: return r.pick([0, -1, 1.5, 1e308, -1e308, 5e-324, 2 ** 53 + 1, -0]);
      case 3: return r.pick(['', ' ', 'null', 'true', '0', '-1', '💥', '\u0000\u001f\u007f', '\ud800', 'a'.repeat(300), '../../etc', '${Token[x]}']);
      case 4: return [];
      case 5: return {};
      case 6: return [r.pick([null, 1, 'x', {}, []])];
      case 7: return { __proto__: { polluted: true }, constructor: { prototype: 1 }, toString: 1 };
      case 8: return this.invalidQuantity();
      case 9: return 'x'.repeat(r.pick([1_000, 65_536, 200_000]));
      case 10: return Array.from({ length: r.pick([1_000, 10_000, 50_000]) }, (_, i) => (r.chance(0.5) ? {} : i));
      case 11: return this.nested(r.pick([64, 1_000, 5_000]));
      case 12: return Object.fromEntries(Array.from({ length: r.pick([100, 5_000]) }, (_, i) => [`k${i}`, i]));
      case 13: return r.pick(['Pod', 'CREATE', 'AdmissionReview', V1, 'dshm', '/dev/shm', 'Always', 'Memory', 'windows']);
      case 14: return { name: r.pick([null, 1, {}, 'dshm', '']), mountPath: r.pick([null, 5, '/dev/shm', '/dev/shm/', '']), emptyDir: r.pick([null, 1, {}, { medium: 'Memory', sizeLimit: this.invalidQuantity() }]) };
      default: return r.pick([{ memory: '1Gi' }, { limits: { memory: '2Gi' } }, [{ name: 'x' }]]);
    }
  }

  private invalidQuantity(): Json {
    return this.random.pick([
      '1K', '1i', '0.1mi', ' 1Gi', '1Gi ', '1 Gi', '-1Gi', '--1', '1e', '1e+', 'e9', '1.2.3', '..5', '1Gii', 'Gi', '', '∞', 'NaN', 'Infinity',
      '1e999999999', '1e-999999999', '9'.repeat(1_100), `0.${'0'.repeat(900)}1`, `1${'0'.repeat(1_000)}`, '1E1E1', '0x10', '1_000', '١٢٣',
      1e308, -5, 0.5, '99999999999999999999Ei', '1e18446744073709551616', '+.5', '-.5e-5', '1toString', '1__proto__', '1constructor',
    ]);
  }

  /**
   * A value nested `depth` deep. Deeper than JSON.stringify can recurse in this process, so it is a
   * placeholder whose text `json()` splices in.
   */
  private nested(depth: number): Json {
    const [open, close] = this.random.chance(0.5) ? ['[', ']'] : ['{"a":', '}'];
    const text = `${open.repeat(depth)}${this.random.chance(0.5) ? '1' : '"leaf"'}${close.repeat(depth)}`;
    const index = this.deepTexts.push(text) - 1;
    return { toJSON: () => `@@deep:${index}@@` };
  }

  /** All paths into a JSON value (objects and arrays), up to a bound. */
  private paths(value: Json): Array<Array<string | number>> {
    const out: Array<Array<string | number>> = [];
    const walk = (node: Json, path: Array<string | number>) => {
      if (out.length > 2_000) return;
      out.push(path);
      if (Array.isArray(node)) node.slice(0, 50).forEach((child, i) => walk(child, [...path, i]));
      else if (node !== null && typeof node === 'object') for (const key of Object.keys(node).slice(0, 50)) walk(node[key], [...path, key]);
    };
    walk(value, []);
    return out;
  }

  private setAt(root: Json, path: Array<string | number>, value: Json, remove = false): Json {
    if (path.length === 0) return value;
    let node = root;
    for (const key of path.slice(0, -1)) node = node[key];
    const last = path[path.length - 1];
    if (remove) {
      if (Array.isArray(node)) node.splice(Number(last), 1);
      else delete node[last];
    } else {
      node[last] = value;
    }
    return root;
  }

  /** Wrong types, deletions and odd values at 1-4 random places of a real review. */
  private mutated(): FuzzInput {
    let review = this.seed();
    const times = 1 + this.random.int(4);
    for (let i = 0; i < times; i++) {
      const paths = this.paths(review);
      // Favour the pod: that is where the planner looks.
      const inPod = paths.filter(p => p[0] === 'request' && p[1] === 'object');
      const path = this.random.chance(0.7) && inPod.length > 0 ? this.random.pick(inPod) : this.random.pick(paths);
      review = this.setAt(review, path, this.wrongValue(), path.length > 0 && this.random.chance(0.25));
    }
    return this.json(review, 'mutated-field');
  }

  private generatedPod(): FuzzInput {
    const review = this.seed();
    if (review?.request) review.request.uid = `uid-${this.random.int(1e9)}`;
    return this.json(review, 'valid-review');
  }

  /** The envelope: uid, kind, apiVersion, request, operation, resource, in wrong or missing forms. */
  private envelope(): FuzzInput {
    const r = this.random;
    const review = this.seed();
    const request = review.request;
    switch (r.int(10)) {
      case 0: delete request.uid; break;
      case 1: request.uid = r.pick(['', 0, 123, null, {}, [], true, ['a'], 'ü'.repeat(5_000), '\u0000']); break;
      case 2: review.kind = r.pick(['AdmissionResponse', 'Pod', '', null, 5, ['AdmissionReview'], { kind: 'AdmissionReview' }]); break;
      case 3: review.apiVersion = r.pick(['admission.k8s.io/v2', 'v1', '', null, 7, [V1], this.nested(10_000)]); break;
      case 4: return this.json(r.pick([{ ...review, request: null }, { ...review, request: [] }, { ...review, request: 'x' }, { apiVersion: V1 }, {}, [], [review], null, 0, 'review']), 'envelope');
      case 5: request.operation = r.pick(['UPDATE', 'DELETE', 'CONNECT', 'create', '', null, 5, {}, this.nested(10_000)]); break;
      case 6: request.kind = r.pick([{ group: 'apps', version: 'v1', kind: 'Deployment' }, { kind: 'Pod', group: null }, 'Pod', null, [], { kind: this.nested(5_000) }]); break;
      case 7: request.object = r.pick([null, 'pod', 5, [], {}, { spec: null }, { spec: [] }, { metadata: 'x', spec: {} }, this.nested(8_000)]); break;
      case 8: review.kind = this.nested(20_000); break;
      default: request.subResource = r.pick(['status', '', null, 5, 'ephemeralcontainers']); break;
    }
    return this.json(review, 'envelope');
  }

  /** Memory quantities, valid and not, in every place the planner reads one. */
  private quantities(): FuzzInput {
    const review = this.seed();
    const spec = review?.request?.object?.spec;
    if (spec && typeof spec === 'object') {
      const value = () => (this.random.chance(0.6) ? this.invalidQuantity() : this.random.pick(['1Gi', '966367641600m', '129e6', '1E', '9Ei', '0', 0, '1n', 1.5]));
      for (const field of ['containers', 'initContainers']) {
        for (const container of Array.isArray(spec[field]) ? spec[field] : []) {
          if (container && typeof container === 'object' && this.random.chance(0.7)) container.resources = { limits: { memory: value() } };
        }
      }
      if (this.random.chance(0.3)) spec.resources = { limits: { memory: value() } };
      if (this.random.chance(0.3)) spec.overhead = { memory: value() };
      const metadata = review.request.object.metadata ?? (review.request.object.metadata = {});
      if (this.random.chance(0.4)) metadata.annotations = { 'cdk8s-shm.io/size': value(), ...(this.random.chance(0.3) ? { 'cdk8s-shm.io/ratio': String(value()) } : {}) };
      if (this.random.chance(0.2)) {
        spec.volumes = [{ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: value() } }];
        metadata.annotations = { ...metadata.annotations, 'cdk8s-shm.io/size-limit': String(value()) };
      }
    }
    return this.json(review, 'quantities');
  }

  private text(): string {
    return JSON.stringify(this.seed());
  }

  private truncated(): FuzzInput {
    const text = this.text();
    return { category: 'truncated', body: Buffer.from(text.slice(0, this.random.int(text.length))) };
  }

  private flipped(): FuzzInput {
    const body = Buffer.from(this.text());
    const times = 1 + this.random.int(8);
    // JSON's own punctuation, NUL, and bytes that break UTF-8.
    const bytes = [0x00, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0xff, 0xc3, 0x80];
    for (let i = 0; i < times; i++) body[this.random.int(body.length)] = this.random.chance(0.8) ? this.random.pick(bytes) : this.random.int(256);
    return { category: 'bytes-flipped', body };
  }

  private garbage(): FuzzInput {
    const r = this.random;
    const length = r.pick([0, 1, 2, 16, 1_000, 65_536, 300_000]);
    const body = r.chance(0.3) ? Buffer.from(r.pick(['{', '}', '[]', '""', 'null', '\ufeff{}', '{"request":', '\u0000', 'true', '1e99999'])) : r.bytes(length);
    return { category: 'binary-garbage', body };
  }

  /** Deep nesting of the whole body or of one field, up to the body limit. */
  private deep(): FuzzInput {
    const r = this.random;
    const open = r.chance(0.5) ? '[' : '{"a":';
    const close = open === '[' ? ']' : '}';
    // Around the server's nesting bound, up to what just fits the body limit, and past it.
    const fits = Math.floor((this.maxBodyBytes - 4_096) / (open.length + close.length));
    const depth = r.pick([999, 1_001, 100_000, 500_000, fits, fits * 2]);
    const closed = r.chance(0.7);
    if (r.chance(0.5)) {
      const inner = closed ? `${open.repeat(depth)}1${close.repeat(depth)}` : open.repeat(depth);
      return { category: 'deep-nesting', body: Buffer.from(inner) };
    }
    // Inside a real review, at a field the server reads.
    const review = this.seed();
    const marker = '"__DEEP__"';
    const field = r.pick(['apiVersion', 'kind', 'request.operation', 'request.object', 'request.object.metadata', 'request.object.spec.containers', 'request.uid', 'request.kind']);
    const keys = field.split('.');
    let node = review;
    for (const key of keys.slice(0, -1)) node = node?.[key] ?? {};
    if (node && typeof node === 'object') node[keys[keys.length - 1]] = '__DEEP__';
    const text = JSON.stringify(review).replace(marker, `${open.repeat(depth)}1${close.repeat(depth)}`);
    return { category: 'deep-nesting', body: Buffer.from(text) };
  }

  /** Huge strings and arrays, just under and just over the body limit. */
  private huge(): FuzzInput {
    const r = this.random;
    const review = this.seed();
    const room = this.maxBodyBytes - JSON.stringify(review).length - 64;
    switch (r.int(5)) {
      case 0: review.request.object = { ...review.request.object, metadata: { ...review.request.object?.metadata, annotations: { big: 'x'.repeat(room) } } }; break;
      case 1: review.request.object = { ...review.request.object, spec: { ...review.request.object?.spec, containers: Array.from({ length: r.pick([Math.floor(room / 80), 30_000]) }, (_, i) => ({ name: `c${i}`, resources: { limits: { memory: '1Mi' } } })) } }; break;
      case 2: {
        const volumes = Array.from({ length: Math.floor(room / 3) }, () => ({}));
        review.request.object = { ...review.request.object, spec: { ...review.request.object?.spec, volumes } };
        break;
      }
      case 3: review.request.uid = 'u'.repeat(room); break;
      default: review.padding = 'x'.repeat(this.maxBodyBytes + r.int(1_000)); break;
    }
    return this.json(review, 'huge');
  }

  /** HTTP-level oddities: other methods, paths and content types, chunked bodies. */
  private http(): FuzzInput {
    const r = this.random;
    const body = Buffer.from(this.text());
    switch (r.int(5)) {
      case 0: return { category: 'http', body, headers: { 'Content-Type': r.pick(['text/plain', 'application/yaml', 'multipart/form-data; boundary=x', 'application/json-patch+json']), 'Content-Length': String(body.length) } };
      case 1: return { category: 'http', body, headers: { 'Content-Type': 'application/json; charset=utf-8', 'Transfer-Encoding': 'chunked' } };
      case 2: return { category: 'http', body: Buffer.alloc(0), method: r.pick(['GET', 'PUT', 'DELETE', 'PATCH']), path: '/mutate' };
      case 3: return { category: 'http', body, path: r.pick(['/', '/mutate/', '/MUTATE', '/mutate/../healthz', '/%00', `/${'a'.repeat(5_000)}`]) };
      default: return { category: 'http', body, headers: { 'Content-Type': '', 'Content-Length': String(body.length) } };
    }
  }

  /** A sender that trickles its body: it must still be answered (well inside the request timeout). */
  private slow(): FuzzInput {
    const input = this.random.chance(0.5) ? this.generatedPod() : this.mutated();
    return { ...input, category: 'slow-sender', pieces: 2 + this.random.int(5), delayMs: 20 + this.random.int(200) };
  }
}
