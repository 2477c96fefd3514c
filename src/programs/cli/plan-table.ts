/**
 * How `plan` and `check` show their decisions: a table for people, JSON for machines, and the
 * list of workloads that `check` fails on.
 */
import { WorkloadReport } from './inject';
import {
  MountEdit, PodMemoryLimit, Policy, RATIO_ANNOTATION, SIZE_ANNOTATION, SIZE_LIMIT_ANNOTATION, UnhonouredAnnotations, describeSizing, formatBytes,
  formatRational,
} from '../../core';

/**
 * The `/dev/shm` of the workload would change (or the workload would be refused); for a running
 * pod, its `/dev/shm` no longer matches its limits, or reaches the limit of its writer.
 */
export function needsChange(report: WorkloadReport): boolean {
  if (report.running) return report.running.action === 'follow' || report.running.atOrAboveWriter !== undefined;
  return report.patch.length > 0 || report.plan.action === 'deny';
}

/** A running pod's `/dev/shm` against the rule under its limits in force, in a sentence. */
export function runningText(running: NonNullable<WorkloadReport['running']>): string {
  const { action, current, rule, atOrAboveWriter: writer } = running;
  const sentence = action === 'follow' ? `/dev/shm ${current} no longer matches its limits: the rule gives ${rule}; it changes when the pod is recreated`
    : action === 'unchanged' ? `/dev/shm ${current} matches its limits` : running.message;
  if (!writer) return sentence;
  return `${sentence}; /dev/shm ${current} is at or above the ${formatBytes(writer.limitBytes)} limit of ${writer.description}: shared memory alone can OOM-kill it`;
}

/** The ACTION column: the plan's action, or `running` for a live pod (which no manifest changes). */
function actionText(report: WorkloadReport): string {
  return report.running ? 'running' : report.plan.action;
}

/** The `cdk8s-shm.io/` annotations of the workload that cannot be honoured: on its pods, or on its own metadata. */
export function unhonouredAnnotations(report: WorkloadReport): readonly UnhonouredAnnotations[] {
  return report.misplaced ? [...report.plan.unhonoured, report.misplaced] : report.plan.unhonoured;
}

/** What `check` fails on: a change, a denial, or annotations that cannot be honoured. */
export function failsCheck(report: WorkloadReport): boolean {
  return needsChange(report) || unhonouredAnnotations(report).length > 0;
}

/** The pod memory limit as a quantity, `none`, or `invalid`. */
export function limitText(report: WorkloadReport): string {
  const text = (limit: PodMemoryLimit | undefined) => !limit ? '-' : limit.kind === 'limited' ? formatBytes(limit.bytes) : limit.kind === 'unlimited' ? 'none' : 'invalid';
  // limitFollows: the limit as declared, and as it grows.
  const declared = report.plan.declaredLimit;
  return declared && text(declared) !== text(report.plan.limit) ? `${text(declared)} -> ${text(report.plan.limit)}` : text(report.plan.limit);
}

/** What the size is a share of: `2Gi (app)`, `6Gi (pod-level, app)`, or `-`. */
export function basisText(report: WorkloadReport): string {
  const basis = report.plan.basis;
  if (!basis) return '-';
  return `${formatBytes(basis.bytes)} (${basis.fromPodLevel ? 'pod-level, ' : ''}${basis.container})`;
}

/** The `/dev/shm` size: the new one, `old -> new` for an update that resizes, `-` when there is none. */
export function sizeText(report: WorkloadReport): string {
  const { plan, running } = report;
  if (running) return running.action === 'follow' ? `${running.current} -> ${running.rule}` : running.current ?? '-';
  if (plan.action === 'update' && plan.edits?.volume === 'resize') return `${report.currentSize ?? '(no size)'} -> ${plan.size}`;
  if (plan.action === 'inject' || plan.action === 'update' || plan.action === 'unchanged') return plan.size ?? '-';
  return '-';
}

