import { Size } from 'cdk8s';
import { formatBytes, tryParseSize } from '../../core';
import { optionalSizeQuantity } from '../common/size-quantity';

/**
 * Options for `SharedMemoryDomain.tmpfs()`.
 */
export interface TmpfsDomainOptions {
  /**
   * The size of the tmpfs (`mount -o size=`): the most memory all segments of the domain can hold
   * together. Pages are charged to the memory limit of the pod that first writes them.
   */
  readonly size: Size;

  /**
   * The directory on the node the tmpfs is mounted on. It only serves as a mount point: the data
   * lives in the tmpfs, never on the node's disk.
   *
   * @default - `/run/cdk8s-shm/<agent name>`
   */
  readonly hostPath?: string;
}

/**
 * Options for `SharedMemoryDomain.hostShm()`.
 */
export interface HostShmDomainOptions {
  /**
   * The directory, below the node's `/dev/shm`.
   *
   * @default - `/dev/shm/cdk8s-shm-<agent name>`
   */
  readonly hostPath?: string;
}

/**
 * Where on the node the shared memory of an agent and its business pods lives: a host directory
 * that every one of them mounts (at `/dev/shm` by default), always memory-backed.
 */
export class SharedMemoryDomain {
  /**
   * A dedicated tmpfs with an explicit size, mounted on the node by the agent pod (the model of
   * NVIDIA's MPS device plugin): bounded, memory-backed, owned by the agent. The default.
   *
   * @param options the size and the mount point
   */
  public static tmpfs(options: TmpfsDomainOptions): SharedMemoryDomain {
    const bytes = tryParseSize(optionalSizeQuantity(options.size), "'size'");
    if (typeof bytes === 'string') {
      throw new Error(`SharedMemoryDomain.tmpfs(): ${bytes}; give a positive size such as Size.gibibytes(1)`);
    }
    return new SharedMemoryDomain(true, bytes, options.hostPath);
  }

  /**
   * A directory on the node's own `/dev/shm`. No mount and no privileged container, but the
   * domain is bounded only by the node's `/dev/shm` (usually half its memory), shared with
   * everything else on the node.
   *
   * @param options the directory
   */
  public static hostShm(options: HostShmDomainOptions = {}): SharedMemoryDomain {
    return new SharedMemoryDomain(false, undefined, options.hostPath);
  }

  /**
   * True for a dedicated tmpfs, false for a directory on the node's `/dev/shm`.
   */
  public readonly dedicatedTmpfs: boolean;

  /**
   * The tmpfs size in whole bytes, as a quantity (`1Gi`).
   *
   * @default - no size of its own (a directory on the node's `/dev/shm`)
   */
  public readonly size?: string;

  /**
   * The host directory, when given.
   *
   * @default - chosen by the agent from its name
   */
  public readonly hostPath?: string;

  /** @internal */
  public readonly _sizeBytes?: bigint;

  private constructor(dedicatedTmpfs: boolean, sizeBytes: bigint | undefined, hostPath: string | undefined) {
    this.dedicatedTmpfs = dedicatedTmpfs;
    this._sizeBytes = sizeBytes;
    this.size = sizeBytes === undefined ? undefined : formatBytes(sizeBytes);
    this.hostPath = hostPath;
  }
}
