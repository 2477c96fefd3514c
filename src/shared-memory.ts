import { ApiObject, Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct, IConstruct } from 'constructs';
import {
  INJECT_ANNOTATION, Policy, PolicyError, PolicyInput, ShmPlan,
  applyOperations, formatBytes, planSharedMemory, planToPatch, podTemplateOf, resolvePolicy,
} from './core';
import { addRenderTransform } from './render-transform';

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
   * Largest size a ratio-derived `/dev/shm` may have.
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
   * @default - every container, including init containers and sidecars unless `includeInitContainers` is false
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
   * @default false - such a volume is refused under `addTo` and left alone by `applyToChart`
   */
  readonly sizeUnboundedShm?: boolean;
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

/** ApiObjects that `addTo` owns: `applyToChart` leaves them to it. */
const claimedByWorkload = new WeakSet<ApiObject>();

const CONSTRUCT_ID = 'SharedMemory';

/**
 * A right-sized `/dev/shm` for pods: a memory-backed emptyDir whose `sizeLimit` is a share of the
 * largest memory limit among the containers that write it (capped at the pod memory limit), mounted
 * at `/dev/shm` in every container.
 *
 * The size is computed from the final pod at synthesis, so containers added after the call are
 * covered too. Use `SharedMemory.addTo()` for one cdk8s-plus workload (strict: anything that
 * prevents a correct `/dev/shm` fails synthesis) and `SharedMemory.applyToChart()` for every
 * workload in a chart, including objects from `Include` and `Helm` (lenient, like the webhook:
 * objects it cannot size are left as they are and reported in `decisions`).
 */
export class SharedMemory extends Construct {
  /**
   * Gives a cdk8s-plus workload (Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod) a
   * right-sized `/dev/shm`.
   *
   * @param workload the workload
   * @param options how to size and mount `/dev/shm`
   */
  public static addTo(workload: kplus.AbstractPod, options: SharedMemoryOptions = {}): SharedMemory {
    const apiObject = ApiObject.of(workload);
    const subject = `${apiObject.kind} '${workload.node.id}'`;
    if (workload.node.tryFindChild(CONSTRUCT_ID)) {
      throw new Error(`SharedMemory.addTo() was already called for ${subject}: call it once, with all options`);
    }
    claimedByWorkload.add(apiObject);
    return new SharedMemory(workload, { options, strict: true, subject, targets: () => [apiObject] });
  }

  /**
   * Gives every pod template in a chart a right-sized `/dev/shm`: Pods, Deployments,
   * StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs, including those brought in with
   * `Include` or `Helm`. Objects handled by `addTo` keep their own options.
   *
   * @param chart the chart
   * @param options how to size and mount `/dev/shm`
   */
  public static applyToChart(chart: Chart, options: SharedMemoryOptions = {}): SharedMemory {
    const subject = `chart '${chart.node.id}'`;
    if (chart.node.tryFindChild(CONSTRUCT_ID)) {
      throw new Error(`SharedMemory.applyToChart() was already called for ${subject}: call it once, with all options`);
    }
    const targets = () => chart.node.findAll()
      .filter((c: IConstruct): c is ApiObject => ApiObject.isApiObject(c) && !claimedByWorkload.has(c));
    return new SharedMemory(chart, { options, strict: false, subject, targets });
  }

  private readonly policy: Policy;
  private readonly strict: boolean;
  private readonly subject: string;
  private readonly latest = new Map<ApiObject, SharedMemoryDecision>();
  private readonly attached = new WeakSet<ApiObject>();

  private constructor(scope: Construct, setup: Setup) {
    super(scope, CONSTRUCT_ID);
    this.strict = setup.strict;
    this.subject = setup.subject;
    this.policy = toPolicy(setup.options, `SharedMemory for ${setup.subject}`);
    setup.targets().forEach(target => this.attach(target));
    // Objects added to a chart after applyToChart() are attached here, before the final render.
    this.node.addValidation({
      validate: () => {
        setup.targets().forEach(target => this.attach(target));
        return [];
      },
    });
  }

  /**
   * What was decided for each object at the last synthesis (empty before synthesis).
   */
  public get decisions(): SharedMemoryDecision[] {
    return [...this.latest.values()];
  }

  /**
   * Plans every rendering of the object. The pod memory limit is only final when the object is
   * rendered, and cdk8s renders each object once per synthesis but validates twice; planning in
   * a validation would render it three times (BENCHMARKS.md). So the plan is made on the final
   * rendering itself, and its patch applied to the Kubernetes JSON that rendering produced: the
   * same JSON the webhook patches, whatever class (plain or generated) rendered it.
   */
  private attach(apiObject: ApiObject): void {
    if (this.attached.has(apiObject)) return;
    this.attached.add(apiObject);
    addRenderTransform(apiObject, json => this.transform(apiObject, json));
  }