/** Why: what decided the size, or why the workload is skipped. */
export function reasonText(report: WorkloadReport, policy: Policy): string {
  const { plan } = report;
  if (report.running) return runningText(report.running);
  if (plan.action === 'skip' || plan.action === 'deny') return `${plan.reason}: ${plan.message}`;
  const annotation = (name: string) => {
    const value = report.annotations[name];
    return value === undefined ? name : `${name}: ${value}`;
  };
  const writer = plan.basis ? `${plan.basis.role} '${plan.basis.container}'` : 'the writer';
  const source: Record<string, string> = {
    'size': '--size',
    'size-annotation': `annotation ${annotation(SIZE_ANNOTATION)}`,
    'ratio': `${formatRational(policy.ratio)} × the limit of ${writer}`,
    'ratio-annotation': `annotation ${annotation(RATIO_ANNOTATION)} × the limit of ${writer}`,
    'minimum': 'raised to --minimum',
    'maximum': 'lowered to --maximum',
    'fixed-size': '--fixed-size, the pod has no memory limit',
  };
  const parts = [plan.sizeSource ? source[plan.sizeSource] : plan.message];
  if (plan.warnings.some(w => w.code === 'capped-at-limit')) parts.push('capped at the pod memory limit');
  if (plan.action === 'unchanged') parts.unshift('already');
  const done = updateEdits(report).map(edit => edit.done);
  return parts.join(', ') + (done.length > 0 ? `; ${done.join(', ')}` : '');
}

/** One thing an update changes, said two ways: what is wrong (`check`) and what `inject` does (`plan`). */
interface UpdateEdit {
  readonly wrong: string;
  readonly done: string;
}

/**
 * What an update changes besides the size, from the plan's edits: the containers that get the
 * mount and the annotations that are added or replaced. The `size-limit` annotation follows a
 * resized volume, so it is only worth a word when the volume keeps its size.
 */
function updateEdits(report: WorkloadReport): UpdateEdit[] {
  const edits = report.plan.action === 'update' ? report.plan.edits : undefined;
  if (!edits) return [];
  const out: UpdateEdit[] = [];
  if (edits.mounts.length > 0) {
    const containers = containerList(edits.mounts);
    out.push({
      wrong: `${containers} ${edits.mounts.length === 1 ? 'lacks' : 'lack'} the /dev/shm mount`,
      done: `mount added to ${containers}`,
    });
  }
  for (const annotation of edits.annotations) {
    if (annotation.key === SIZE_LIMIT_ANNOTATION && edits.volume === 'resize') continue;
    const old = report.annotations[annotation.key];
    out.push(annotation.exists && old !== undefined
      ? { wrong: `annotation ${annotation.key} is ${old} (should be ${annotation.value})`, done: `annotation ${annotation.key}: ${old} -> ${annotation.value}` }
      : { wrong: `annotation ${annotation.key}: ${annotation.value} is missing`, done: `annotation ${annotation.key} added` });
  }
  return out;
}

