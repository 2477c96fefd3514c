/**
 * The containers and volumes of a pod spec, read once the way planning needs them: each container
 * with its role, its mounts and where it sits, so that messages can say "sidecar 'proxy'" and
 * patches can address `/spec/initContainers/1`. Shape problems are reported, never thrown: the
 * webhook must decide about any pod a client sends.
 */
import { JsonObject, isObject } from './json';

/**
 * What a container is to the pod: an app container, a sidecar (an init container with
 * `restartPolicy: Always`, running beside the app), or a plain init container (running alone, before).
 */
export type ContainerRole = 'container' | 'sidecar' | 'init container';

/** The roles in the order messages name them. */
export const CONTAINER_ROLES: readonly ContainerRole[] = ['container', 'sidecar', 'init container'];

export interface PodContainer {
  readonly field: 'containers' | 'initContainers';
  readonly index: number;
  /** The name as text (a malformed name is rendered, never thrown on). */
  readonly name: string;
  readonly role: ContainerRole;
  /** The container's mounts that are objects. */
  readonly mounts: readonly JsonObject[];
  /** `volumeMounts` is already a list (otherwise a patch must create it). */
  readonly hasMountList: boolean;
}

export interface PodVolumes {
  /** App containers in spec order, then init containers in spec order. */
  readonly containers: readonly PodContainer[];
  readonly volumes: readonly JsonObject[];
  /** `volumes` is already a list. */
  readonly hasVolumeList: boolean;
}

/** Reads the containers and volumes of a spec, or returns what is wrong with their shape. */
export function readPodVolumes(spec: JsonObject): PodVolumes | string {
  const containers = listAt(spec.containers);
  const initContainers = listAt(spec.initContainers);
  const volumes = listAt(spec.volumes);
  if (!containers || !initContainers || !volumes) return 'containers, initContainers or volumes is not a list';
  if (![...containers, ...initContainers, ...volumes].every(isObject)) return 'a container or volume is not an object';
  const all: PodContainer[] = [];
  for (const [field, list] of [['containers', containers], ['initContainers', initContainers]] as const) {
    for (let index = 0; index < list.length; index++) {
      const c = list[index] as JsonObject;
      const name = text(c.name);
      const mounts = c.volumeMounts;
      if (mounts !== undefined && mounts !== null && (!Array.isArray(mounts) || !mounts.every(isObject))) {
        return `volumeMounts of container '${name}' is not a list of objects`;
      }
      const role: ContainerRole = field === 'containers' ? 'container' : c.restartPolicy === 'Always' ? 'sidecar' : 'init container';
      all.push({ field, index, name, role, mounts: Array.isArray(mounts) ? mounts as JsonObject[] : [], hasMountList: Array.isArray(mounts) });
    }
  }
  return { containers: all, volumes: volumes as JsonObject[], hasVolumeList: Array.isArray(spec.volumes) };
}

/** `sidecar 'proxy'`: how messages name a container, so that users know which kind to fix. */
export function describeContainer(container: Pick<PodContainer, 'role' | 'name'>): string {
  return `${container.role} '${container.name}'`;
}

/**
 * `container 'a'`, `container 'a' and sidecar 'b'`, `containers 'a', 'b' and init container 'c'`:
 * a list of containers for a message, grouped by role.
 */
export function describeContainers(containers: readonly Pick<PodContainer, 'role' | 'name'>[]): string {
  const groups: string[] = [];
  for (const role of CONTAINER_ROLES) {
    const names = containers.filter(c => c.role === role).map(c => `'${c.name}'`);
    if (names.length > 0) groups.push(`${role}${names.length > 1 ? 's' : ''} ${names.join(', ')}`);
  }
  return groups.length <= 1 ? groups.join('') : `${groups.slice(0, -1).join(', ')} and ${groups[groups.length - 1]}`;
}

/**
 * A value from the pod as text, for names and messages. `String()` throws on an object whose
 * `toString` is not a function (`{"toString": 1}` is valid JSON) and overflows the stack on a list
 * nested thousands deep, and planning must not throw
 * (test/reliability/regressions/container-name-tostring.json).
 */
export function text(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Array.isArray(value) ? '[list]' : '[object]';
  }
}

function listAt(value: unknown): unknown[] | undefined {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : undefined;
}
