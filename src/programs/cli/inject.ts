/**
 * The work behind `inject`, `plan` and `check`: find every pod template in a stream of manifests,
 * ask the core for its `/dev/shm` plan, and apply the core's patch to the YAML.
 *
 * Pure apart from its inputs (no I/O), so tests call it in-process. Input is taken a chunk at a
 * time (`ManifestProcessor`) and each document is planned, patched and written out as soon as it
 * is read, so that only the output waits in memory (until all input is read: broken YAML anywhere
 * yields no output).
 */
import { Document, Node, isScalar } from 'yaml';
import { DocumentReader, FilePiece, InputError, SourceDocument, SourceFile, TextSink, appendFile, plainValue, stringifyDocument } from './documents';
import { applyPatchToJson, applyPatchToYaml } from './yaml-patch';
import {
  ANNOTATION_PREFIX, JsonObject, JsonPatchOperation, Planner, Policy, QUIET_SKIP_REASONS, ResizePlan, ShmPlan, UnhonouredAnnotations,
  describeObject, isObject, misplacedAnnotations, objectAt, planLivePod, planSharedMemory, planToPatch, podTemplateOf, podWithLimitsInForce,
} from '../../core';

/** What was decided for one workload. */
export interface WorkloadReport {
  /** The file, or `<stdin>`. */
  readonly file: string;
  /** 1-based line where the object starts. */
  readonly line: number;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  /** `Deployment 'web' in namespace 'shop'`. */
  readonly object: string;
  readonly plan: ShmPlan;
  /** The `sizeLimit` our volume had before (for `update` and `unchanged`). */
  readonly currentSize?: string;
  /** The pod template's `cdk8s-shm.io/` annotations. */
  readonly annotations: Readonly<Record<string, string>>;
  /** The core's operations, relative to the object (also when it sits in a List). */
  readonly patch: readonly JsonPatchOperation[];
  /** `cdk8s-shm.io/` annotations on the workload's own metadata, which reach no pod. */
  readonly misplaced?: UnhonouredAnnotations;
  /**
   * A live pod (`kubectl get pods -o yaml`) with a `/dev/shm` of ours: its size against the rule
   * under the limits in force, which an in-place resize may have changed since it was mounted.
   */
  readonly running?: ResizePlan;
}

/** Something worth a line on standard error. */
export interface Notice {
  readonly file: string;
  readonly line: number;
  readonly message: string;
  /** About a workload's plan (plan and check show these in their own output). */
  readonly aboutWorkload: boolean;
}

/** The result of reading a stream of manifests. */
export interface ManifestResult {
  /** The manifests with every planned patch applied (joined into one string when first read). */
  readonly output: string;
  /** Writes the same text in pieces, without joining it into one string first. */
  readonly writeOutput: (write: (text: string) => void) => void;
  /** Every workload, or only the denied ones when `keepWorkloads` was false. */
  readonly workloads: readonly WorkloadReport[];
  readonly notices: readonly Notice[];
}

/** How much of the result to keep. */
export interface ManifestOptions {
  /**
   * Keep the report of every workload (`plan` and `check` print them); when false, only the
   * denied ones, which is all `inject` needs, so that its memory does not grow with the workloads.
   * @default true
   */
  readonly keepWorkloads?: boolean;
  /** How pods are planned: as the webhook does, or as the admission policy does. @default planSharedMemory */
  readonly planner?: Planner;
}

/**
 * Reads manifests as they arrive and plans (and applies) `/dev/shm` for every pod template in
 * them, a document at a time. `beginFile` a file, `write` its text in chunks of any size, `end`
 * it; then take the `result`.
 */
export class ManifestProcessor {
  private readonly output = new TextSink();
  private readonly workloads: WorkloadReport[] = [];
  private readonly notices: Notice[] = [];
  private readonly keepAll: boolean;
  private readonly planner: Planner;

  constructor(private readonly policy: Policy, options: ManifestOptions = {}) {
    this.keepAll = options.keepWorkloads !== false;
    this.planner = options.planner ?? planSharedMemory;
  }

