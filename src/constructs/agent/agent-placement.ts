/**
 * Options for `AgentPlacement.labeledNodes()`.
 */
export interface LabeledNodesOptions {
  /**
   * The node label (and taint) key.
   *
   * @default - `cdk8s-shm.io/<agent name>`
   */
  readonly key?: string;

  /**
   * The node label (and taint) value.
   *
   * @default "true"
   */
  readonly value?: string;

  /**
   * Whether the agent and the business pods tolerate a `<key>=<value>:NoSchedule` taint, so that
   * the operator can reserve the labeled nodes for pods that share with the agent.
   *
   * @default true
   */
  readonly tolerateTaint?: boolean;
}

/**
 * Which nodes run the agent, and so which nodes the business pods that share with it land on.
 */
export class AgentPlacement {
  /**
   * Only nodes carrying a label, added node by node during a gradual rollout (and tolerating the
   * matching `NoSchedule` taint). The default.
   *
   * @param options the label and whether a taint is tolerated
   */
  public static labeledNodes(options: LabeledNodesOptions = {}): AgentPlacement {
    return new AgentPlacement(false, options.key, options.value ?? 'true', options.tolerateTaint ?? true);
  }

  /**
   * Every Linux node, tolerating every taint, as node-critical daemons do. Business pods need no
   * node selector beyond `kubernetes.io/os: linux`.
   */
  public static allNodes(): AgentPlacement {
    return new AgentPlacement(true, undefined, undefined, false);
  }

  /**
   * True when the agent runs on every Linux node.
   */
  public readonly everyNode: boolean;

  /**
   * The node label key, when one was given.
   *
   * @default - derived from the agent name, or none for `allNodes()`
   */
  public readonly labelKey?: string;

  /**
   * The node label value.
   *
   * @default - none for `allNodes()`
   */
  public readonly labelValue?: string;

  /**
   * Whether the matching `NoSchedule` taint is tolerated.
   */
  public readonly tolerateTaint: boolean;

  private constructor(everyNode: boolean, labelKey: string | undefined, labelValue: string | undefined, tolerateTaint: boolean) {
    this.everyNode = everyNode;
    this.labelKey = labelKey;
    this.labelValue = labelValue;
    this.tolerateTaint = tolerateTaint;
  }
}
