/**
 * Volumes a construct's own containers mount besides what the construct gives them: scratch space
 * (the root filesystem is read-only), configuration, credentials, a host directory. A mount names
 * its volume, and the pod gets every volume its containers mount, once.
 */
import { Size } from 'cdk8s';
import { isDns1123Label, isDns1123Subdomain, tryParseSize } from '../../core';
import { propLabel } from '../common/language-names';
import { sizeQuantity } from '../common/size-quantity';

/**
 * Options for `PodVolume.fromEmptyDir()`.
 */
export interface EmptyDirVolumeOptions {
  /**
   * Whether the directory is a tmpfs (counted against the memory limit of the container that
   * writes it) rather than on the node's disk.
   *
   * @default false
   */
  readonly memory?: boolean;

  /**
   * The most the directory may hold.
   *
   * @default - no limit of its own
   */
  readonly sizeLimit?: Size;
}

/**
 * Options for `PodVolume.fromConfigMap()` and `PodVolume.fromSecret()`.
 */
export interface KeysVolumeOptions {
  /**
   * Permission bits of the files, as a number (`0o440`).
   *
   * @default 0o644
   */
  readonly defaultMode?: number;

  /**
   * Whether the pod starts when the object is missing (the directory is then empty).
   *
   * @default false
   */
  readonly optional?: boolean;
}

/**
 * What Kubernetes checks on a hostPath before mounting it.
 */
export enum HostPathType {
  /** A directory, created (0755) if absent. */
  DIRECTORY_OR_CREATE = 'DirectoryOrCreate',
  /** An existing directory. */
  DIRECTORY = 'Directory',
  /** A file, created (0644) if absent. */
  FILE_OR_CREATE = 'FileOrCreate',
  /** An existing file. */
  FILE = 'File',
  /** An existing UNIX socket. */
  SOCKET = 'Socket',
}

/**
 * A volume of a pod.
 */
export class PodVolume {
  /**
   * A directory that lives as long as the pod.
   *
   * @param name the volume name, a DNS-1123 label
   * @param options in memory, size limit
   */
  public static fromEmptyDir(name: string, options: EmptyDirVolumeOptions = {}): PodVolume {
    let sizeLimit: string | undefined;
    if (options.sizeLimit !== undefined) {
      sizeLimit = sizeQuantity(options.sizeLimit);
      const bytes = tryParseSize(sizeLimit, propLabel('sizeLimit'));
      if (typeof bytes === 'string') throw new Error(`PodVolume.fromEmptyDir('${name}'): ${bytes}`);
    }
    return new PodVolume(volumeName(name), {
      emptyDir: { ...(options.memory ? { medium: 'Memory' } : {}), ...(sizeLimit !== undefined ? { sizeLimit } : {}) },
    });
  }

  /**
   * The keys of a ConfigMap in the pod's namespace, one file each.
   *
   * @param name the volume name, a DNS-1123 label
   * @param configMapName the ConfigMap
   * @param options file mode, whether it may be missing
   */
  public static fromConfigMap(name: string, configMapName: string, options: KeysVolumeOptions = {}): PodVolume {
    return new PodVolume(volumeName(name), { configMap: { name: objectName(configMapName, 'fromConfigMap'), ...keysOptions(options) } });
  }

  /**
   * The keys of a Secret in the pod's namespace, one file each.
   *
   * @param name the volume name, a DNS-1123 label
   * @param secretName the Secret
   * @param options file mode, whether it may be missing
   */
  public static fromSecret(name: string, secretName: string, options: KeysVolumeOptions = {}): PodVolume {
    return new PodVolume(volumeName(name), { secret: { secretName: objectName(secretName, 'fromSecret'), ...keysOptions(options) } });
  }

  /**
   * A file or directory of the node (a socket of another node daemon, for instance).
   *
   * @param name the volume name, a DNS-1123 label
   * @param path the absolute path on the node
   * @param type what is checked before the mount (nothing when not given)
   */
  public static fromHostPath(name: string, path: string, type?: HostPathType): PodVolume {
    if (typeof path !== 'string' || !path.startsWith('/') || path.split('/').includes('..')) {
      throw new Error(`PodVolume.fromHostPath('${name}', ${JSON.stringify(path)}): give an absolute path without '..'`);
    }
    if (type !== undefined && !Object.values(HostPathType).includes(type)) throw new Error(`PodVolume.fromHostPath('${name}'): 'type' (${JSON.stringify(type)}) is not a HostPathType`);
    return new PodVolume(volumeName(name), { hostPath: { path, ...(type !== undefined ? { type } : {}) } });
  }

  /**
   * The volume name.
   */
  public readonly name: string;

  /** @internal */
  public readonly _source: Record<string, unknown>;

  private constructor(name: string, source: Record<string, unknown>) {
    this.name = name;
    this._source = source;
  }
}

/**
 * A volume mounted in a container.
 */
export interface VolumeMount {
  /** The volume. */
  readonly volume: PodVolume;

  /** Where the container sees it: an absolute path without ':'. */
  readonly mountPath: string;

  /**
   * Whether the container may only read it.
   *
   * @default false
   */
  readonly readOnly?: boolean;

  /**
   * A path inside the volume to mount instead of its root.
   *
   * @default - the volume's root
   */
  readonly subPath?: string;
}

function volumeName(name: string): string {
  if (!isDns1123Label(name)) throw new Error(`the volume name ${JSON.stringify(name)} of a PodVolume must be a DNS-1123 label (lower-case letters, digits, '-')`);
  return name;
}

function objectName(name: string, method: string): string {
  if (!isDns1123Subdomain(name)) throw new Error(`PodVolume.${method}(): ${JSON.stringify(name)} is not the name of an object (a DNS-1123 subdomain)`);
  return name;
}

function keysOptions(options: KeysVolumeOptions): Record<string, unknown> {
  const mode = options.defaultMode;
  if (mode !== undefined && (!Number.isInteger(mode) || mode < 0 || mode > 0o777)) {
    throw new Error(`${propLabel('defaultMode')} (${mode}) of a PodVolume must be file permission bits from 0 to 0o777`);
  }
  return { ...(mode !== undefined ? { defaultMode: mode } : {}), ...(options.optional !== undefined ? { optional: options.optional } : {}) };
}