  /**
   * Starts reading a file.
   * @param name the name messages give it (`<stdin>` for standard input)
   * @throws InputError (from `write` and `end`) for YAML that does not parse
   */
  public beginFile(name: string): { write(chunk: string): void; end(): void } {
    const reader = new DocumentReader(name);
    const out = new TextSink();
    let index = 0;
    const take = (pieces: Iterable<FilePiece>) => {
      for (const piece of pieces) {
        if (piece.kind === 'text') {
          out.add(piece.text);
          continue;
        }
        const changed = this.processDocument(piece.document, index++, name);
        if (changed === undefined) out.add(piece.document.text);
        // `---` right after a document that ended without a newline must start on a line of its own.
        else out.addOnNewLine(changed);
      }
    };
    return {
      write: chunk => take(reader.write(chunk)),
      end: () => {
        take(reader.end());
        appendFile(this.output, out);
      },
    };
  }

  /** What every file gave; call once, after the last file's `end`. */
  public result(): ManifestResult {
    const output = this.output;
    let joined: string | undefined;
    return {
      get output() {
        joined ??= output.toString();
        return joined;
      },
      writeOutput: write => output.writeTo(write),
      workloads: this.workloads,
      notices: this.notices,
    };
  }

  private processDocument(document: SourceDocument, index: number, file: string): string | undefined {
    return processDocument(document, index, file, this.policy, this.planner, workload => {
      if (this.keepAll || workload.plan.action === 'deny') this.workloads.push(workload);
    }, this.notices);
  }
}

/**
 * Reads manifests and plans (and applies) `/dev/shm` for every pod template in them.
 * @throws InputError for YAML that does not parse
 */
export function processManifests(files: readonly SourceFile[], policy: Policy, options: ManifestOptions = {}): ManifestResult {
  const processor = new ManifestProcessor(policy, options);
  for (const file of files) {
    const reader = processor.beginFile(file.name);
    reader.write(file.text);
    reader.end();
  }
  return processor.result();
}

/** `processManifests` for one text. */
export function injectDocuments(text: string, policy: Policy, name = '<stdin>'): ManifestResult {
  return processManifests([{ name, text }], policy);
}

/** Plans one document and applies its patch; returns its new text, or undefined to keep it as it was. */
function processDocument(document: SourceDocument, index: number, fileName: string, policy: Policy, planner: Planner,
  report: (workload: WorkloadReport) => void, notices: Notice[]): string | undefined {
  const doc = document.doc;
  // An empty document (or comments only): its contents are null, or a null scalar.
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return undefined;
  const lineOf = (node: unknown) => document.lines.linePos((node as Node | undefined)?.range?.[0] ?? document.start).line;
  const docLine = lineOf(doc.contents);
  let value: unknown;
  try {
    value = plainValue(doc);
  } catch (error) {
    throw new InputError(`${fileName}:${docLine}: ${(error as Error).message}`);
  }
  // Notices are kept until the input ends; a message built from values read out of the YAML can
  // be a slice of the parser's input text, which would keep that whole text alive: copy it.
  const note = (line: number, message: string, aboutWorkload = false) =>
    notices.push({ file: fileName, line, message: ownCopy(message), aboutWorkload });
  if (!isKubernetesObject(value)) {
    note(docLine, `document ${index + 1} is not a Kubernetes object (it needs apiVersion and kind): passed through unchanged`);
    return undefined;
  }

  // The objects to look at: the document itself, or the items of a List.
  const objects: { object: unknown; base: string; line: number }[] = [];
  if (isList(value)) {
    value.items.forEach((item, i) => {
      const line = lineOf(doc.getIn(['items', i], true));
      if (isKubernetesObject(item)) objects.push({ object: item, base: `/items/${i}`, line });
      else note(line, `item ${i + 1} of ${describeObject(value)} is not a Kubernetes object: passed through unchanged`);
    });
  } else {
    objects.push({ object: value, base: '', line: docLine });
  }

  const ops: JsonPatchOperation[] = [];
  for (const { object, base, line } of objects) {
    const workload = planObject(object, policy, planner, fileName, line);
    if (!workload) continue;
    report(workload);
    for (const message of workloadNotices(workload)) note(line, message, true);
    ops.push(...workload.patch.map(op => ({ ...op, path: `${base}${op.path}` })));
  }
  if (ops.length === 0) return undefined;

  const expected = applyPatchToJson(value, ops);
  let patched = expected;
  if (!applyPatchToYaml(doc, ops, expected)) {
    // The in-place edit went wrong somewhere (an exotic use of anchors): fall back to the JSON.
    doc.contents = doc.createNode(expected) as Document['contents'];
    patched = plainValue(doc);
    note(docLine, `${describeObject(value)} was rewritten from its JSON form: comments and anchors inside it are lost`);
  }
  // In place, the document's value was just compared with `expected`.
  verifyPatched(patched, objects.map(o => o.base), policy, fileName, docLine);
  return stringifyDocument(document);
}

