/**
 * The properties, as plain functions that throw a message naming what broke: the property suites
 * run them on generated inputs, the regression suite on the saved inputs that once broke them.
 */
import { mkdirSync, writeFileSync } from 'fs';
import * as path from 'path';
import { ApiObject, Size, Testing } from 'cdk8s';
import { Operation, applyPatch, deepClone } from 'fast-json-patch';
import { ConstructPolicy, Json, toPolicyInput } from './arbitraries';
import { SharedMemory } from '../../../src/constructs/sizing/shared-memory';
import {
  INJECT_ANNOTATION, JsonPatchOperation, PolicyInput, RUNTIME_DEFAULT_SHM_BYTES, SHM_MOUNT_PATH, SIZE_LIMIT_ANNOTATION,
  bytesFloor, normalizeMountPath,
  applyOperations, planSharedMemory, planToPatch, resolvePolicy,
} from '../../../src/core';
import { podRuleViolations } from '../../support/pod-rules';

export const REGRESSION_DIR = path.join(__dirname, '..', 'regressions');

/** A saved input that once broke a property or the server. */
export interface Regression {
  /** `plan`: checkPlan(pod, policy); `construct`: checkConstructMatchesPatch(pod, policy); `server`: the body is POSTed to /mutate. */
  readonly kind: 'plan' | 'construct' | 'server';
  /** What broke, and the fix. */
  readonly description: string;
  readonly pod?: Json;
  readonly policy?: Json;
  /** Server inputs: the body as UTF-8 text, or `bodyBase64` for bytes that are not, or `bodyParts` for large repetitive ones. */
  readonly body?: string;
  readonly bodyBase64?: string;
  readonly bodyParts?: Array<string | { readonly repeat: string; readonly times: number }>;
}

/** The body of a server regression. */
export function regressionBody(regression: Regression): Buffer {
  if (regression.bodyBase64 !== undefined) return Buffer.from(regression.bodyBase64, 'base64');
  if (regression.bodyParts !== undefined) return Buffer.from(regression.bodyParts.map(part => (typeof part === 'string' ? part : part.repeat.repeat(part.times))).join(''));
  return Buffer.from(regression.body ?? '');
}