  /** Plans one rendered object and returns it patched; throws what stops synthesis. */
  private transform(apiObject: ApiObject, json: any): any {
    if (!this.strict && claimedByWorkload.has(apiObject)) return json; // addTo() owns it
    const location = podTemplateOf(json);
    const name = `${apiObject.kind} '${apiObject.name}'`;
    if (!location) {
      if (this.strict) throw new Error(`SharedMemory cannot find the pod template of ${this.subject}`);
      return json;
    }
    const plan = planSharedMemory(location.template, this.policy);
    this.latest.set(apiObject, toDecision(plan, name));
    if (this.strict) {
      const errors = strictErrors(plan, this.subject);
      if (errors.length > 0) throw new Error(errors.join('\n'));
    }
    const ops = planToPatch(plan, location.path);
    if (ops.length === 0) return json;
    const patched = applyOperations(json, ops);
    // Our patch must leave nothing to do; if it did not, say so rather than emit a half-fixed pod.
    const again = podTemplateOf(patched);
    const check = again && planSharedMemory(again.template, this.policy);
    if (check?.action !== 'unchanged') {
      throw new Error(`SharedMemory could not apply its patch to ${name} (${check?.message ?? 'pod template vanished'}); please report this`);
    }
    return patched;
  }
}

/**
 * Gives a cdk8s-plus workload a right-sized `/dev/shm`: the TypeScript form of `SharedMemory.addTo()`.
 *
 * @param workload the workload
 * @param options how to size and mount `/dev/shm`
 */
export function withSharedMemory<T extends kplus.AbstractPod>(workload: T, options?: SharedMemoryOptions): T {
  SharedMemory.addTo(workload, options);
  return workload;
}

interface Setup {
  readonly options: SharedMemoryOptions;
  readonly strict: boolean;
  readonly subject: string;
  readonly targets: () => ApiObject[];
}

function toPolicy(options: SharedMemoryOptions, subject: string): Policy {
  const input: PolicyInput = {
    ratio: options.ratio,
    size: options.size?.asString(),
    minimum: options.minimum?.asString(),
    maximum: options.maximum?.asString(),
    volumeName: options.volumeName,
    containers: options.containers,
    includeInitContainers: options.includeInitContainers,
    sizeUnboundedShm: options.sizeUnboundedShm,
  };
  try {
    return resolvePolicy(input, subject);
  } catch (error) {
    if (error instanceof PolicyError) throw new Error(error.message);
    throw error;
  }
}

function toDecision(plan: ShmPlan, object: string): SharedMemoryDecision {
  return {
    object,
    action: plan.action,
    podMemoryLimit: plan.limit?.kind === 'limited' ? formatBytes(plan.limit.bytes) : undefined,
    size: plan.size,
    reason: plan.reason,
    message: plan.message,
    warnings: plan.warnings.map(w => w.message),
  };
}

/** Under `addTo`, anything short of a correct `/dev/shm` is the user's to fix, so it fails synthesis. */
function strictErrors(plan: ShmPlan, subject: string): string[] {
  const drop = 'or remove SharedMemory.addTo()';
  switch (plan.reason) {
    case undefined:
      break;
    case 'no-memory-limit':
      return [`${subject}: ${plan.message}: set 'resources.memory.limit' (for example Size.gibibytes(4))`];
    case 'below-runtime-default':
      return [`${subject}: ${plan.message}: set 'minimum' or 'size', ${drop}`];
    case 'opted-out':
      return [`${subject} carries the annotation ${INJECT_ANNOTATION}: "false", which contradicts SharedMemory.addTo(): remove one of them`];
    case 'windows':
      return [`${subject} runs Windows pods ('spec.os.name'), which have no /dev/shm: remove SharedMemory.addTo()`];
    case 'host-ipc':
      return [`${subject} sets 'hostIPC' to true, so /dev/shm is the node's own: turn 'hostIPC' off ${drop}`];
    case 'user-shm-mount':
      return [`${subject}: ${plan.message}; remove that mount to let SharedMemory size /dev/shm, ${drop}`];
    case 'user-shm-unbounded':
      return [`${subject}: ${plan.message}; set 'sizeUnboundedShm' to size it, remove that mount, ${drop}`];
    case 'volume-name-taken':
      return [`${subject}: ${plan.message}; set 'volumeName' to another name`];
    case 'no-target-containers':
      return [`'containers' (${unknownContainers(plan).join(', ')}) names no container of ${subject}`];
    default:
      return [`${subject}: ${plan.message}`];
  }
  const errors: string[] = [];
  if (plan.requestedBytes !== undefined && plan.sizeBytes !== undefined && plan.requestedBytes > plan.sizeBytes && plan.limit?.kind === 'limited') {
    const prop = plan.sizeSource === 'size-annotation' ? 'cdk8s-shm.io/size' : plan.sizeSource ?? 'size';
    errors.push(`'${prop}' (${formatBytes(plan.requestedBytes)}) must not exceed the pod memory limit (${formatBytes(plan.limit.bytes)}) of ${subject}`);
  }
  for (const container of unknownContainers(plan)) {
    errors.push(`'containers' names '${container}', which is not a container of ${subject}`);
  }
  return errors;
}

function unknownContainers(plan: ShmPlan): string[] {
  return plan.warnings.filter(w => w.code === 'unknown-container' && w.container !== undefined).map(w => w.container!);
}
