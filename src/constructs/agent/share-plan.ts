/**
 * What `SharedMemoryAgent.share()` does to a pod template, as RFC 6902 operations computed from
 * the final JSON (so containers added after the call are covered), plus the errors that stop
 * synthesis. Pure: no cdk8s.
 *
 * Like the core's patches, every parent is created before a child is added to it.
 */
import { DOMAIN_ATTRIBUTE } from '../../contracts/csi-flags';
import {
  DEFAULT_VOLUME_NAME, JsonObject, JsonPatchOperation, PodLike, SHM_MOUNT_PATH,
  escapePointerToken, isObject, normalizeMountPath, objectAt,
} from '../../core';
import { propLabel } from '../common/language-names';

/** A toleration as Kubernetes writes it. */
export interface TolerationJson {
  readonly key: string;
  readonly operator: 'Equal';
  readonly value: string;
  readonly effect: 'NoSchedule';
}

/**
 * How the domain reaches the pod: an inline volume of the agent's CSI driver naming the domain, or
 * (the less safe delivery) a hostPath volume of the domain directory.
 */
export type DomainVolume =
  | { readonly kind: 'csi'; readonly driver: string; readonly domain: string }
  | { readonly kind: 'hostPath'; readonly path: string };

/** Everything a pod needs to join an agent's shared-memory domain. */
export interface ShareSpec {
  /** The business workload, for messages (`Deployment 'web'`). */
  readonly subject: string;
  /** The agent, for messages (`SharedMemoryAgent 'node-agent'`). */
  readonly agent: string;
  readonly volumeName: string;
  readonly volume: DomainVolume;
  readonly mountPath: string;
  readonly systemV: boolean;
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly tolerations: readonly TolerationJson[];
  /** Containers (app or init) to mount the domain in; all app containers when undefined. */
  readonly containers?: readonly string[];
}

/**
 * The volume business pods mount. An inline csi volume needs nothing the Pod Security `restricted`
 * level forbids; a hostPath one is `Directory`, so that a pod waits until the agent created it.
 */
export function businessVolume(spec: Pick<ShareSpec, 'volumeName' | 'volume'>): JsonObject {
  const volume = spec.volume;
  return volume.kind === 'csi'
    ? { name: spec.volumeName, csi: { driver: volume.driver, volumeAttributes: { [DOMAIN_ATTRIBUTE]: volume.domain } } }
    : { name: spec.volumeName, hostPath: { path: volume.path, type: 'Directory' } };
}

/** Whether a pod's volume is the domain's (from an earlier run, or written by hand). */
function isDomainVolume(existing: JsonObject, volume: DomainVolume): boolean {
  if (volume.kind === 'hostPath') return objectAt(existing.hostPath)?.path === volume.path;
  const csi = objectAt(existing.csi);
  return csi?.driver === volume.driver && objectAt(csi?.volumeAttributes)?.[DOMAIN_ATTRIBUTE] === volume.domain;
}

function describeVolume(volume: DomainVolume): string {
  return volume.kind === 'csi' ? `the CSI volume (driver ${volume.driver}, domain '${volume.domain}')` : `the hostPath ${volume.path}`;
}