/** Saves a failing input for the regression suite (a new file; a human names and describes it). */
export function saveRegression(name: string, regression: Regression): string {
  mkdirSync(REGRESSION_DIR, { recursive: true });
  const file = path.join(REGRESSION_DIR, `found-${name}-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(regression, null, 2) + '\n');
  return file;
}

function fail(message: string, details: unknown): never {
  throw new Error(`${message}\n${JSON.stringify(details, (_, v) => (typeof v === 'bigint' ? `${v}n` : v), 2)}`);
}

/** Mount paths that are one mount point to the runtime, per container. */
function normalizedMountClashes(spec: Json): string[] {
  const problems: string[] = [];
  for (const field of ['containers', 'initContainers']) {
    for (const container of spec?.[field] ?? []) {
      const seen = new Set<string | undefined>();
      for (const mount of container.volumeMounts ?? []) {
        const normalized = normalizeMountPath(mount.mountPath);
        if (seen.has(normalized)) problems.push(`container '${container.name}' mounts ${normalized} twice`);
        seen.add(normalized);
      }
    }
  }
  return problems;
}

/** Pod rules, for pods that can be read as pods (a name of `{"toString": 1}` cannot even be printed). */
function ruleViolations(spec: Json): string[] {
  try {
    return [...podRuleViolations(spec), ...normalizedMountClashes(spec)];
  } catch (error) {
    return [`unreadable: ${(error as Error).message}`];
  }
}

/** Applies a patch as the API server does: to a copy, every operation validated. */
export function applyAsApiServer(document: Json, ops: readonly unknown[]): Json {
  const result = applyPatch(deepClone(document), ops as Operation[], true, false).newDocument;
  // The core's own applier (used at synthesis) must agree with the standard library on every patch.
  const own = applyOperations(deepClone(document), ops as JsonPatchOperation[]);
  if (JSON.stringify(own) !== JSON.stringify(result)) throw new Error(`applyOperations disagrees with fast-json-patch on ${JSON.stringify(ops)}`);
  return result;
}

/**
 * The core's promises for one pod and one policy:
 * planning never throws; the patch applies with a standard RFC 6902 library; volume names and
 * mount paths stay unique; what the patch says is what the plan says; the size never exceeds the
 * pod limit, a share never exceeds its basis nor falls below the runtime's 64Mi without a minimum;
 * planning the result again gives no operations.
 * @returns the patched pod (the pod itself when there is nothing to do)
 */
export function checkPlan(pod: Json, policyInput: PolicyInput): Json {
  const policy = resolvePolicy(policyInput);
  const plan = planSharedMemory(pod, policy);
  const ops = planToPatch(plan);
  const details = { pod, policy: policyInput, plan, ops };
  let patched: Json;
  try {
    patched = applyAsApiServer(pod, ops);
  } catch (error) {
    fail(`the patch does not apply: ${(error as Error).message}`, details);
  }
  const before = ruleViolations(pod.spec);
  const after = ruleViolations(patched.spec);
  if (before.length === 0 && after.length > 0) fail(`the patch breaks Pod rules: ${after.join('; ')}`, details);

  if (plan.limit?.kind === 'limited' && plan.sizeBytes !== undefined && plan.sizeBytes > plan.limit.bytes) {
    fail(`the size ${plan.sizeBytes} exceeds the pod limit ${plan.limit.bytes}`, details);
  }
  if (plan.sizeBytes !== undefined && plan.sizeBytes <= 0n) fail('a size of zero or less was decided', details);
  // A share of the basis is at most the basis (ratio <= 1), and never below the runtime's 64Mi unless a minimum allows it.
  const share = plan.sizeSource === 'ratio' || plan.sizeSource === 'ratio-annotation';
  if (share && plan.basis && plan.sizeBytes !== undefined && plan.sizeBytes > plan.basis.bytes) {
    fail(`the share ${plan.sizeBytes} exceeds its basis ${plan.basis.bytes}`, details);
  }
  if (share && plan.sizeBytes !== undefined && plan.sizeBytes < RUNTIME_DEFAULT_SHM_BYTES && policy.minimum === undefined) {
    fail(`a share of ${plan.sizeBytes} bytes, below the runtime default, was injected`, details);
  }
  if (plan.action === 'skip' && plan.reason === 'below-runtime-default' && plan.basis === undefined) {
    fail('a below-runtime-default skip without a basis', details);
  }

  if (ops.length > 0) {
    if (plan.action !== 'inject' && plan.action !== 'update') fail(`a ${plan.action} plan produced operations`, details);
    const volume = (patched.spec.volumes ?? []).filter((v: Json) => v.name === plan.volumeName);
    if (volume.length !== 1 || volume[0].emptyDir?.medium !== 'Memory' || volume[0].emptyDir?.sizeLimit !== plan.size) {
      fail('the patched pod does not hold exactly one memory-backed volume of the planned size', { ...details, volume });
    }
    if (bytesFloor(plan.size!) !== plan.sizeBytes) fail(`sizeLimit ${plan.size} is not ${plan.sizeBytes} bytes`, details);
    if (patched.metadata?.annotations?.[SIZE_LIMIT_ANNOTATION] !== plan.size) fail('the size-limit annotation does not match the size', details);
    const containers = [...patched.spec.containers, ...(patched.spec.initContainers ?? [])];
    for (const target of plan.targets) {
      const container = containers.find((c: Json) => c.name === target);
      const mounted = (container?.volumeMounts ?? [])
        .some((m: Json) => m.name === plan.volumeName && normalizeMountPath(m.mountPath) === SHM_MOUNT_PATH);
      if (!mounted) fail(`container '${target}' is a target but does not mount /dev/shm`, details);
    }
    const original = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])];
    const ourMounts = (c: Json) => (c?.volumeMounts ?? []).filter((m: Json) => m.name === plan.volumeName).length;
    containers.forEach((container: Json, i: number) => {
      const gained = ourMounts(container) - ourMounts(original[i]);
      if (gained > 1 || (gained === 1 && !plan.targets.includes(container.name))) fail(`container '${container.name}' gained ${gained} mounts`, details);
    });
  } else if (plan.action === 'inject' || plan.action === 'update') {
    fail(`an ${plan.action} plan produced no operations`, details);
  }
  if (plan.action === 'skip' && pod.metadata?.annotations?.[INJECT_ANNOTATION] === 'false' && ops.length > 0) fail('an opted-out pod was changed', details);

  const again = planSharedMemory(patched, policy);
  const againOps = planToPatch(again);
  if (againOps.length > 0) fail('planning the result again gives operations', { ...details, patched, again, againOps });
  if ((plan.action === 'inject' || plan.action === 'update') && again.action !== 'unchanged') {
    fail(`planning the result again gives ${again.action}, not unchanged`, { ...details, patched, again });
  }
  if (again.sizeBytes !== undefined && plan.sizeBytes !== undefined && again.sizeBytes !== plan.sizeBytes) {
    fail('planning the result again gives another size', { ...details, again });
  }
  return patched;
}

/** The construct options that express a construct policy. */
export function toConstructOptions(policy: ConstructPolicy) {
  return {
    ratio: policy.ratio,
    size: policy.sizeMi === undefined ? undefined : Size.mebibytes(policy.sizeMi),
    minimum: policy.minimumMi === undefined ? undefined : Size.mebibytes(policy.minimumMi),
    maximum: policy.maximumMi === undefined ? undefined : Size.mebibytes(policy.maximumMi),
    volumeName: policy.volumeName,
    containers: policy.containers,
    includeInitContainers: policy.includeInitContainers,
  };
}

/**
 * The construct path (`SharedMemory.applyToChart` on an `ApiObject`, synthesized) and the patch
 * path (`planToPatch(planSharedMemory(pod))` applied with fast-json-patch) give the same pod.
 * @returns the synthesized pod
 */
export function checkConstructMatchesPatch(pod: Json, policy: ConstructPolicy): Json {
  const chart = Testing.chart();
  new ApiObject(chart, 'pod', deepClone(pod));
  SharedMemory.applyToChart(chart, toConstructOptions(policy));
  const synthesized = Testing.synth(chart);
  if (synthesized.length !== 1) fail(`synthesis gave ${synthesized.length} objects`, { pod, policy, synthesized });
  const plan = planSharedMemory(pod, resolvePolicy(toPolicyInput(policy)));
  const patched = applyAsApiServer(pod, planToPatch(plan));
  const [a, b] = [comparable(synthesized[0]), comparable(patched)];
  if (JSON.stringify(a) !== JSON.stringify(b)) fail('the construct path and the patch path differ', { pod, policy, construct: a, patch: b, plan });
  return synthesized[0];
}

/**
 * cdk8s renders `metadata.annotations: {}` as no annotations at all; that is serialisation, not a
 * decision, so an empty annotations object is dropped on both sides. Keys are sorted.
 */
function comparable(object: Json): Json {
  const copy = deepClone(object);
  if (copy.metadata?.annotations && Object.keys(copy.metadata.annotations).length === 0) delete copy.metadata.annotations;
  return sortKeys(copy);
}

function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.keys(value).sort().map(key => [key, sortKeys(value[key])]));
}
