import { ApiObject, Chart, Size } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { SizingStage } from './sizing-stage';
import { Policy, PolicyError, PolicyInput, QUIET_SKIP_REASONS, ShmPlan, UnhonouredAnnotations, formatBytes, hasPodTemplate, resolvePolicy } from '../../core';
import { methodLabel, propLabel } from '../common/language-names';
import { optionalSizeQuantity } from '../common/size-quantity';
import { ShmPipeline } from '../synthesis/pipeline';
import { warnAtSynthesis } from '../synthesis/synth-warnings';
import { workloadApiObject } from '../synthesis/workload-object';

/**
 * How to size and mount `/dev/shm`.
 */
export interface SharedMemoryOptions {
  /**
   * Share of the basis given to `/dev/shm`, greater than 0 and at most 1. The basis is the largest
   * memory limit among the app containers and sidecars that mount `/dev/shm`: its pages are charged
   * to the container that writes them, so what `/dev/shm` holds is not available to that container.
   *
   * @default 0.5 - half the basis, the share a Linux host gives its own /dev/shm
   */
  readonly ratio?: number;

  /**
   * An exact `/dev/shm` size instead of a share of the basis. Cannot be combined with `ratio`,
   * `minimum` or `maximum`, and must not exceed the pod memory limit (the kubelet's cap).
   *
   * @default - derived from `ratio`
   */
  readonly size?: Size;

  /**
   * Smallest size a ratio-derived `/dev/shm` may have (never above the pod memory limit). Without
   * it, a share below the runtime's own 64Mi is refused, since it would shrink what the pod has.
   *
   * @default - no minimum
   */
  readonly minimum?: Size;

  /**
   * Largest size a ratio-derived `/dev/shm` may have. At least the runtime's own 64Mi, unless
   * `minimum` is set too: a lower cap could only give pods less than they have without cdk8s-shm
   * (`Size.mebibytes(64)`, not 64 million bytes).
   *
   * @default - no maximum
   */
  readonly maximum?: Size;

  /**
   * Name of the memory-backed emptyDir volume mounted at `/dev/shm`.
   *
   * @default "dshm"
   */
  readonly volumeName?: string;

  /**
   * Names of the containers (app containers, sidecars or init containers) that mount `/dev/shm`.
   * Containers left out keep the runtime's 64 MiB default.
   *
   * @default - every container, including init containers and sidecars unless `includeInitContainers` (`include_init_containers` in Python) is false
   */
  readonly containers?: string[];

  /**
   * Whether init containers and sidecars (`restartPolicy: Always` init containers) mount
   * `/dev/shm` too when `containers` is not given.
   *
   * @default true
   */
  readonly includeInitContainers?: boolean;

  /**
   * Whether a `/dev/shm` the workload brings itself, a memory-backed emptyDir without `sizeLimit`
   * (which can grow to the node's memory, kubernetes#125852), is sized by the same rule, from the
   * containers that mount it. Its name and mounts are kept.
   *
   * @default false - such a volume is refused under `addTo` (`add_to` in Python) and left alone by `applyToChart` (`apply_to_chart`)
   */
  readonly sizeUnboundedShm?: boolean;

  /**
   * Whether shared memory comes on top of the application's memory instead of out of it: the
   * memory limit of every container that writes `/dev/shm` beside the application (app containers
   * and sidecars with a limit of their own, and a pod-level limit) grows by the `/dev/shm` size,
   * and a memory request equal to its limit grows with it. Give the size the application needs
   * (`size`, e.g. NCCL's few GiB or a DataLoader's workers x batch), or a `ratio` of the limit as
   * declared. (`limit_follows` in Python.)
   *
   * @default false - /dev/shm is a share of the limit, and what it holds the application cannot use
   */
  readonly limitFollows?: boolean;

  /**
   * Whether the `/dev/shm` mounts ask for what the container runtime mounts its own `/dev/shm`
   * with: `volumeMounts[].bindMountOptions` `nosuid`, `nodev`, `noexec` (Kubernetes 1.37+, alpha
   * feature gate `VolumeBindMountOptions` on the API server and the kubelets, and a runtime that
   * supports mount options). Where the API server lacks the gate it drops the options without a word,
   * so every way in warns that they need it; where a node cannot honour them the kubelet refuses the
   * pod. (`harden_mount` in Python.)
   *
   * @default false - /dev/shm is mounted without them, unlike the runtime's own (nosuid,nodev,noexec)
   */
  readonly hardenMount?: boolean;
}

/**
 * What `SharedMemory` decided for one object at synthesis.
 */
export interface SharedMemoryDecision {
  /**
   * The object, as `Kind 'name'`.
   */
  readonly object: string;

  /**
   * `inject`, `update`, `unchanged`, `skip` or `deny`.
   */
  readonly action: string;

  /**
   * The pod memory limit as the kubelet computes it, formatted (`2Gi`): the cap of `/dev/shm`.
   *
   * @default - the pod has no memory limit
   */
  readonly podMemoryLimit?: string;

