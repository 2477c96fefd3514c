/**
 * Would the namespace's LimitRanges and ResourceQuotas admit this pod, as far as its memory goes?
 *
 * `limitFollows` grows memory limits (and requests equal to them) in a mutating webhook, and the
 * API server checks LimitRanges (LimitRanger's validation) and ResourceQuotas after every mutating
 * webhook has run. A grown limit above a LimitRange's max, or above a quota's room, would turn a
 * pod that would have been admitted into a refused one. The webhook asks this before it grows
 * anything, about the pod as it would be once grown, and grows nothing when the answer is a refusal.
 *
 * The rules are the API server's, for the memory fields only (the only ones growth changes):
 *
 * - LimitRange (plugin/pkg/admission/limitranger): type `Container`, for every app and init
 *   container: limit and request at most `max.memory`, limit/request at most
 *   `maxLimitRequestRatio.memory`; type `Pod`, the same on the pod's requests and limits (the sum
 *   of the containers and sidecars, at least each init container's, the pod-level value instead
 *   when set; no overhead). `min` is left out: growth only raises values.
 * - ResourceQuota (pkg/quota/v1/evaluator/core/pods.go): `status.used` plus the pod's usage (its
 *   requests and limits as above, overhead included) at most `status.hard`, for `limits.memory`,
 *   `requests.memory` and `memory`, in every quota whose scopes match the pod. A quota whose usage
 *   is not known yet refuses every pod, as the API server does.
 *
 * Pure: the objects come in as the API server lists them; what is wrong with them is a refusal
 * (the webhook then grows nothing), never an exception.
 */
import { Rational } from './decimal';
import { JsonObject, isObject, objectAt } from './json';
import { formatBytes, parseQuantity } from './quantity';

/** A LimitRange or ResourceQuota that would refuse the pod, and why. */
export interface NamespaceRefusal {
  readonly kind: 'LimitRange' | 'ResourceQuota';
  readonly name: string;
  /** What it would refuse, with the numbers: one line each. */
  readonly problems: readonly string[];
}

/** A memory request and limit as the admission plugins read them (exact values; absent is undefined). */
interface Memory {
  readonly request?: Rational;
  readonly limit?: Rational;
}

interface ContainerMemory extends Memory {
  readonly name: string;
  readonly init: boolean;
  readonly sidecar: boolean;
}

/** The pod's memory, read once. */
interface PodMemory {
  readonly containers: readonly ContainerMemory[];
  /** Requests and limits of the pod as a whole, without overhead. */
  readonly pod: Memory;
  readonly overhead?: Rational;
}

const ZERO: Rational = { num: 0n, den: 1n };

function add(a: Rational, b: Rational): Rational {
  return { num: a.num * b.den + b.num * a.den, den: a.den * b.den };
}

function compare(a: Rational, b: Rational): number {
  const left = a.num * b.den;
  const right = b.num * a.den;
  return left < right ? -1 : left > right ? 1 : 0;
}

function max(a: Rational | undefined, b: Rational | undefined): Rational | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compare(a, b) >= 0 ? a : b;
}

function sum(a: Rational | undefined, b: Rational | undefined): Rational | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return add(a, b);
}

/** A quantity read exactly; undefined when absent or unreadable (the API server validated it before us). */
function quantity(value: unknown): Rational | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  try {
    return parseQuantity(value);
  } catch {
    return undefined;
  }
}

/** `1Gi`, or the exact value when it is not a whole number of bytes. */
function show(value: Rational): string {
  return value.num % value.den === 0n ? formatBytes(value.num / value.den) : `${value.num}/${value.den}`;
}

function memoryOf(owner: unknown): Memory {
  const resources = objectAt(objectAt(owner)?.resources);
  return { request: quantity(objectAt(resources?.requests)?.memory), limit: quantity(objectAt(resources?.limits)?.memory) };
}

function readMemory(spec: JsonObject): PodMemory {
  const list = (field: string, init: boolean): ContainerMemory[] => listAt(spec[field]).map(c => ({
    name: typeof objectAt(c)?.name === 'string' ? objectAt(c)!.name as string : '',
    init,
    sidecar: init && objectAt(c)?.restartPolicy === 'Always',
    ...memoryOf(c),
  }));
  const containers = [...list('containers', false), ...list('initContainers', true)];
  return { containers, pod: aggregate(containers, memoryOf(spec)), overhead: quantity(objectAt(spec.overhead)?.memory) };
}

