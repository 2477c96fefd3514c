/**
 * Node and pod affinity in Kubernetes' shape (field names as in a manifest, so that what a user
 * knows from YAML reads the same here), checked as far as a mistake would otherwise only show
 * when the API server refuses the object.
 */
import { checkLabel } from '../common/checks';
import { propLabel } from '../common/language-names';

/**
 * How a node selector requirement matches a node label (or field).
 */
export enum NodeSelectorOperator {
  /** The label's value is one of `values`. */
  IN = 'In',
  /** The label is absent or its value is none of `values`. */
  NOT_IN = 'NotIn',
  /** The label is present (no `values`). */
  EXISTS = 'Exists',
  /** The label is absent (no `values`). */
  DOES_NOT_EXIST = 'DoesNotExist',
  /** The label's value, an integer, is greater than the one value given. */
  GT = 'Gt',
  /** The label's value, an integer, is less than the one value given. */
  LT = 'Lt',
}

/**
 * How a label selector requirement matches a pod (or namespace) label.
 */
export enum LabelSelectorOperator {
  /** The label's value is one of `values`. */
  IN = 'In',
  /** The label is absent or its value is none of `values`. */
  NOT_IN = 'NotIn',
  /** The label is present (no `values`). */
  EXISTS = 'Exists',
  /** The label is absent (no `values`). */
  DOES_NOT_EXIST = 'DoesNotExist',
}

/**
 * One requirement on a node's labels (or fields).
 */
export interface NodeSelectorRequirement {
  /** The label (or field) key. */
  readonly key: string;

  /** How it is matched. */
  readonly operator: NodeSelectorOperator;

  /**
   * The values: one or more for `IN` and `NOT_IN`, exactly one integer for `GT` and `LT`, none otherwise.
   *
   * @default - none
   */
  readonly values?: string[];
}

/**
 * Requirements a node must meet all of.
 */
export interface NodeSelectorTerm {
  /**
   * Requirements on node labels.
   *
   * @default - none
   */
  readonly matchExpressions?: NodeSelectorRequirement[];

  /**
   * Requirements on node fields (`metadata.name`).
   *
   * @default - none
   */
  readonly matchFields?: NodeSelectorRequirement[];
}

/**
 * Terms of which a node must meet at least one.
 */
export interface NodeSelector {
  /** The terms, ORed. */
  readonly nodeSelectorTerms: NodeSelectorTerm[];
}

/**
 * A term the scheduler prefers nodes by.
 */
export interface PreferredSchedulingTerm {
  /** From 1 to 100: how much a node meeting the term is preferred. */
  readonly weight: number;

  /** The term. */
  readonly preference: NodeSelectorTerm;
}

/**
 * Which nodes the pods may, or would rather, run on.
 */
export interface NodeAffinity {
  /**
   * Nodes the pods may run on.
   *
   * @default - any node
   */
  readonly requiredDuringSchedulingIgnoredDuringExecution?: NodeSelector;

  /**
   * Nodes the pods would rather run on.
   *
   * @default - no preference
   */
  readonly preferredDuringSchedulingIgnoredDuringExecution?: PreferredSchedulingTerm[];
}

/**
 * One requirement on labels.
 */
export interface LabelSelectorRequirement {
  /** The label key. */
  readonly key: string;

  /** How it is matched. */
  readonly operator: LabelSelectorOperator;

  /**
   * The values: one or more for `IN` and `NOT_IN`, none otherwise.
   *
   * @default - none
   */
  readonly values?: string[];
}

/**
 * Labels that select pods or namespaces (all of them must match).
 */
export interface LabelSelector {
  /**
   * Labels that must have these values.
   *
   * @default - none
   */
  readonly matchLabels?: { [key: string]: string };

  /**
   * Requirements on labels.
   *
   * @default - none
   */
  readonly matchExpressions?: LabelSelectorRequirement[];
}

/**
 * The pods, and the topology domain, a pod affinity term is about.
 */
export interface PodAffinityTerm {
  /** The node label whose value defines a domain (`kubernetes.io/hostname`, `topology.kubernetes.io/zone`). */
  readonly topologyKey: string;

