/**
 * The sizing policy: what the constructs' props, the webhook's flags and the CLI's flags all turn
 * into. Validation happens once, here, with messages that quote the setting and the value.
 */
import { Rational, compare, parseDecimal, formatRational } from './decimal';
import { isDns1123Label } from './kube-names';
import { DEFAULT_RATIO, DEFAULT_VOLUME_NAME } from './names';
import { QuantityError, bytesFloor, formatBytes } from './quantity';

/** Which pods get a `/dev/shm`: all but those annotated `inject: "false"`, or only those annotated `inject: "true"`. */
export type Selection = 'opt-out' | 'opt-in';

/** What to do with a pod that has no memory limit and no explicit size. */
export type WithoutLimit = 'skip' | 'deny' | 'fixed';

export const SELECTIONS: readonly Selection[] = ['opt-out', 'opt-in'];
export const WITHOUT_LIMIT_MODES: readonly WithoutLimit[] = ['skip', 'deny', 'fixed'];

/** A policy as users write it: every field optional, quantities as text or numbers. */
export interface PolicyInput {
  /** Share of the pod memory limit, 0 < ratio <= 1. Default 0.5. */
  readonly ratio?: string | number;
  /** An explicit size; excludes `ratio`, `minimum` and `maximum`. */
  readonly size?: string | number;
  /** Lower bound for a ratio-derived size (still capped at the pod limit). */
  readonly minimum?: string | number;
  /** Upper bound for a ratio-derived size. */
  readonly maximum?: string | number;
  /** Name of the injected volume. Default `dshm`. */
  readonly volumeName?: string;
  /** Only these containers (app or init) get the mount. Default: all of them. */
  readonly containers?: readonly string[];
  /** Whether init containers and sidecars get the mount when `containers` is not given. Default true. */
  readonly includeInitContainers?: boolean;
  /** Default `opt-out`. */
  readonly selection?: Selection;
  /** Default `skip`. */
  readonly withoutLimit?: WithoutLimit;
  /** The size given to pods without a memory limit when `withoutLimit` is `fixed`. */
  readonly fixedSize?: string | number;
}

/** A validated policy. Sizes are whole bytes. */
export interface Policy {
  readonly ratio: Rational;
  readonly size?: bigint;
  readonly minimum?: bigint;
  readonly maximum?: bigint;
  readonly volumeName: string;
  readonly containers?: readonly string[];
  readonly includeInitContainers: boolean;
  readonly selection: Selection;
  readonly withoutLimit: WithoutLimit;
  readonly fixedSize?: bigint;
}

/** A policy setting is invalid. */
export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}

/**
 * Validates a policy and resolves its defaults.
 * @param input what the user wrote
 * @param subject who wrote it, for messages (e.g. `SharedMemory for Deployment 'web'`)
 * @throws PolicyError naming the setting, its value and the fix
 */
export function resolvePolicy(input: PolicyInput = {}, subject?: string): Policy {
  const where = subject ? ` in ${subject}` : '';
  const fail = (message: string): never => {
    throw new PolicyError(`${message}${where}`);
  };

  const ratio = input.ratio === undefined ? parseDecimal(DEFAULT_RATIO) : parseRatio(input.ratio, 'ratio', fail);
  const size = optionalSize(input.size, 'size', fail);
  const minimum = optionalSize(input.minimum, 'minimum', fail);
  const maximum = optionalSize(input.maximum, 'maximum', fail);
  const fixedSize = optionalSize(input.fixedSize, 'fixedSize', fail);

  if (size !== undefined) {
    for (const other of ['ratio', 'minimum', 'maximum'] as const) {
      if (input[other] !== undefined) {
        fail(`'size' (${input.size}) and '${other}' (${input[other]}) cannot both be set: 'size' is exact, '${other}' shapes a size derived from the pod memory limit`);
      }
    }
  }
  if (minimum !== undefined && maximum !== undefined && minimum > maximum) {
    fail(`'minimum' (${formatBytes(minimum)}) must not exceed 'maximum' (${formatBytes(maximum)})`);
  }

  const volumeName = input.volumeName ?? DEFAULT_VOLUME_NAME;
  if (!isDns1123Label(volumeName)) {
    fail(`'volumeName' (${JSON.stringify(volumeName)}) must be a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters`);
  }

  if (input.containers !== undefined) {
    if (!Array.isArray(input.containers) || input.containers.some(name => typeof name !== 'string' || name === '')) {
      fail(`'containers' must be a list of container names, got ${JSON.stringify(input.containers)}`);
    }
    if (input.containers.length === 0) fail("'containers' is empty: leave it out to mount /dev/shm in every container");
  }

  const selection = input.selection ?? 'opt-out';
  if (!SELECTIONS.includes(selection)) fail(`'selection' (${selection}) must be one of ${SELECTIONS.join(', ')}`);
  const withoutLimit = input.withoutLimit ?? 'skip';
  if (!WITHOUT_LIMIT_MODES.includes(withoutLimit)) fail(`'withoutLimit' (${withoutLimit}) must be one of ${WITHOUT_LIMIT_MODES.join(', ')}`);
  if (withoutLimit === 'fixed' && fixedSize === undefined) fail("'fixedSize' is required when 'withoutLimit' is 'fixed'");
  if (withoutLimit !== 'fixed' && fixedSize !== undefined) {
    fail(`'fixedSize' (${input.fixedSize}) is only used when 'withoutLimit' is 'fixed' (it is '${withoutLimit}')`);
  }

  return {
    ratio,
    size,
    minimum,
    maximum,
    volumeName,
    containers: input.containers ? [...input.containers] : undefined,
    includeInitContainers: input.includeInitContainers ?? true,
    selection,
    withoutLimit,
    fixedSize,
  };
}

/**
 * Parses a share of the pod memory limit: a decimal in (0, 1].
 * @returns the ratio, or an error message naming `label`
 */
export function tryParseRatio(value: unknown, label: string): Rational | string {
  if (typeof value !== 'string' && typeof value !== 'number') return `'${label}' must be a decimal number, got ${typeof value}`;
  let ratio: Rational;
  try {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error();
    ratio = parseDecimal(String(value));
  } catch {
    return `'${label}' (${value}) is not a decimal number: write a share like 0.5`;
  }
  if (ratio.num <= 0n || compare(ratio, { num: 1n, den: 1n }) > 0) {
    return `'${label}' (${formatRational(ratio)}) must be greater than 0 and at most 1`;
  }
  return ratio;
}

/**
 * Parses a positive size in whole bytes (rounded down).
 * @returns the byte count, or an error message naming `label`
 */
export function tryParseSize(value: unknown, label: string): bigint | string {
  if (typeof value !== 'string' && typeof value !== 'number') return `'${label}' must be a quantity such as 1Gi, got ${typeof value}`;
  let bytes: bigint;
  try {
    bytes = bytesFloor(value);
  } catch (error) {
    return `'${label}' (${value}) is invalid: ${(error as QuantityError).message}`;
  }
  if (bytes <= 0n) return `'${label}' (${value}) must be at least one byte`;
  return bytes;
}

function parseRatio(value: string | number, label: string, fail: (message: string) => never): Rational {
  const result = tryParseRatio(value, label);
  return typeof result === 'string' ? fail(result) : result;
}

function optionalSize(value: string | number | undefined, label: string, fail: (message: string) => never): bigint | undefined {
  if (value === undefined) return undefined;
  const result = tryParseSize(value, label);
  return typeof result === 'string' ? fail(result) : result;
}
