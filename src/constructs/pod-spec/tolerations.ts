/**
 * Tolerations of node taints, in Kubernetes' shape, checked as the API server checks them
 * (`ValidateTolerations`) so that a mistake fails at synthesis and names the prop.
 */
import { checkLabel } from '../common/checks';
import { propLabel } from '../common/language-names';

/**
 * How a toleration matches a taint's value.
 */
export enum TolerationOperator {
  /** The taint's value must equal the toleration's `value`. */
  EQUAL = 'Equal',
  /** Any value (or none); with no `key`, every taint. */
  EXISTS = 'Exists',
}

/**
 * What a taint does to pods that do not tolerate it.
 */
export enum TaintEffect {
  /** New pods are not scheduled onto the node. */
  NO_SCHEDULE = 'NoSchedule',
  /** The scheduler avoids the node when it can. */
  PREFER_NO_SCHEDULE = 'PreferNoSchedule',
  /** Running pods are evicted too. */
  NO_EXECUTE = 'NoExecute',
}

/**
 * A taint the pods tolerate (Kubernetes' `Toleration`).
 */
export interface Toleration {
  /**
   * The taint key, a label key.
   *
   * @default - any key (then `operator` must be `EXISTS`)
   */
  readonly key?: string;

  /**
   * How the taint's value is matched.
   *
   * @default TolerationOperator.EQUAL
   */
  readonly operator?: TolerationOperator;

  /**
   * The taint value, with `TolerationOperator.EQUAL`.
   *
   * @default - the empty value
   */
  readonly value?: string;

  /**
   * The taint effect tolerated.
   *
   * @default - every effect
   */
  readonly effect?: TaintEffect;

  /**
   * With `TaintEffect.NO_EXECUTE`: how long the pods stay on a node after the taint appears.
   *
   * @default - forever
   */
  readonly tolerationSeconds?: number;
}

const OPERATORS: readonly string[] = Object.values(TolerationOperator);
const EFFECTS: readonly string[] = Object.values(TaintEffect);

/**
 * Kubernetes' `tolerations`, after the API server's checks.
 * @param prop how messages name the prop (`'tolerations'`)
 */
export function renderTolerations(tolerations: readonly Toleration[], prop: string, subject: string): Record<string, unknown>[] {
  if (!Array.isArray(tolerations)) throw new Error(`'${prop}' of ${subject} must be a list of tolerations`);
  return tolerations.map((t, index) => {
    const at = `${propLabel(`${prop}[${index}]`)} (${JSON.stringify(t)}) of ${subject}`;
    if (t === null || typeof t !== 'object') throw new Error(`${at} is not a toleration: give { key, operator, value, effect }`);
    const operator = t.operator ?? TolerationOperator.EQUAL;
    if (!OPERATORS.includes(operator)) throw new Error(`${at} has operator ${JSON.stringify(operator)}: use TolerationOperator.EQUAL or EXISTS`);
    if (t.effect !== undefined && !EFFECTS.includes(t.effect)) {
      throw new Error(`${at} has effect ${JSON.stringify(t.effect)}: use TaintEffect.NO_SCHEDULE, PREFER_NO_SCHEDULE or NO_EXECUTE`);
    }
    if (t.key === undefined || t.key === '') {
      if (operator !== TolerationOperator.EXISTS) throw new Error(`${at} has no key: a toleration of every taint needs operator TolerationOperator.EXISTS`);
    } else {
      checkLabel(t.key, '', subject, `${propLabel(`${prop}[${index}]`)} taint`);
    }
    if (operator === TolerationOperator.EXISTS && t.value !== undefined && t.value !== '') {
      throw new Error(`${at} has a value with operator EXISTS, which matches any value: remove 'value' or use EQUAL`);
    }
    if (t.value !== undefined) checkLabel('value', t.value, subject, `${propLabel(`${prop}[${index}]`)} taint`);
    if (t.tolerationSeconds !== undefined) {
      if (!Number.isInteger(t.tolerationSeconds)) throw new Error(`${at} has ${propLabel('tolerationSeconds')} that is not a whole number of seconds`);
      if (t.effect !== TaintEffect.NO_EXECUTE) throw new Error(`${at} sets ${propLabel('tolerationSeconds')}, which only means something with effect TaintEffect.NO_EXECUTE`);
    }
    const json: Record<string, unknown> = {};
    if (t.key !== undefined) json.key = t.key;
    // The operator Kubernetes assumes is written only when the user wrote it, as they wrote it.
    if (t.operator !== undefined) json.operator = t.operator;
    if (t.value !== undefined) json.value = t.value;
    if (t.effect !== undefined) json.effect = t.effect;
    if (t.tolerationSeconds !== undefined) json.tolerationSeconds = t.tolerationSeconds;
    return json;
  });
}
