/**
 * The `/dev/shm` sizing stage of a pipeline: what one `SharedMemory` claim (an `addTo` or an
 * `applyToChart`) does to one object. Pure apart from the decision it reports back.
 */
import {
  INJECT_ANNOTATION, Policy, ShmPlan, UnhonouredAnnotations, annotationConflicts, formatBytes, misplacedAnnotations, planSharedMemory, planToPatch,
} from '../../core';
import { methodLabel, propLabel } from '../common/language-names';
import { PipelineStage, StageInput, StageOutput } from '../synthesis/pipeline';

const ADD_TO = methodLabel('SharedMemory', 'addTo');

/** What a sizing stage decided, for `SharedMemory.decisions`. */
export interface SizingOutput extends StageOutput {
  readonly plan?: ShmPlan;
  /** `cdk8s-shm.io/` annotations on the workload's own metadata, which reach no pod. */
  readonly misplaced?: UnhonouredAnnotations;
}

/**
 * One claim on one object.
 *
 * A strict stage (`addTo`) refuses anything short of a correct `/dev/shm`, and a user's own
 * annotation that contradicts one of its explicit options. A lenient stage (`applyToChart`) sizes
 * what it can, like the webhook, and lets the pod's annotations decide.
 */
export class SizingStage implements PipelineStage {
  public readonly phase = 'size';

  constructor(
    private readonly policy: Policy,
    public readonly strict: boolean,
    /** Higher runs first: `addTo` before any `applyToChart`, an inner chart's before an outer's. */
    public readonly specificity: number,
    /** Receives every decision that went into a rendering. */
    private readonly onDecision: (output: SizingOutput, subject: string) => void,
  ) {}

  public run(input: StageInput): SizingOutput {
    const { location, subject } = input;
    if (!location) {
      return { ops: [], problems: this.strict ? [`${subject} renders no pod template: ${ADD_TO} needs a workload with pods`] : [] };
    }
    if (this.strict && input.shmReplacedBy) {
      return {
        ops: [],
        problems: [`${subject} gets a per-pod /dev/shm from ${ADD_TO} and shares ${input.shmReplacedBy} at /dev/shm: `
          + `remove ${ADD_TO} (the agent's domain replaces it) or share at another ${propLabel('mountPath')}`],
      };
    }
    const plan = planSharedMemory(location.template, this.policy);
    const misplaced = misplacedAnnotations(input.object);
    const problems = this.strict
      ? [...conflictProblems(input, this.policy), ...strictProblems(plan, subject), ...(misplaced ? [`${subject}: ${misplaced.message}`] : [])]
      : [];
    return { ops: problems.length > 0 ? [] : planToPatch(plan, location.path), problems, plan, misplaced };
  }

  public record(output: SizingOutput, subject: string): void {
    this.onDecision(output, subject);
  }
}

/** The user's own annotations that say otherwise than an option given to `addTo`. */
function conflictProblems(input: StageInput, policy: Policy): string[] {
  return annotationConflicts(input.userAnnotations, policy).map(c =>
    `${input.subject} carries the annotation ${c.annotation}: "${c.annotationValue}", which contradicts the option ${propLabel(c.setting)} (${c.value}) `
    + `of ${ADD_TO}: remove one of them`);
}

/** Under `addTo`, anything short of a correct `/dev/shm` is the user's to fix, so it fails synthesis. */
function strictProblems(plan: ShmPlan, subject: string): string[] {
  const drop = `or remove ${ADD_TO}`;
  switch (plan.reason) {
    case undefined:
      break;
    case 'no-memory-limit':
      return [`${subject}: ${plan.message}: set 'resources.memory.limit' (for example Size.gibibytes(4))`];
    case 'below-runtime-default':
      return [`${subject}: ${plan.message}: set 'minimum' or 'size', ${drop}`];
    case 'opted-out':
      return [`${subject} carries the annotation ${INJECT_ANNOTATION}: "false", which contradicts ${ADD_TO}: remove one of them`];
    case 'windows':
      return [`${subject}: ${plan.message}: remove ${ADD_TO}`];
    case 'host-ipc':
      return [`${subject} sets 'hostIPC' to true, so /dev/shm is the node's own: turn 'hostIPC' off ${drop}`];
    case 'user-shm-mount':
      return [`${subject}: ${plan.message}; remove that mount to let SharedMemory size /dev/shm, ${drop}`];
    case 'user-shm-unbounded':
      return [`${subject}: ${plan.message}; set ${propLabel('sizeUnboundedShm')} to size it, remove that mount, ${drop}`];
    case 'volume-name-taken':
      return [`${subject}: ${plan.message}; set ${propLabel('volumeName')} to another name`];
    case 'no-target-containers':
      return [`'containers' (${unknownContainers(plan).join(', ')}) names no container of ${subject}`];
    default:
      return [`${subject}: ${plan.message}`];
  }
  const problems: string[] = [];
  if (plan.requestedBytes !== undefined && plan.sizeBytes !== undefined && plan.requestedBytes > plan.sizeBytes && plan.limit?.kind === 'limited') {
    const prop = plan.sizeSource === 'size-annotation' ? 'cdk8s-shm.io/size' : plan.sizeSource ?? 'size';
    problems.push(`'${prop}' (${formatBytes(plan.requestedBytes)}) must not exceed the pod memory limit (${formatBytes(plan.limit.bytes)}) of ${subject}`);
  }
  // Containers named by the pod's own annotation are among the annotations that cannot be honoured.
  if (!plan.annotated.includes('containers')) {
    for (const container of unknownContainers(plan)) {
      problems.push(`'containers' names '${container}', which is not a container of ${subject}`);
    }
  }
  for (const unhonoured of plan.unhonoured) {
    problems.push(`${subject} carries ${unhonoured.annotations.join(', ')}, which cannot be honoured: ${unhonoured.message}`);
  }
  return problems;
}

function unknownContainers(plan: ShmPlan): string[] {
  return plan.warnings.filter(w => w.code === 'unknown-container' && w.container !== undefined).map(w => w.container!);
}