  /**
   * The pods the term is about.
   *
   * @default - no pods
   */
  readonly labelSelector?: LabelSelector;

  /**
   * The namespaces of those pods, by label (with `namespaces`, either counts).
   *
   * @default - the pod's own namespace, unless `namespaces` says otherwise
   */
  readonly namespaceSelector?: LabelSelector;

  /**
   * The namespaces of those pods, by name.
   *
   * @default - the pod's own namespace, unless `namespaceSelector` says otherwise
   */
  readonly namespaces?: string[];

  /**
   * Pod label keys whose values, taken from the incoming pod, are added to `labelSelector` as `In` requirements.
   *
   * @default - none
   */
  readonly matchLabelKeys?: string[];

  /**
   * Pod label keys whose values, taken from the incoming pod, are added to `labelSelector` as `NotIn` requirements.
   *
   * @default - none
   */
  readonly mismatchLabelKeys?: string[];
}

/**
 * A pod affinity term the scheduler prefers nodes by.
 */
export interface WeightedPodAffinityTerm {
  /** From 1 to 100: how much a node meeting the term is preferred. */
  readonly weight: number;

  /** The term. */
  readonly podAffinityTerm: PodAffinityTerm;
}

/**
 * Pods to run near (`podAffinity`) or away from (`podAntiAffinity`).
 */
export interface PodAffinity {
  /**
   * Terms every node the pods run on must meet.
   *
   * @default - none
   */
  readonly requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[];

  /**
   * Terms the scheduler prefers nodes by.
   *
   * @default - none
   */
  readonly preferredDuringSchedulingIgnoredDuringExecution?: WeightedPodAffinityTerm[];
}

/**
 * Node and pod affinity of pods (Kubernetes' `Affinity`).
 */
export interface Affinity {
  /**
   * Which nodes the pods may, or would rather, run on.
   *
   * @default - any node
   */
  readonly nodeAffinity?: NodeAffinity;

  /**
   * Pods to run near.
   *
   * @default - none
   */
  readonly podAffinity?: PodAffinity;

  /**
   * Pods to run away from.
   *
   * @default - none
   */
  readonly podAntiAffinity?: PodAffinity;
}

type Json = Record<string, unknown>;

/** Kubernetes' `affinity`, after the checks. @param prop how messages name the prop (`'affinity'`) */
export function renderAffinity(affinity: Affinity, prop: string, subject: string): Json {
  const r = new Renderer(subject);
  return r.object(affinity, prop, {
    nodeAffinity: (v, p) => r.object(v, p, {
      requiredDuringSchedulingIgnoredDuringExecution: (s, sp) => r.object(s, sp, {
        nodeSelectorTerms: (terms, tp) => r.list(terms, tp, (t, ip) => r.nodeTerm(t, ip), true),
      }, ['nodeSelectorTerms']),
      preferredDuringSchedulingIgnoredDuringExecution: (l, lp) => r.list(l, lp, (t, ip) => r.object(t, ip, {
        weight: (w, wp) => r.weight(w, wp),
        preference: (n, np) => r.nodeTerm(n, np),
      }, ['weight', 'preference'])),
    }),
    podAffinity: (v, p) => r.podAffinity(v, p),
    podAntiAffinity: (v, p) => r.podAffinity(v, p),
  });
}

type Field = (value: any, prop: string) => unknown;

/** Walks the structs field by field: known fields only, each checked, named by its path in messages. */
class Renderer {
  constructor(private readonly subject: string) {}

  public object(value: unknown, prop: string, fields: Record<string, Field>, required: readonly string[] = []): Json {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw this.error(prop, value, 'is not an object');
    const source = value as Json;
    const json: Json = {};
    for (const key of Object.keys(source)) {
      if (!(key in fields)) throw this.error(prop, value, `has an unknown field ${propLabel(key)}`);
    }
    for (const [key, render] of Object.entries(fields)) {
      if (source[key] === undefined) {
        if (required.includes(key)) throw this.error(prop, value, `needs ${propLabel(key)}`);
        continue;
      }
      json[key] = render(source[key], `${prop}.${key}`);
    }
    return json;
  }

