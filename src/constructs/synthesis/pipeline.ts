import { ApiObject } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { SynthesisPasses } from './synthesis-passes';
import { JsonObject, JsonPatchOperation, PodTemplateLocation, applyOperations, describeObject, objectAt, podTemplateOf } from '../../core';

/** What a stage is given: the object as the stages before it left it. */
export interface StageInput {
  /** The object's Kubernetes JSON so far. A stage reads it and never changes it. */
  readonly object: JsonObject;
  /** Where its pod template is; absent when it renders none. */
  readonly location?: PodTemplateLocation;
  /** The pod template's annotations as the object itself rendered them, before any stage: the user's own. */
  readonly userAnnotations: JsonObject;
  /** How messages name the object: its Kubernetes kind and name, `Deployment 'web-c8a1'`. */
  readonly subject: string;
  /** Set when a sharing stage mounted a node agent's domain at `/dev/shm`: that agent, for messages. */
  readonly shmReplacedBy?: string;
}

/** What a stage decided. */
export interface StageOutput {
  /** RFC 6902 operations on the whole object; applied in order, after the previous stages'. */
  readonly ops: readonly JsonPatchOperation[];
  /** What stops synthesis, each naming the object and the fix (only strict stages have any). */
  readonly problems: readonly string[];
  /** The stage mounts a node agent's domain at `/dev/shm` (the agent, for messages). */
  readonly replacesShm?: string;
}

/** One transformation of an object's rendering: a pure function of what it is given. */
export interface PipelineStage {
  /** Sharing with a node agent comes before sizing `/dev/shm`: it decides whether there is a per-pod one. */
  readonly phase: 'share' | 'size';
  /** Among stages of a phase, the more specific runs first: `addTo` before `applyToChart`, an inner chart before an outer. */
  readonly specificity: number;
  /** Whether the stage can have problems (which validation must report before the render). */
  readonly strict: boolean;
  /**
   * Plans on `input`. Called for every rendering, and once more on the final result, where it
   * must find nothing to do.
   */
  run(input: StageInput): StageOutput;
  /**
   * Called with the output that went into the rendering, and what the stage was given (the
   * construct that owns the stage keeps its decisions). Planning happens in validation, before any
   * object is rendered, so every record is made before the render of any object that reads it.
   */
  record?(output: StageOutput, subject: string, input: StageInput): void;
}

/** One rendering through every stage. */
interface Rendering {
  readonly json: JsonObject;
  readonly problems: readonly string[];
  /** The synthesis it was made in (see SynthesisPasses). */
  readonly synthesis: number;
}

const ID = 'SharedMemoryPipeline';
const PHASES: Readonly<Record<PipelineStage['phase'], number>> = { share: 0, size: 1 };

/**
 * The one place where cdk8s-shm changes what an ApiObject renders.
 *
 * The pod template is only final when the object is rendered (containers are added after
 * `addTo()`, an `Include` is read at synthesis), and cdk8s has no hook there. So every object that
 * something of ours claims gets one pipeline, a child construct of the object, which replaces the
 * object's `toJson` once and runs the claims' stages in order on the Kubernetes JSON the object
 * rendered: sharing with a node agent first, then `/dev/shm` sizing, the most specific claim first.
 * Each stage is a pure function returning operations and problems; the operations are applied once,
 * on the rendering, and the result is checked once: every stage, run on it again, must find nothing
 * to do.
 *
 * Problems are reported through cdk8s validation, every one of them in one synthesis, on the
 * object's construct path. Validation plans; the render that follows takes that plan rather than
 * rendering the object twice (SynthesisPasses says when a plan still holds).
 */
export class ShmPipeline extends Construct {
  /** The pipeline of `apiObject`, created on first use. */
  public static of(apiObject: ApiObject): ShmPipeline {
    return (apiObject.node.tryFindChild(ID) as ShmPipeline | undefined) ?? new ShmPipeline(apiObject);
  }

  /** Whether `apiObject` has a pipeline (something of ours claimed it). */
  public static has(apiObject: IConstruct): boolean {
    return apiObject.node.tryFindChild(ID) !== undefined;
  }

  private readonly renderOwn: () => any;
  private readonly passes: SynthesisPasses;
  private readonly stages: PipelineStage[] = [];
  /** The plan made in validation, waiting for the render of the same synthesis. */
  private planned?: Rendering;

  private constructor(apiObject: ApiObject) {
    super(apiObject, ID);
    this.passes = SynthesisPasses.of(apiObject);
    this.renderOwn = apiObject.toJson.bind(apiObject);
    apiObject.toJson = () => this.render();
    apiObject.node.addValidation({ validate: () => this.problemsBeforeRender() });
  }

  /** Adds a stage; stages run by phase, then by specificity (highest first), then in the order added. */
  public addStage(stage: PipelineStage): void {
    this.stages.push(stage);
    // Array.prototype.sort is stable: stages of equal rank keep the order they were added in.
    this.stages.sort((a, b) => PHASES[a.phase] - PHASES[b.phase] || b.specificity - a.specificity);
  }

  /** The stages, in the order they run. */
  public get stageList(): readonly PipelineStage[] {
    return [...this.stages];
  }

  // Not named validate(): constructs before 10.4 refuse a construct with such a method.
  private problemsBeforeRender(): string[] {
    // Only strict stages have problems to report; an object without any plans at its render alone.
    if (!this.stages.some(stage => stage.strict)) return [];
    const current = this.current();
    if (current) return [...current.problems];
    let rendering: Rendering;
    try {
      rendering = this.plan();
    } catch {
      // The object cannot render yet; its own render reports why, in cdk8s's words.
      return [];
    }
    this.planned = rendering;
    if (rendering.problems.length > 0) this.passes.end();
    return [...rendering.problems];
  }

  private render(): any {
    const rendering = this.current() ?? this.plan();
    this.planned = undefined;
    this.passes.end();
    if (rendering.problems.length > 0) {
      // Validation reports these in every synthesis; this is a render outside one.
      throw new Error(`${rendering.problems.join('\n')}`);
    }
    return rendering.json;
  }

  /** The plan made in validation, if it belongs to the synthesis under way. */
  private current(): Rendering | undefined {
    const planned = this.planned;
    return planned && planned.synthesis === this.passes.synthesis && planned.problems.length === 0 ? planned : undefined;
  }

  /** Renders the object and runs every stage on it. */
  private plan(): Rendering {
    const json = this.renderOwn() as JsonObject;
    const subject = describeObject(json, false);
    const userAnnotations = { ...objectAt(objectAt(podTemplateOf(json)?.template.metadata)?.annotations) };
    const problems: string[] = [];
    let shmReplacedBy: string | undefined;
    const input = (): StageInput => ({ object: json, location: podTemplateOf(json), userAnnotations, subject, shmReplacedBy });
    for (const stage of this.stages) {
      const given = input();
      const output = stage.run(given);
      stage.record?.(output, subject, given);
      problems.push(...output.problems);
      shmReplacedBy = output.replacesShm ?? shmReplacedBy;
      if (output.problems.length === 0) applyOperations(json, output.ops);
    }
    if (problems.length === 0) {
      // Applying the operations must settle the object: a stage that still finds work would mean a half-made pod.
      shmReplacedBy = undefined;
      for (const stage of this.stages) {
        const again = stage.run(input());
        shmReplacedBy = again.replacesShm ?? shmReplacedBy;
        if (again.ops.length > 0) problems.push(`${subject} did not settle after its shared-memory changes (${this.node.path}); please report this`);
      }
    }
    return { json, problems, synthesis: this.passes.synthesis };
  }
}