function planObject(object: unknown, policy: Policy, planner: Planner, file: string, line: number): WorkloadReport | undefined {
  const location = podTemplateOf(object);
  if (!location) return undefined;
  const metadata = objectAt(objectAt(object)?.metadata);
  // A live pod is planned under the limits in force (its status), as the kubelet sized nothing else.
  const running = runningPlan(object, policy);
  const plan = planner(running ? podWithLimitsInForce(object as JsonObject) : location.template, policy);
  const volume = (objectAt(location.template.spec)?.volumes as unknown[] | undefined);
  // The plan's volume: the policy's name, unless the pod names another or brought its own.
  const ours = Array.isArray(volume) ? volume.map(objectAt).find(v => v?.name === plan.volumeName) : undefined;
  const currentSize = objectAt(ours?.emptyDir)?.sizeLimit;
  const annotations = Object.fromEntries(Object.entries(objectAt(objectAt(location.template.metadata)?.annotations) ?? {})
    .filter((entry): entry is [string, string] => entry[0].startsWith(ANNOTATION_PREFIX) && typeof entry[1] === 'string'));
  return {
    file,
    line,
    kind: String(objectAt(object)?.kind),
    name: typeof metadata?.name === 'string' ? metadata.name : typeof metadata?.generateName === 'string' ? `${metadata.generateName}*` : '(unnamed)',
    namespace: typeof metadata?.namespace === 'string' ? metadata.namespace : undefined,
    object: describeObject(object),
    plan,
    currentSize: plan.action === 'update' || plan.action === 'unchanged'
      ? (typeof currentSize === 'string' || typeof currentSize === 'number' ? String(currentSize) : undefined)
      : undefined,
    annotations,
    // A running pod's volumes cannot change by a new manifest: it is reported, never patched.
    patch: running ? [] : planToPatch(plan, location.path),
    misplaced: misplacedAnnotations(object),
    ...(running ? { running } : {}),
  };
}

/** A live pod's plan, when the pod has a `/dev/shm` of ours. */
function runningPlan(object: unknown, policy: Policy): ResizePlan | undefined {
  const live = planLivePod(object as JsonObject, policy);
  return live && live.action !== 'not-ours' ? live : undefined;
}

/** The warnings a workload's plan carries, as `inject` prints them. */
function workloadNotices(report: WorkloadReport): string[] {
  const { plan, object } = report;
  const messages = plan.warnings.map(w => `${object}: ${w.message}`);
  if (report.misplaced) messages.push(`${object}: ${report.misplaced.message}`);
  if (plan.action === 'skip' && plan.reason && !QUIET_SKIP_REASONS.has(plan.reason)) messages.push(`${object}: no /dev/shm: ${plan.message}`);
  if (plan.action === 'deny') messages.push(`${object}: denied: ${plan.message}`);
  return messages;
}

/** After the patch, the core must find nothing left to do; anything else is our bug. */
function verifyPatched(value: unknown, bases: readonly string[], policy: Policy, file: string, line: number): void {
  for (const base of bases) {
    let object: unknown = value;
    for (const token of base.split('/').slice(1)) object = (object as Record<string, unknown>)?.[token];
    const location = podTemplateOf(object);
    if (!location || runningPlan(object, policy)) continue;
    const again = planSharedMemory(location.template, policy);
    if (again.action === 'inject' || again.action === 'update') {
      throw new Error(`${file}:${line}: the patch of ${describeObject(object)} did not apply (${again.message}); please report this`);
    }
  }
}

function isKubernetesObject(value: unknown): value is Record<string, unknown> {
  return isObject(value) && typeof value.apiVersion === 'string' && value.apiVersion !== '' && typeof value.kind === 'string' && value.kind !== '';
}

/** `v1 List`, or any `...List` kind with `items`, as kubectl reads them. */
function isList(value: Record<string, unknown>): value is Record<string, unknown> & { items: unknown[] } {
  return typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items);
}

/** A string that shares no storage with the one given (V8 may keep a substring as a view of its parent). */
function ownCopy(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}