  /**
   * The `/dev/shm` size, formatted (`1Gi`).
   *
   * @default - no size was decided (the object was skipped)
   */
  readonly size?: string;

  /**
   * Why the object was skipped.
   *
   * @default - it was not skipped
   */
  readonly reason?: string;

  /**
   * One line for humans.
   */
  readonly message: string;

  /**
   * Things worth knowing about the decision.
   */
  readonly warnings: string[];
}

const CONSTRUCT_ID = 'SharedMemory';
const ADD_TO = methodLabel('SharedMemory', 'addTo');
const APPLY_TO_CHART = methodLabel('SharedMemory', 'applyToChart');

/** The policy of the SharedMemory being made by `SharedMemory.make()`, the one way one is made. */
let making: Policy | undefined;

/**
 * A right-sized `/dev/shm` for pods: a memory-backed emptyDir whose `sizeLimit` is a share of the
 * largest memory limit among the containers that write it (capped at the pod memory limit), mounted
 * at `/dev/shm` in every container.
 *
 * The size is computed from the final pod at synthesis, so containers added after the call are
 * covered too. Use `SharedMemory.addTo()` (`add_to` in Python) for one workload (strict: anything
 * that prevents a correct `/dev/shm` fails synthesis, all problems at once, in cdk8s validation) and
 * `SharedMemory.applyToChart()` (`apply_to_chart`) for every workload in a chart, including objects
 * from `Include` and `Helm` (lenient, like the webhook: objects it cannot size are left as they are
 * and reported in `decisions`). Both write the options they were given onto the pod template as
 * `cdk8s-shm.io/` annotations, so the webhook, the CLI and an enclosing `applyToChart` reach the
 * same answer. There is no constructor to call.
 */
export class SharedMemory extends Construct {
  /**
   * Gives a workload a right-sized `/dev/shm`: any construct that renders a Pod, Deployment,
   * StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job or CronJob. A cdk8s-plus
   * workload of any version, an L1 object (`KubeDeployment`, from cdk8s-plus or `cdk8s import`)
   * and a plain `ApiObject` all do.
   *
   * In Python it is `SharedMemory.add_to(workload, ratio=0.25)`: the options are keyword arguments
   * (`include_init_containers=False`), not a `SharedMemoryOptions` object.
   *
   * @param workload the workload
   * @param options how to size and mount `/dev/shm`
   */
  public static addTo(workload: IConstruct, options: SharedMemoryOptions = {}): SharedMemory {
    const apiObject = workloadApiObject(workload, ADD_TO);
    const subject = `${apiObject.kind} '${workload.node.id}'`;
    if (workload.node.tryFindChild(CONSTRUCT_ID)) {
      throw new Error(`${ADD_TO} was already called for ${subject}: call it once, with all options`);
    }
    // Options are checked before anything is added, so that a refused call can be made again with good ones.
    const sharedMemory = SharedMemory.make(workload, toPolicy(options, `SharedMemory for ${subject}`));
    sharedMemory.claim(apiObject, true, Number.POSITIVE_INFINITY);
    return sharedMemory;
  }

  /**
   * Gives every pod template in a chart a right-sized `/dev/shm`: Pods, Deployments,
   * StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs, including those brought in with
   * `Include` or `Helm` and those added after the call. A workload sized by `addTo`, or by
   * `applyToChart` on an inner chart, keeps the options those were given; this call's options
   * apply to what they left to their defaults.
   *
   * In Python it is `SharedMemory.apply_to_chart(chart, maximum=Size.gibibytes(8))`: the options are
   * keyword arguments, not a `SharedMemoryOptions` object.
   *
   * @param chart the chart
   * @param options how to size and mount `/dev/shm`
   */
  public static applyToChart(chart: Chart, options: SharedMemoryOptions = {}): SharedMemory {
    const subject = `chart '${chart.node.id}'`;
    if (chart.node.tryFindChild(CONSTRUCT_ID)) {
      throw new Error(`${APPLY_TO_CHART} was already called for ${subject}: call it once, with all options`);
    }
    const sharedMemory = SharedMemory.make(chart, toPolicy(options, `SharedMemory for ${subject}`));
    // An inner chart's claim is more specific, so it runs before an outer one's.
    const specificity = chart.node.scopes.length;
    const claimAll = () => {
      for (const construct of chart.node.findAll()) {
        if (ApiObject.isApiObject(construct) && hasPodTemplate(construct.apiVersion, construct.kind)) {
          sharedMemory.claim(construct, false, specificity);
        }
      }
    };
    claimAll();
    // Objects added to the chart after this call are claimed before they are rendered.
    sharedMemory.node.addValidation({ validate: () => { claimAll(); return []; } });
    return sharedMemory;
  }

  private static make(scope: IConstruct, policy: Policy): SharedMemory {
    making = policy;
    try {
      return new SharedMemory(scope);
    } finally {
      making = undefined;
    }
  }