/** `container 'a'`, `containers 'a' and 'b'`, `containers 'a', 'b' and init container 'c'`. */
function containerList(mounts: readonly MountEdit[]): string {
  const items: string[] = [];
  for (const [field, noun] of [['containers', 'container'], ['initContainers', 'init container']] as const) {
    const names = mounts.filter(m => m.field === field).map(m => `'${m.name}'`);
    if (names.length > 0) items.push(`${noun}${names.length > 1 ? 's' : ''} ${names[0]}`, ...names.slice(1));
  }
  return items.length === 1 ? items[0] : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** The table `plan` prints. */
export function formatPlanTable(reports: readonly WorkloadReport[], policy: Policy): string {
  if (reports.length === 0) return 'No workloads (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob) found.\n';
  const withNamespace = reports.some(r => r.namespace !== undefined);
  const header = ['WORKLOAD', ...(withNamespace ? ['NAMESPACE'] : []), 'POD LIMIT', 'BASIS', '/DEV/SHM', 'ACTION', 'REASON'];
  const rows = reports.map(r => [
    `${r.kind}/${r.name}`,
    ...(withNamespace ? [r.namespace ?? '-'] : []),
    limitText(r),
    basisText(r),
    sizeText(r),
    actionText(r),
    reasonText(r, policy),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(row => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i])).join('   ').trimEnd();
  const lines = [line(header), ...rows.map(line)];

  const warnings = reports.flatMap(r => r.plan.warnings.map(w => `  ${r.file}:${r.line} ${r.object}: ${w.message}`));
  if (warnings.length > 0) lines.push('', 'Warnings:', ...warnings);
  const unhonoured = reports.flatMap(r => unhonouredAnnotations(r).map(u => `  ${r.file}:${r.line} ${r.object}: ${u.annotations.join(', ')}: ${u.message}`));
  if (unhonoured.length > 0) lines.push('', 'Annotations that cannot be honoured (check fails on them):', ...unhonoured);
  const count = (action: string) => reports.filter(r => actionText(r) === action).length;
  const stale = reports.filter(r => r.running && needsChange(r)).length;
  const summary = ['inject', 'update', 'unchanged', 'skip', 'deny', 'running']
    .filter(a => count(a) > 0)
    .map(a => `${count(a)} ${a === 'skip' ? 'skipped' : a === 'deny' ? 'denied' : a === 'unchanged' ? 'unchanged' : a === 'running'
      ? `running (${stale} whose /dev/shm no longer matches its limits)` : `to ${a}`}`);
  lines.push('', `${reports.length} workload${reports.length === 1 ? '' : 's'}: ${summary.join(', ')}`);
  // --way-in policy: the pods the admission policy treats otherwise than the webhook.
  const different = reports.filter(r => r.plan.reason === 'admission-policy-limit').length;
  if (different > 0) lines.push(`${different} of them left alone by the MutatingAdmissionPolicy, which the webhook would size (admission-policy-limit)`);
  return lines.join('\n') + '\n';
}

/** What a size is a share of, in `plan --output json`. */
export interface BasisJson {
  readonly limit: string;
  readonly limitBytes: string;
  readonly container: string;
  readonly role: string;
  readonly fromPodLevel: boolean;
}

/** One workload in `plan --output json`. Byte counts are strings: they can exceed 2^53. */
export interface PlanJson {
  readonly file: string;
  readonly line: number;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string | null;
  readonly podMemoryLimit: string | null;
  readonly podMemoryLimitBytes: string | null;
  /** With limitFollows: the pod memory limit as declared, before the limits grow (podMemoryLimit is after). */
  readonly declaredPodMemoryLimit: string | null;
  /** With limitFollows: every limit that grows by the /dev/shm size (`@pod` for the pod-level one). */
  readonly limitGrowth: readonly { container: string; before: string; after: string; requestGrows: boolean }[];
  /** The limit the size is a share of, and the container it belongs to. */
  readonly basis: BasisJson | null;
  readonly shmSize: string | null;
  readonly shmSizeBytes: string | null;
  readonly currentShmSize: string | null;
  readonly action: string;
  readonly reason: string | null;
  readonly sizeSource: string | null;
  readonly message: string;
  readonly warnings: readonly { code: string; message: string }[];
  /** `cdk8s-shm.io/` annotations that cannot be honoured, on the pods or on the workload itself (what `check` fails on). */
  readonly unhonoured: readonly { annotations: readonly string[]; message: string }[];
  readonly targets: readonly string[];
  readonly patch: readonly unknown[];
  /** A live pod with a /dev/shm of ours: the size it has, the rule's under its limits in force, and the writer it reaches. */
  readonly running: RunningJson | null;
}

/** A running pod in `plan --output json`. */
export interface RunningJson {
  /** follow (they no longer match), unchanged, or keep (see message). */
  readonly action: string;
  readonly currentShmSize: string | null;
  readonly ruleShmSize: string | null;
  readonly matches: boolean;
  readonly message: string;
  /** The writer whose limit in force the /dev/shm reaches. */
  readonly atOrAboveWriter: { readonly container: string; readonly limit: string } | null;
}

function runningJson(running: NonNullable<WorkloadReport['running']>): RunningJson {
  const writer = running.atOrAboveWriter;
  return {
    action: running.action,
    currentShmSize: running.current ?? null,
    ruleShmSize: running.rule ?? null,
    matches: running.action !== 'follow',
    message: runningText(running),
    atOrAboveWriter: writer ? { container: writer.description, limit: formatBytes(writer.limitBytes) } : null,
  };
}

/** `plan --output json`: one object per workload, in input order. */
export function planJson(reports: readonly WorkloadReport[]): PlanJson[] {
  return reports.map(r => {
    const limit = r.plan.limit?.kind === 'limited' ? r.plan.limit.bytes : undefined;
    return {
      file: r.file,
      line: r.line,
      kind: r.kind,
      name: r.name,
      namespace: r.namespace ?? null,
      podMemoryLimit: limit === undefined ? null : formatBytes(limit),
      podMemoryLimitBytes: limit === undefined ? null : limit.toString(),
      declaredPodMemoryLimit: r.plan.declaredLimit?.kind === 'limited' ? formatBytes(r.plan.declaredLimit.bytes) : null,
      limitGrowth: (r.plan.limitGrowth ?? []).map(g => ({
        container: g.name, before: formatBytes(g.declaredBytes), after: formatBytes(g.grownBytes), requestGrows: g.requestGrows,
      })),
      basis: r.plan.basis ? {
        limit: formatBytes(r.plan.basis.bytes),
        limitBytes: r.plan.basis.bytes.toString(),
        container: r.plan.basis.container,
        role: r.plan.basis.role,
        fromPodLevel: r.plan.basis.fromPodLevel,
      } : null,
      shmSize: r.plan.size ?? null,
      shmSizeBytes: r.plan.sizeBytes?.toString() ?? null,
      currentShmSize: r.currentSize ?? null,
      action: r.plan.action,
      reason: r.plan.reason ?? null,
      sizeSource: r.plan.sizeSource ?? null,
      message: r.plan.message,
      warnings: r.plan.warnings.map(w => ({ code: w.code, message: w.message })),
      unhonoured: unhonouredAnnotations(r).map(u => ({ annotations: [...u.annotations], message: u.message })),
      targets: [...r.plan.targets],
      patch: [...r.patch],
      running: r.running ? runningJson(r.running) : null,
    };
  });
}

/** What `check` prints: one line per workload that would change, one per set of annotations that cannot be honoured, and a summary. */
export function formatCheck(reports: readonly WorkloadReport[], files: readonly string[]): string {
  const changing = reports.filter(needsChange);
  const unhonoured = reports.filter(r => unhonouredAnnotations(r).length > 0);
  // A pod's own unbounded /dev/shm is left alone by default, so it is no failure; but it is worth a line.
  const notes = reports.filter(r => r.plan.reason === 'user-shm-unbounded').map(r => `note: ${r.file}:${r.line}: ${r.object}: ${r.plan.message}`);
  const noteText = notes.length > 0 ? `${notes.join('\n')}\n` : '';
  if (changing.length === 0 && unhonoured.length === 0) {
    return `${noteText}ok: ${reports.length} workload${reports.length === 1 ? '' : 's'} checked, no /dev/shm change needed\n`;
  }
  const lines = changing.map(r => `${r.file}:${r.line}: ${r.object}${r.running ? `: ${runningText(r.running)}` : ` ${changeText(r)}`}`);
  for (const r of unhonoured) {
    for (const u of unhonouredAnnotations(r)) lines.push(`${r.file}:${r.line}: ${r.object}: ${u.annotations.join(', ')} cannot be honoured: ${u.message}`);
  }
  const of = `of ${reports.length} workload${reports.length === 1 ? '' : 's'}`;
  const source = files.length === 0 ? '' : ` ${files.map(f => `-f ${f}`).join(' ')}`;
  lines.push('');
  const running = changing.filter(r => r.running).length;
  const manifests = changing.length - running;
  if (manifests > 0) lines.push(`${manifests} ${of} would change: fix them at the source, or run cdk8s-shm inject${source}`);
  if (running > 0) {
    lines.push(`${running} ${of} ${running === 1 ? 'is a running pod' : 'are running pods'} whose /dev/shm no longer matches ${running === 1 ? 'its' : 'their'} limits: `
      + `recreate ${running === 1 ? 'it' : 'them'} (or, where the cluster resizes memory-backed volumes, resize ${running === 1 ? 'it' : 'them'} through the webhook with resizeVolumes)`);
  }
  if (unhonoured.length > 0) {
    lines.push(`${unhonoured.length} ${of} ${unhonoured.length === 1 ? 'carries' : 'carry'} cdk8s-shm.io/ annotations that cannot be honoured: fix them at the source`);
  }
  return noteText + lines.join('\n') + '\n';
}

/** Why `check` fails a workload whose /dev/shm would change. */
function changeText(report: WorkloadReport): string {
  const { plan } = report;
  const limit = describeSizing(plan);
  if (plan.action === 'deny') return `would be denied: ${plan.message}`;
  return plan.action === 'update' ? `${updateProblems(report)} (${limit})` : `needs /dev/shm ${plan.size} (${limit})`;
}

/**
 * What is wrong with an earlier injection: `/dev/shm 1Gi should be 2Gi`, or
 * `has /dev/shm 1Gi, but container 'b' lacks the /dev/shm mount`; several problems are joined with `; `.
 */
function updateProblems(report: WorkloadReport): string {
  const { plan } = report;
  const others = updateEdits(report).map(edit => edit.wrong);
  if (plan.edits?.volume === 'resize') {
    const resize = `/dev/shm ${report.currentSize ?? '(no size)'} should be ${plan.size}`;
    return [resize, ...others].join('; ');
  }
  return `has /dev/shm ${plan.size}, but ${others.join('; ')}`;
}
