/**
 * The work behind `inject`, `plan` and `check`: find every pod template in a stream of manifests,
 * ask the core for its `/dev/shm` plan, and apply the core's patch to the YAML.
 *
 * Pure apart from its inputs (no I/O), so tests call it in-process.
 */
import { Document, Node, isScalar } from 'yaml';
import {
  ANNOTATION_PREFIX, JsonPatchOperation, Policy, QUIET_SKIP_REASONS, ShmPlan,
  describeObject, isObject, objectAt, planSharedMemory, planToPatch, podTemplateOf,
} from '../core';
import { InputError, ParsedFile, SourceDocument, SourceFile, joinFiles, parseFile, renderFile, stringifyDocument } from './documents';
import { applyPatchToJson, applyPatchToYaml } from './yaml-patch';

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
  /** The manifests with every planned patch applied. */
  readonly output: string;
  readonly workloads: readonly WorkloadReport[];
  readonly notices: readonly Notice[];
}

/**
 * Reads manifests and plans (and applies) `/dev/shm` for every pod template in them.
 * Every file is parsed before anything is decided, so broken YAML anywhere yields no output.
 * @throws InputError for YAML that does not parse
 */
export function processManifests(files: readonly SourceFile[], policy: Policy): ManifestResult {
  const parsed = files.map(parseFile);
  const workloads: WorkloadReport[] = [];
  const notices: Notice[] = [];
  const outputs = parsed.map(file => processFile(file, policy, workloads, notices));
  return { output: joinFiles(outputs), workloads, notices };
}

/** `processManifests` for one text. */
export function injectDocuments(text: string, policy: Policy, name = '<stdin>'): ManifestResult {
  return processManifests([{ name, text }], policy);
}

function processFile(file: ParsedFile, policy: Policy, workloads: WorkloadReport[], notices: Notice[]): string {
  const replaced = new Map<SourceDocument, string>();
  const fileName = file.source.name;
  file.documents.forEach((document, index) => {
    const doc = document.doc;
    // An empty document (or comments only): its contents are null, or a null scalar.
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return;
    const lineOf = (node: unknown) => file.linePos((node as Node | undefined)?.range?.[0] ?? document.start).line;
    const docLine = lineOf(doc.contents);
    let value: unknown;
    try {
      value = doc.toJS();
    } catch (error) {
      throw new InputError(`${fileName}:${docLine}: ${(error as Error).message}`);
    }
    const note = (line: number, message: string, aboutWorkload = false) => notices.push({ file: fileName, line, message, aboutWorkload });
    if (!isKubernetesObject(value)) {
      note(docLine, `document ${index + 1} is not a Kubernetes object (it needs apiVersion and kind): passed through unchanged`);
      return;
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
      const report = planObject(object, policy, fileName, line);
      if (!report) continue;
      workloads.push(report);
      for (const message of workloadNotices(report)) note(line, message, true);
      ops.push(...report.patch.map(op => ({ ...op, path: `${base}${op.path}` })));
    }
    if (ops.length === 0) return;

    if (!applyPatchToYaml(doc, ops)) {
      // The in-place edit went wrong somewhere (an exotic use of anchors): fall back to the JSON.
      doc.contents = doc.createNode(applyPatchToJson(value, ops)) as Document['contents'];
      note(docLine, `${describeObject(value)} was rewritten from its JSON form: comments and anchors inside it are lost`);
    }
    verifyPatched(doc.toJS(), objects.map(o => o.base), policy, fileName, docLine);
    replaced.set(document, stringifyDocument(document, file.source.text));
  });
  return renderFile(file, replaced);
}

function planObject(object: unknown, policy: Policy, file: string, line: number): WorkloadReport | undefined {
  const location = podTemplateOf(object);
  if (!location) return undefined;
  const metadata = objectAt(objectAt(object)?.metadata);
  const plan = planSharedMemory(location.template, policy);
  const volume = (objectAt(location.template.spec)?.volumes as unknown[] | undefined);
  const ours = Array.isArray(volume) ? volume.map(objectAt).find(v => v?.name === policy.volumeName) : undefined;
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
    patch: planToPatch(plan, location.path),
  };
}

/** The warnings a workload's plan carries, as `inject` prints them. */
function workloadNotices(report: WorkloadReport): string[] {
  const { plan, object } = report;
  const messages = plan.warnings.map(w => `${object}: ${w.message}`);
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
    if (!location) continue;
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