/**
 * The pod's requests and limits as component-helpers' PodRequests/PodLimits add them up: app
 * containers and sidecars summed, each init container with the sidecars started before it, the
 * larger of the two, then the pod-level value where one is set.
 */
function aggregate(containers: readonly ContainerMemory[], podLevel: Memory): Memory {
  const total = (key: keyof Memory): Rational | undefined => {
    let running: Rational | undefined;
    let sidecars: Rational | undefined;
    let init: Rational | undefined;
    for (const c of containers) {
      if (!c.init) {running = sum(running, c[key]);} else if (c.sidecar) {
        running = sum(running, c[key]);
        sidecars = sum(sidecars, c[key]);
        init = max(init, sidecars);
      } else {
        init = max(init, sum(c[key], sidecars));
      }
    }
    return podLevel[key] ?? max(running, init);
  };
  return { request: total('request'), limit: total('limit') };
}

/** `max` and `maxLimitRequestRatio` of one LimitRange item against one request/limit pair. */
function limitRangeProblems(item: JsonObject, memory: Memory, subject: string): string[] {
  const problems: string[] = [];
  const maxMemory = quantity(objectAt(item.max)?.memory);
  if (maxMemory) {
    for (const key of ['limit', 'request'] as const) {
      const value = memory[key];
      if (value && compare(value, maxMemory) > 0) problems.push(`${subject} ${key} ${show(value)} is above its ${item.type} max memory ${show(maxMemory)}`);
    }
  }
  const ratio = quantity(objectAt(item.maxLimitRequestRatio)?.memory);
  const { limit, request } = memory;
  if (ratio && limit && request && request.num > 0n && limit.num > 0n) {
    // limit / request > ratio, without division
    if (compare({ num: limit.num * request.den, den: limit.den }, { num: ratio.num * request.num, den: ratio.den }) > 0) {
      problems.push(`${subject} limit ${show(limit)} is more than ${Number(ratio.num) / Number(ratio.den)} times its request ${show(request)} (${item.type} maxLimitRequestRatio)`);
    }
  }
  return problems;
}

function nameOf(object: unknown): string {
  const name = objectAt(objectAt(object)?.metadata)?.name;
  return typeof name === 'string' ? name : '';
}

/** What the namespace's LimitRanges would refuse about the pod's memory. */
export function limitRangeRefusals(spec: unknown, limitRanges: readonly unknown[]): NamespaceRefusal[] {
  if (!isObject(spec)) return [];
  const memory = readMemory(spec);
  const refusals: NamespaceRefusal[] = [];
  for (const range of limitRanges) {
    const limits = objectAt(objectAt(range)?.spec)?.limits;
    const problems: string[] = [];
    for (const item of Array.isArray(limits) ? limits : []) {
      if (!isObject(item)) continue;
      if (item.type === 'Container') {
        for (const c of memory.containers) problems.push(...limitRangeProblems(item, c, `'${c.name}'`));
      } else if (item.type === 'Pod') {
        problems.push(...limitRangeProblems(item, memory.pod, 'the pod'));
      }
    }
    if (problems.length > 0) refusals.push({ kind: 'LimitRange', name: nameOf(range), problems });
  }
  return refusals;
}

/** The quota resources that count memory, and which of the pod's values each counts. */
const QUOTA_MEMORY: ReadonlyArray<readonly [string, keyof Memory]> = [['limits.memory', 'limit'], ['requests.memory', 'request'], ['memory', 'request']];

/** Does one scope (a name in `spec.scopes`, or a `scopeSelector` expression) take in the pod? */
function scopeMatches(scope: { name: unknown; operator?: unknown; values?: unknown }, spec: JsonObject): boolean {
  switch (scope.name) {
    case 'Terminating': return terminating(spec);
    case 'NotTerminating': return !terminating(spec);
    case 'BestEffort': return bestEffort(spec);
    case 'NotBestEffort': return !bestEffort(spec);
    case 'CrossNamespacePodAffinity': return crossNamespaceAffinity(spec);
    case 'PriorityClass': {
      const priorityClass = typeof spec.priorityClassName === 'string' ? spec.priorityClassName : '';
      const values = Array.isArray(scope.values) ? scope.values : [];
      switch (scope.operator ?? 'Exists') {
        case 'Exists': return priorityClass !== '';
        case 'DoesNotExist': return priorityClass === '';
        case 'In': return priorityClass !== '' && values.includes(priorityClass);
        case 'NotIn': return priorityClass === '' || !values.includes(priorityClass);
        default: return true;
      }
    }
    // A scope we do not know might take the pod in: counting the quota is the safe side.
    default: return true;
  }
}