  /** The scope of the SharedMemory being made; anything else is refused before the construct tree is touched. */
  private static scopeOfMade(scope: IConstruct | undefined): Construct {
    if (making === undefined || scope === undefined) {
      throw new Error('SharedMemory is not made with a constructor (`new SharedMemory()`, `SharedMemory(...)` in Python): '
        + `call ${ADD_TO} for one workload, or ${APPLY_TO_CHART} for every workload of a chart`);
    }
    return scope as Construct;
  }

  /** The objects this claims, with what was decided for each at the last rendering. */
  private readonly claims = new Map<ApiObject, SharedMemoryDecision | undefined>();
  private readonly policy: Policy;

  /**
   * Not to be called: a `SharedMemory` is made by `SharedMemory.addTo()` (`add_to` in Python) or
   * `SharedMemory.applyToChart()` (`apply_to_chart`), and this throws an error that says so. It is
   * protected rather than private so that every language jsii publishes has a constructor that
   * explains itself: without one, Python's `SharedMemory(scope, id)` reaches `Construct`'s and jsii
   * answers "Too many arguments".
   *
   * @param scope not used: this throws, naming `SharedMemory.addTo()` (`add_to`) and `SharedMemory.applyToChart()` (`apply_to_chart`)
   * @param id not used: this throws
   * @param options not used: this throws
   */
  protected constructor(scope?: IConstruct, id?: string, options?: SharedMemoryOptions) {
    super(SharedMemory.scopeOfMade(scope), CONSTRUCT_ID);
    this.policy = making!;
    void [id, options];
  }

  /**
   * What was decided for each object at the last synthesis (empty before synthesis).
   */
  public get decisions(): SharedMemoryDecision[] {
    return [...this.claims.values()].filter((d): d is SharedMemoryDecision => d !== undefined);
  }

  private claim(apiObject: ApiObject, strict: boolean, specificity: number): void {
    if (this.claims.has(apiObject)) return;
    this.claims.set(apiObject, undefined);
    ShmPipeline.of(apiObject).addStage(new SizingStage(this.policy, strict, specificity, (output, subject) => {
      const { plan, misplaced, problems } = output;
      const decision = plan && toDecision(plan, subject, misplaced);
      const previous = this.claims.get(apiObject);
      this.claims.set(apiObject, decision);
      // What the user should know reaches them now, not only in `decisions`: the warnings of a
      // decision, and why a lenient claim left an object alone (a strict one fails instead, and its
      // errors say what is wrong: warnings beside them would only contradict them). cdk8s validates
      // an app once per chart it renders, so an unchanged decision is not said again.
      if (!decision || problems.length > 0 || (previous && sameDecision(previous, decision))) return;
      for (const warning of decision.warnings) warnAtSynthesis(apiObject.node.path, `${subject}: ${warning}`);
      if (!strict && plan.action === 'skip' && plan.reason && !QUIET_SKIP_REASONS.has(plan.reason)) {
        warnAtSynthesis(apiObject.node.path, `${subject}: no /dev/shm: ${plan.message}`);
      }
    }));
  }
}

/**
 * Gives a workload a right-sized `/dev/shm`: the TypeScript form of `SharedMemory.addTo()`, which
 * returns the workload for chaining.
 *
 * @param workload any construct that renders a workload with a pod template
 * @param options how to size and mount `/dev/shm`
 */
export function withSharedMemory<T extends IConstruct>(workload: T, options?: SharedMemoryOptions): T {
  SharedMemory.addTo(workload, options);
  return workload;
}

/** The policy of no options, resolved once: most workloads take the defaults, and resolving costs more than the plan. */
let defaultPolicy: Policy | undefined;

function toPolicy(options: SharedMemoryOptions, subject: string): Policy {
  if (Object.values(options).every(value => value === undefined)) return defaultPolicy ??= resolvePolicy();
  const input: PolicyInput = {
    ratio: options.ratio,
    size: optionalSizeQuantity(options.size),
    minimum: optionalSizeQuantity(options.minimum),
    maximum: optionalSizeQuantity(options.maximum),
    volumeName: options.volumeName,
    containers: options.containers,
    includeInitContainers: options.includeInitContainers,
    sizeUnboundedShm: options.sizeUnboundedShm,
    limitFollows: options.limitFollows,
    hardenMount: options.hardenMount,
  };
  try {
    return resolvePolicy(input, subject, propLabel);
  } catch (error) {
    if (error instanceof PolicyError) throw new Error(error.message);
    throw error;
  }
}

function toDecision(plan: ShmPlan, object: string, misplaced: UnhonouredAnnotations | undefined): SharedMemoryDecision {
  return {
    object,
    action: plan.action,
    podMemoryLimit: plan.limit?.kind === 'limited' ? formatBytes(plan.limit.bytes) : undefined,
    size: plan.size,
    reason: plan.reason,
    message: plan.message,
    warnings: [...plan.warnings.map(w => w.message), ...(misplaced ? [misplaced.message] : [])],
  };
}

function sameDecision(a: SharedMemoryDecision, b: SharedMemoryDecision): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