  public list(value: unknown, prop: string, item: Field, nonEmpty = false): unknown[] {
    if (!Array.isArray(value)) throw this.error(prop, value, 'is not a list');
    if (nonEmpty && value.length === 0) throw this.error(prop, value, 'is empty');
    return value.map((v, i) => item(v, `${prop}[${i}]`));
  }

  public nodeTerm(value: unknown, prop: string): Json {
    const requirement: Field = (v, p) => this.requirement(v, p, Object.values(NodeSelectorOperator));
    return this.object(value, prop, {
      matchExpressions: (l, lp) => this.list(l, lp, requirement),
      matchFields: (l, lp) => this.list(l, lp, requirement),
    });
  }

  public podAffinity(value: unknown, prop: string): Json {
    return this.object(value, prop, {
      requiredDuringSchedulingIgnoredDuringExecution: (l, lp) => this.list(l, lp, (t, tp) => this.podTerm(t, tp)),
      preferredDuringSchedulingIgnoredDuringExecution: (l, lp) => this.list(l, lp, (t, tp) => this.object(t, tp, {
        weight: (w, wp) => this.weight(w, wp),
        podAffinityTerm: (a, ap) => this.podTerm(a, ap),
      }, ['weight', 'podAffinityTerm'])),
    });
  }

  public weight(value: unknown, prop: string): number {
    if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 100) throw this.error(prop, value, 'must be a whole number from 1 to 100');
    return value as number;
  }

  private podTerm(value: unknown, prop: string): Json {
    const strings: Field = (l, lp) => this.list(l, lp, (s, sp) => this.text(s, sp));
    return this.object(value, prop, {
      topologyKey: (k, kp) => {
        checkLabel(this.text(k, kp), '', this.subject, propLabel(kp));
        return k;
      },
      labelSelector: (s, sp) => this.labelSelector(s, sp),
      namespaceSelector: (s, sp) => this.labelSelector(s, sp),
      namespaces: strings,
      matchLabelKeys: strings,
      mismatchLabelKeys: strings,
    }, ['topologyKey']);
  }

  private labelSelector(value: unknown, prop: string): Json {
    return this.object(value, prop, {
      matchLabels: (m, mp) => {
        const labels = this.object(m, mp, Object.fromEntries(Object.keys(m ?? {}).map(k => [k, (v: unknown, vp: string) => this.text(v, vp)])));
        for (const [k, v] of Object.entries(labels)) checkLabel(k, v as string, this.subject, propLabel(mp));
        return labels;
      },
      matchExpressions: (l, lp) => this.list(l, lp, (r, rp) => this.requirement(r, rp, Object.values(LabelSelectorOperator))),
    });
  }

  /** A requirement, with the values its operator needs (the API server's rule). */
  private requirement(value: unknown, prop: string, operators: readonly string[]): Json {
    const json = this.object(value, prop, {
      key: (k, kp) => this.text(k, kp),
      operator: (o, op) => {
        if (!operators.includes(o)) throw this.error(op, o, `must be one of ${operators.join(', ')}`);
        return o;
      },
      values: (l, lp) => this.list(l, lp, (s, sp) => this.text(s, sp)),
    }, ['key', 'operator']);
    checkLabel(json.key as string, '', this.subject, propLabel(`${prop}.key`));
    const values = (json.values ?? []) as string[];
    const operator = json.operator as string;
    if (['In', 'NotIn'].includes(operator) && values.length === 0) throw this.error(prop, value, `needs 'values' with operator ${operator}`);
    if (['Exists', 'DoesNotExist'].includes(operator) && values.length > 0) throw this.error(prop, value, `may not have 'values' with operator ${operator}`);
    if (['Gt', 'Lt'].includes(operator) && (values.length !== 1 || !/^-?\d+$/.test(values[0]))) {
      throw this.error(prop, value, `needs exactly one integer in 'values' with operator ${operator}`);
    }
    return json;
  }

  private text(value: unknown, prop: string): string {
    if (typeof value !== 'string') throw this.error(prop, value, 'is not a string');
    return value;
  }

  private error(prop: string, value: unknown, problem: string): Error {
    return new Error(`${propLabel(prop)} (${JSON.stringify(value)}) of ${this.subject} ${problem}`);
  }
}
