/**
 * The sharing stage of a pipeline: what `SharedMemoryAgent.share()` does to one business object,
 * run on its final rendering before any `/dev/shm` sizing. Pure: no cdk8s.
 */
import { ShareSpec, planShare } from './share-plan';
import { INJECT_ANNOTATION, JsonObject, SHM_MOUNT_PATH, normalizeMountPath, objectAt, setAnnotationOps, stringAt } from '../../core';
import { PipelineStage, StageInput, StageOutput } from '../synthesis/pipeline';

/** What the agent decides for every object it shares with; the stage adds what is the object's own. */
export type AgentShareSpec = Omit<ShareSpec, 'subject'>;

export class ShareStage implements PipelineStage {
  public readonly phase = 'share';
  public readonly specificity = 0;
  public readonly strict = true;

  constructor(
    private readonly spec: AgentShareSpec,
    /** Why the namespace's Pod Security level forbids the pod, if it does. */
    private readonly namespaceProblem: (subject: string, namespace: string) => string | undefined,
    /** Receives the object as the stage saw it (the agent reads its tenant from it). */
    private readonly onShared: (object: JsonObject) => void,
  ) {}

  public record(_output: StageOutput, _subject: string, input: StageInput): void {
    this.onShared(input.object);
  }

  public run(input: StageInput): StageOutput {
    const { location, subject } = input;
    const agent = this.spec.agent;
    if (!location) {
      return { ops: [], problems: [`${subject} has no pod template: share() needs a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob`] };
    }
    const namespace = stringAt(objectAt(input.object.metadata)?.namespace) ?? 'default';
    const forbidden = this.namespaceProblem(subject, namespace);
    if (forbidden) return { ops: [], problems: [forbidden] };
    const plan = planShare(location.template, { ...this.spec, subject }, location.path);
    if (plan.errors.length > 0) return { ops: [], problems: plan.errors };

    // The domain (or, with System V, the node's own /dev/shm) replaces the pod's: the webhook and
    // every other way in must not add a memory-backed emptyDir over it.
    const atShm = normalizeMountPath(this.spec.mountPath) === SHM_MOUNT_PATH;
    const hidesShm = atShm || this.spec.systemV;
    const optOut = hidesShm ? setAnnotationOps(location.template.metadata, location.path, INJECT_ANNOTATION, 'false') : [];
    return { ops: [...plan.ops, ...optOut], problems: [], replacesShm: atShm ? agent : undefined };
  }
}
