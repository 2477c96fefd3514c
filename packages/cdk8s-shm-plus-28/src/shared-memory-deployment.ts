import * as kplus from 'cdk8s-plus-28';
import { SharedMemory, SharedMemoryOptions } from 'cdk8s-shm';
import { Construct } from 'constructs';

/**
 * Properties for `SharedMemoryDeployment`.
 */
export interface SharedMemoryDeploymentProps extends kplus.DeploymentProps {
  /**
   * How to size and mount `/dev/shm`.
   *
   * @default - half the largest memory limit among its containers, mounted in every container
   */
  readonly sharedMemory?: SharedMemoryOptions;
}

/**
 * A cdk8s-plus-28 `Deployment` whose pods get a right-sized `/dev/shm` instead of the runtime's
 * 64 MiB: the convenience for apps on cdk8s-plus-28. With any other cdk8s-plus (or none), call
 * `SharedMemory.addTo()` from `cdk8s-shm` on your own `Deployment`: the result is the same.
 *
 * `/dev/shm` is sized from the memory limit of the containers that write it (its pages are charged
 * to the writer): synthesis fails, naming the containers, when none of them has a limit. A
 * container given no `resources` is refused: cdk8s-plus-28 would give it a 2048Mi limit nobody
 * chose, and `/dev/shm` would be a share of it.
 */
export class SharedMemoryDeployment extends kplus.Deployment {
  /**
   * The shared-memory construct attached to this deployment.
   */
  public readonly sharedMemory: SharedMemory;

  constructor(scope: Construct, id: string, props: SharedMemoryDeploymentProps = {}) {
    const sidecars = (props.initContainers ?? []).filter(c => c.restartPolicy === kplus.ContainerRestartPolicy.ALWAYS);
    for (const container of [...props.containers ?? [], ...sidecars]) refuseDefaultLimit(container, id);
    super(scope, id, props);
    this.sharedMemory = SharedMemory.addTo(this, props.sharedMemory);
  }

  public addContainer(container: kplus.ContainerProps): kplus.Container {
    refuseDefaultLimit(container, this.node.id);
    return super.addContainer(container);
  }
}

/** cdk8s-plus-28 gives a container without `resources` a 2048Mi memory limit: not one to size /dev/shm from. */
function refuseDefaultLimit(container: kplus.ContainerProps, id: string): void {
  if (container.resources !== undefined) return;
  throw new Error(`container '${container.name ?? 'main'}' of SharedMemoryDeployment '${id}' has no 'resources': cdk8s-plus-28 would give it a `
    + "2048Mi memory limit nobody chose, and /dev/shm would be sized from it. Set resources.memory.limit to the application's memory "
    + '(and sharedMemory.size with limitFollows to put shared memory on top of it)');
}