/** The operations that connect a pod template to the agent, or the errors that prevent it. */
export function planShare(template: PodLike, spec: ShareSpec, basePath: string): { ops: JsonPatchOperation[]; errors: string[] } {
  const ops: JsonPatchOperation[] = [];
  const errors: string[] = [];
  const pod = objectAt(template.spec);
  if (!pod) return { ops, errors: [`${spec.subject} has no pod spec to share ${spec.agent} with`] };
  const specPath = `${basePath}/spec`;

  if (objectAt(pod.os)?.name === 'windows') {
    errors.push(`${spec.subject} runs Windows pods ('spec.os.name'), which cannot share Linux shared memory with ${spec.agent}`);
  }

  // The volume: ours from an earlier run, or new. Anything else under that name is a clash.
  const volumes = Array.isArray(pod.volumes) ? pod.volumes.filter(isObject) : undefined;
  const existing = volumes?.find(v => v.name === spec.volumeName);
  if (existing) {
    if (!isDomainVolume(existing, spec.volume)) {
      errors.push(`${spec.subject} already has a volume named '${spec.volumeName}' that is not ${describeVolume(spec.volume)} of ${spec.agent}: pass another ${propLabel('volumeName')} to share()`);
    }
  } else {
    ops.push(volumes
      ? { op: 'add', path: `${specPath}/volumes/-`, value: businessVolume(spec) }
      : { op: 'add', path: `${specPath}/volumes`, value: [businessVolume(spec)] });
  }

  // The mounts. A hostPath one propagates HostToContainer, so a tmpfs the agent mounts later still
  // shows through; the CSI plugin publishes the domain before the containers start.
  const all = (['containers', 'initContainers'] as const).flatMap(field =>
    (Array.isArray(pod[field]) ? pod[field] as unknown[] : []).map((c, index) => ({ field, index, c: objectAt(c) ?? {} })));
  const wanted = spec.containers;
  const known = new Set(all.map(({ c }) => String(c.name)));
  for (const name of wanted?.filter(n => !known.has(n)) ?? []) {
    errors.push(`'containers' names '${name}', which is not a container of ${spec.subject}`);
  }
  const targets = all.filter(({ field, c }) => wanted ? wanted.includes(String(c.name)) : field === 'containers');
  if (targets.length === 0 && errors.length === 0) errors.push(`${spec.subject} has no container to share ${spec.agent} with`);
  const volumeByName = new Map((volumes ?? []).map(v => [String(v.name), v]));
  for (const { field, index, c } of targets) {
    const mounts = Array.isArray(c.volumeMounts) ? c.volumeMounts.filter(isObject) : undefined;
    const atPath = mounts?.find(m => normalizeMountPath(m.mountPath) === normalizeMountPath(spec.mountPath));
    if (atPath && atPath.name === spec.volumeName) continue;
    if (atPath) {
      errors.push(clashMessage(spec, String(c.name), String(atPath.name), volumeByName.get(String(atPath.name))));
      continue;
    }
    const mount = spec.volume.kind === 'hostPath'
      ? { name: spec.volumeName, mountPath: spec.mountPath, mountPropagation: 'HostToContainer' }
      : { name: spec.volumeName, mountPath: spec.mountPath };
    const container = `${specPath}/${field}/${index}`;
    ops.push(mounts
      ? { op: 'add', path: `${container}/volumeMounts/-`, value: mount }
      : { op: 'add', path: `${container}/volumeMounts`, value: [mount] });
  }

  if (spec.systemV && pod.hostIPC !== true) ops.push({ op: 'add', path: `${specPath}/hostIPC`, value: true });

  // Land only where the agent runs.
  const selector = objectAt(pod.nodeSelector);
  const missing: Record<string, string> = {};
  for (const [key, value] of Object.entries(spec.nodeSelector)) {
    const current = selector?.[key];
    if (current === undefined) {
      missing[key] = value;
    } else if (current !== value) {
      errors.push(`${spec.subject} selects nodes with ${key}=${String(current)}, but ${spec.agent} runs only on nodes with ${key}=${value}`);
    }
  }
  if (Object.keys(missing).length > 0) {
    if (!selector) ops.push({ op: 'add', path: `${specPath}/nodeSelector`, value: missing });
    else for (const [key, value] of Object.entries(missing)) ops.push({ op: 'add', path: `${specPath}/nodeSelector/${escapePointerToken(key)}`, value });
  }
  const tolerations = Array.isArray(pod.tolerations) ? pod.tolerations.filter(isObject) : undefined;
  const newTolerations = spec.tolerations.filter(t => !tolerations?.some(o =>
    o.key === t.key && (o.operator ?? 'Equal') === t.operator && o.value === t.value && o.effect === t.effect));
  if (newTolerations.length > 0) {
    if (!tolerations) ops.push({ op: 'add', path: `${specPath}/tolerations`, value: [...newTolerations] });
    else for (const t of newTolerations) ops.push({ op: 'add', path: `${specPath}/tolerations/-`, value: t });
  }

  return errors.length > 0 ? { ops: [], errors } : { ops, errors };
}

function clashMessage(spec: ShareSpec, container: string, volumeName: string, volume: JsonObject | undefined): string {
  const emptyDir = objectAt(volume?.emptyDir);
  if (normalizeMountPath(spec.mountPath) === SHM_MOUNT_PATH && (emptyDir?.medium === 'Memory' || volumeName === DEFAULT_VOLUME_NAME)) {
    return `container '${container}' of ${spec.subject} mounts the per-pod /dev/shm emptyDir '${volumeName}' at ${SHM_MOUNT_PATH}, `
      + `which clashes with ${spec.agent}'s shared memory: remove SharedMemory (addTo/withSharedMemory) or the emptyDir from it, `
      + 'or share at another \'mountPath\'';
  }
  return `container '${container}' of ${spec.subject} already mounts volume '${volumeName}' at ${spec.mountPath}, `
    + `where ${spec.agent} mounts its shared memory: remove that mount or share at another ${propLabel('mountPath')}`;
}
