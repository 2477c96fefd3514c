/**
 * CPU, memory and ephemeral storage of a container, as the constructs take them (cdk8s `Size` for
 * bytes, `Cpu` for cores) and as Kubernetes writes them. Shared by every construct that runs a
 * container of its own, so that one set of types and one rendering serve them all.
 */
import { Size } from 'cdk8s';
import { bytesCeil, compare, isQuantity, parseQuantity } from '../../core';
import { propLabel } from '../common/language-names';
import { sizeQuantity } from '../common/size-quantity';

/**
 * An amount of CPU.
 */
export class Cpu {
  /**
   * Thousandths of a core: `Cpu.millis(250)` is a quarter of a core (`250m`).
   *
   * @param amount a whole, non-negative number of millicores
   */
  public static millis(amount: number): Cpu {
    if (!Number.isInteger(amount) || amount < 0) {
      throw new Error(`Cpu.millis(${amount}): give a whole, non-negative number of millicores, e.g. Cpu.millis(250)`);
    }
    return new Cpu(`${amount}m`);
  }

  /**
   * Whole or fractional cores: `Cpu.units(2)`, `Cpu.units(0.5)` (at most three decimals).
   *
   * @param amount a non-negative number of cores
   */
  public static units(amount: number): Cpu {
    if (!Number.isFinite(amount) || amount < 0 || Math.abs(amount * 1000 - Math.round(amount * 1000)) > 1e-6) {
      throw new Error(`Cpu.units(${amount}): give a non-negative number of cores with at most three decimals, e.g. Cpu.units(0.5)`);
    }
    return new Cpu(String(amount));
  }

  /**
   * The amount as Kubernetes writes it (`250m`, `2`).
   */
  public readonly amount: string;

  private constructor(amount: string) {
    this.amount = amount;
  }
}

/**
 * CPU request and limit.
 */
export interface CpuResources {
  /**
   * What the scheduler reserves on the node.
   *
   * @default - none (the limit, if one is set)
   */
  readonly request?: Cpu;

  /**
   * The most the container may use; it is throttled above.
   *
   * @default - no limit
   */
  readonly limit?: Cpu;
}

/**
 * Memory request and limit.
 */
export interface MemoryResources {
  /**
   * What the scheduler reserves on the node.
   *
   * @default - none (the limit, if one is set)
   */
  readonly request?: Size;

  /**
   * The most the container may use, shared-memory pages it writes included; it is OOM-killed above.
   *
   * @default - no limit
   */
  readonly limit?: Size;
}

/**
 * Ephemeral storage request and limit (container logs, writable layers, emptyDir on disk).
 */
export interface EphemeralStorageResources {
  /**
   * What the scheduler reserves on the node.
   *
   * @default - none (the limit, if one is set)
   */
  readonly request?: Size;

  /**
   * The most the container may use; the pod is evicted above.
   *
   * @default - no limit
   */
  readonly limit?: Size;
}

/**
 * CPU, memory and ephemeral storage of a container.
 */
export interface ContainerResources {
  /**
   * CPU request and limit.
   *
   * @default - none
   */
  readonly cpu?: CpuResources;

  /**
   * Memory request and limit.
   *
   * @default - none
   */
  readonly memory?: MemoryResources;

  /**
   * Ephemeral storage request and limit.
   *
   * @default - none
   */
  readonly ephemeralStorage?: EphemeralStorageResources;
}

/** A container's `resources` as Kubernetes writes them. */
interface ResourcesJson {
  readonly requests?: Record<string, string>;
  readonly limits?: Record<string, string>;
}

/**
 * Kubernetes' `resources` of a container, sizes in their own units (never rounded), after the
 * checks the API server would make (each a valid quantity, no request above its limit).
 *
 * @param prop how messages name the prop (`'resources'`)
 * @param subject what the prop belongs to, for messages
 */
export function renderResources(resources: ContainerResources, prop: string, subject: string): ResourcesJson {
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  const kinds = [
    ['cpu', 'cpu', resources.cpu, (v: unknown) => (v as Cpu | undefined)?.amount],
    ['memory', 'memory', resources.memory, sizeText],
    ['ephemeralStorage', 'ephemeral-storage', resources.ephemeralStorage, sizeText],
  ] as const;
  for (const [field, key, range, text] of kinds) {
    if (range === undefined) continue;
    const request = range.request === undefined ? undefined : checked(text(range.request), `${prop}.${field}.request`, subject);
    const limit = range.limit === undefined ? undefined : checked(text(range.limit), `${prop}.${field}.limit`, subject);
    if (request !== undefined && limit !== undefined && exceeds(request, limit, key)) {
      throw new Error(`${propLabel(`${prop}.${field}.request`)} (${request}) of ${subject} exceeds its limit (${limit}): `
        + 'the API server refuses a request above the limit');
    }
    if (request !== undefined) requests[key] = request;
    if (limit !== undefined) limits[key] = limit;
  }
  return { ...(Object.keys(requests).length ? { requests } : {}), ...(Object.keys(limits).length ? { limits } : {}) };
}

/** Read by shape rather than `instanceof`: the app's copy of cdk8s may not be the one this package loaded. */
function sizeText(size: unknown): string | undefined {
  return typeof (size as Size | undefined)?.toKibibytes === 'function' ? sizeQuantity(size as Size) : undefined;
}

function checked(text: string | undefined, prop: string, subject: string): string {
  if (text === undefined || !isQuantity(text) || text.trim().startsWith('-')) {
    const hint = prop.includes('.cpu.') ? 'Cpu.millis(250) or Cpu.units(1)' : 'Size.mebibytes(256)';
    throw new Error(`${propLabel(prop)} (${text ?? 'not a quantity'}) of ${subject} is not a non-negative quantity: give one such as ${hint}`);
  }
  return text;
}

/** Whether a request is above its limit; memory in whole bytes, as the kubelet counts it. */
function exceeds(request: string, limit: string, key: string): boolean {
  return key === 'cpu' ? compare(parseQuantity(request), parseQuantity(limit)) > 0 : bytesCeil(request) > bytesCeil(limit);
}
