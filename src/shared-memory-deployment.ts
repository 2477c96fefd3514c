import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { SharedMemory, SharedMemoryOptions } from './shared-memory';

/**
 * Properties for `SharedMemoryDeployment`.
 */
export interface SharedMemoryDeploymentProps extends kplus.DeploymentProps {
  /**
   * How to size and mount `/dev/shm`.
   *
   * @default - half the pod memory limit, mounted in every container
   */
  readonly sharedMemory?: SharedMemoryOptions;
}

/**
 * A cdk8s-plus `Deployment` whose pods get a right-sized `/dev/shm` instead of the runtime's 64 MiB.
 *
 * Every container must have a memory limit: `/dev/shm` is sized from the pod memory limit and its
 * pages are charged to it. Synthesis fails, naming the container, when one is missing.
 */
export class SharedMemoryDeployment extends kplus.Deployment {
  /**
   * The shared-memory construct attached to this deployment.
   */
  public readonly sharedMemory: SharedMemory;

  constructor(scope: Construct, id: string, props: SharedMemoryDeploymentProps = {}) {
    super(scope, id, props);
    this.sharedMemory = SharedMemory.addTo(this, props.sharedMemory);
  }
}
