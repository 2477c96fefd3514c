import { Construct, IConstruct } from 'constructs';

const ID = 'cdk8s-shm-synthesis';

/**
 * Tells an object's pipeline whether a plan it made earlier belongs to the synthesis under way,
 * so that it plans once per synthesis.
 *
 * cdk8s validates the whole app before it renders anything: once in `App.synth()` and once more
 * per chart (`Chart.toJson()`), with no user code in between. Impossible requests must be reported
 * in validation, so a pipeline plans there; the render that follows takes that plan instead of
 * rendering the object again (each extra render costs about a fifth of a synthesis). A new
 * synthesis begins with the first validation pass after a shared-memory object was rendered, or
 * after a pass that found problems (the synthesis failed, and user code may have fixed things):
 * plans made before it are void.
 *
 * What this cannot see: a chart without any shared-memory object synthesized on its own
 * (`Testing.synth(other)`), a workload in another chart changed afterwards, and that workload
 * rendered next. cdk8s has no hook on a chart's render, so nothing marks the first synthesis as
 * over, and a plan made while validating it would be taken. The README says so.
 */
export class SynthesisPasses extends Construct {
  /** The tracker of the app that `scope` belongs to, created on first use. */
  public static of(scope: IConstruct): SynthesisPasses {
    const root = scope.node.root;
    return (root.node.tryFindChild(ID) as SynthesisPasses | undefined) ?? new SynthesisPasses(root as Construct);
  }

  private currentSynthesis = 0;
  private endedSincePass = true;

  private constructor(root: Construct) {
    super(root, ID);
    // The root's own validations run first in every pass (cdk8s walks the tree in pre-order).
    root.node.addValidation({
      validate: () => {
        if (this.endedSincePass) this.currentSynthesis++;
        this.endedSincePass = false;
        return [];
      },
    });
  }

  /** The synthesis under way; plans are stamped with it. */
  public get synthesis(): number {
    return this.currentSynthesis;
  }

  /** A shared-memory object was rendered, or a plan found problems: the next validation pass begins a new synthesis. */
  public end(): void {
    this.endedSincePass = true;
  }
}