function listAt(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

function terminating(spec: JsonObject): boolean {
  return typeof spec.activeDeadlineSeconds === 'number' && spec.activeDeadlineSeconds >= 0;
}

/** QoS BestEffort: no CPU or memory request or limit anywhere (a pod whose limit grows never is). */
function bestEffort(spec: JsonObject): boolean {
  const owners = [spec, ...listAt(spec.containers), ...listAt(spec.initContainers)];
  return !owners.some(owner => ['requests', 'limits'].some(kind => {
    const list = objectAt(objectAt(objectAt(owner)?.resources)?.[kind]);
    return ['cpu', 'memory'].some(r => {
      const value = quantity(list?.[r]);
      return value !== undefined && value.num !== 0n;
    });
  }));
}

function crossNamespaceAffinity(spec: JsonObject): boolean {
  const affinity = objectAt(spec.affinity);
  return ['podAffinity', 'podAntiAffinity'].some(kind => {
    const rules = objectAt(affinity?.[kind]);
    const required = listAt(rules?.requiredDuringSchedulingIgnoredDuringExecution);
    const preferred = listAt(rules?.preferredDuringSchedulingIgnoredDuringExecution).map(p => objectAt(p)?.podAffinityTerm);
    return [...required, ...preferred].some(term => {
      const t = objectAt(term);
      return (Array.isArray(t?.namespaces) && t!.namespaces.length > 0) || (t?.namespaceSelector !== undefined && t?.namespaceSelector !== null);
    });
  });
}

/** Does the quota count the pod: every scope and every scopeSelector expression takes it in. */
function quotaMatches(quotaSpec: JsonObject | undefined, spec: JsonObject): boolean {
  const expressions = listAt(objectAt(quotaSpec?.scopeSelector)?.matchExpressions).map(objectAt);
  return listAt(quotaSpec?.scopes).every(name => scopeMatches({ name }, spec))
    && expressions.every(e => scopeMatches({ name: e?.scopeName, operator: e?.operator, values: e?.values }, spec));
}

/** What a pod counts against a quota: its requests and limits, with the overhead (on every request, and on a limit that is set). */
function quotaUsage(spec: JsonObject): Memory {
  const { pod, overhead } = readMemory(spec);
  return { request: sum(pod.request ?? ZERO, overhead), limit: pod.limit && sum(pod.limit, overhead) };
}

/**
 * What the namespace's ResourceQuotas would refuse about the pod's memory, with the usage they
 * report.
 * @param admitted pods admitted since the quotas were read, which their `status.used` does not count yet
 */
export function quotaRefusals(spec: unknown, quotas: readonly unknown[], admitted: readonly unknown[] = []): NamespaceRefusal[] {
  if (!isObject(spec)) return [];
  const usage = quotaUsage(spec);
  const refusals: NamespaceRefusal[] = [];
  for (const quota of quotas) {
    const quotaSpec = objectAt(objectAt(quota)?.spec);
    if (!quotaMatches(quotaSpec, spec)) continue;
    const since = admitted.filter(isObject).filter(other => quotaMatches(quotaSpec, other)).map(quotaUsage);
    const status = objectAt(objectAt(quota)?.status);
    const problems: string[] = [];
    for (const [resource, key] of QUOTA_MEMORY) {
      const hard = quantity(objectAt(status?.hard)?.[resource]);
      if (!hard) continue;
      const counted = quantity(objectAt(status?.used)?.[resource]);
      if (!counted) {
        problems.push(`its ${resource} usage is not counted yet`);
        continue;
      }
      const used = since.reduce((total, other) => add(total, other[key] ?? ZERO), counted);
      const after = add(used, usage[key] ?? ZERO);
      if (compare(after, hard) > 0) problems.push(`${resource} would reach ${show(after)} of its ${show(hard)} (${show(used)} used)`);
    }
    if (problems.length > 0) refusals.push({ kind: 'ResourceQuota', name: nameOf(quota), problems });
  }
  return refusals;
}

/**
 * Every LimitRange and ResourceQuota of the namespace that would refuse the pod over its memory.
 * @param admitted pod specs admitted since the lists were read (see `quotaRefusals`)
 */
export function namespaceRefusals(
  spec: unknown, limitRanges: readonly unknown[], quotas: readonly unknown[], admitted: readonly unknown[] = [],
): NamespaceRefusal[] {
  return [...limitRangeRefusals(spec, limitRanges), ...quotaRefusals(spec, quotas, admitted)];
}
