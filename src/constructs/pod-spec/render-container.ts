/**
 * A user's container as Kubernetes' JSON, with the safe defaults and the checks the API server (or
 * the kubelet) would make, so that a mistake fails at synthesis, naming the container and the prop.
 */
import {
  AgentContainer, ContainerPort, ContainerSecurityContext, ImagePullPolicy, Protocol, SeccompProfile, SeccompProfileType,
} from './container';
import { EnvValue } from './env';
import { Probe } from './probe';
import { renderResources } from './resources';
import { PodVolume, VolumeMount } from './volume';
import { isDns1123Label, normalizeMountPath } from '../../core';
import { checkImageReference } from '../common/image-reference';
import { propLabel } from '../common/language-names';

/** What the construct adds to every container and keeps for itself. */
export interface ContainerContext {
  /** How messages name the container's owner (`SharedMemoryAgent 'node-agent'`). */
  readonly subject: string;
  /** A mount the construct adds last (the agent's domain), and its volume. */
  readonly extraMount: Readonly<Record<string, unknown>>;
  readonly extraVolume: Readonly<Record<string, unknown>>;
  /** Container names the construct uses itself. */
  readonly reservedNames: readonly string[];
  /** Names of the containers the user added before this one. */
  readonly takenNames: readonly string[];
}

/** A container's name when its props give none, as in cdk8s-plus. */
export const DEFAULT_CONTAINER_NAME = 'main';

/** A volume a container mounts: one of the user's, or the construct's own (no `source`). */
export interface MountedVolume {
  readonly json: Readonly<Record<string, unknown>>;
  readonly source?: PodVolume;
}

/** A rendered container and the volumes its mounts need, in the order it mounts them. */
export interface RenderedContainer {
  readonly json: Record<string, unknown>;
  readonly volumes: readonly MountedVolume[];
}

const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?=[a-z0-9]))*$/;
const CAPABILITY = /^[A-Z][A-Z0-9_]*$/;
const ENV_NAME = /^[\x20-\x3c\x3e-\x7e]+$/;

/**
 * Kubernetes' container, after the checks.
 * @throws Error naming the container, the prop and the fix
 */
export function renderContainer(container: AgentContainer, context: ContainerContext): RenderedContainer {
  const { subject } = context;
  const name = container?.name ?? DEFAULT_CONTAINER_NAME;
  if (!isDns1123Label(name)) throw new Error(`the container name ${JSON.stringify(name)} in ${subject} must be a DNS-1123 label (lower-case letters, digits, '-')`);
  const of = `agent container '${name}' of ${subject}`;
  if (context.reservedNames.includes(name)) throw new Error(`${of} takes a name the agent uses for its own container: choose another name`);
  if (context.takenNames.includes(name)) {
    const unnamed = container.name === undefined ? ` (a container without 'name' is '${DEFAULT_CONTAINER_NAME}', as in cdk8s-plus)` : '';
    throw new Error(`${of} has the name of a container added before it${unnamed}: give each container its own 'name'`);
  }
  if (!container.resources) {
    throw new Error(`${of} has no 'resources': set cpu and memory explicitly; the memory limit must also cover the shared-memory pages it writes`);
  }
  const security = container.securityContext ?? {};
  if ((security as { privileged?: boolean }).privileged) {
    throw new Error(`${of} is privileged: only the init container that mounts the tmpfs is; add the capabilities it needs under ${propLabel('securityContext.capabilities')} instead`);
  }
  const json: Record<string, unknown> = {
    name,
    image: checkImageReference(container.image, `containers[${name}].image`, subject),
    imagePullPolicy: container.imagePullPolicy ?? ImagePullPolicy.ALWAYS,
    resources: renderResources(container.resources, 'resources', of),
    securityContext: renderSecurityContext(security, of),
  };
  for (const field of ['command', 'args'] as const) {
    const list = container[field];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.some(a => typeof a !== 'string')) throw new Error(`'${field}' of ${of} must be a list of strings`);
    json[field] = [...list];
  }
  if (container.workingDir !== undefined) {
    if (typeof container.workingDir !== 'string' || !container.workingDir.startsWith('/')) throw new Error(`${propLabel('workingDir')} (${JSON.stringify(container.workingDir)}) of ${of} must be an absolute path`);
    json.workingDir = container.workingDir;
  }
  const env = Object.entries(container.env ?? {});
  if (env.length > 0) {
    json.env = env.map(([variable, value]) => {
      if (!ENV_NAME.test(variable)) throw new Error(`the environment variable name ${JSON.stringify(variable)} of ${of} must be printable ASCII without '='`);
      if (!(value instanceof EnvValue)) throw new Error(`the environment variable ${variable} of ${of} needs an EnvValue, e.g. EnvValue.fromValue('...')`);
      return { name: variable, ...value._json };
    });
  }
  if (container.ports !== undefined && container.ports.length > 0) json.ports = renderPorts(container.ports, of);
  for (const kind of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
    const probe = container[kind];
    if (probe === undefined) continue;
    if (!(probe instanceof Probe)) throw new Error(`${propLabel(kind)} of ${of} must be a Probe, e.g. Probe.fromHttpGet('/healthz', { port: 8080 }) (Probe.from_http_get('/healthz', port=8080) in Python)`);
    const successThreshold = probe._json.successThreshold;
    if (kind !== 'readinessProbe' && successThreshold !== undefined && successThreshold !== 1) {
      throw new Error(`${propLabel(kind)} of ${of} has ${propLabel('successThreshold')} ${String(successThreshold)}: it must be 1 for liveness and startup probes`);
    }
    json[kind] = { ...probe._json };
  }
  const { mounts, volumes } = renderMounts(container.volumeMounts ?? [], context, of);
  json.volumeMounts = mounts;
  return { json, volumes };
}

function renderSecurityContext(security: ContainerSecurityContext, of: string): Record<string, unknown> {
  const runAsNonRoot = security.runAsNonRoot ?? true;
  for (const prop of ['runAsUser', 'runAsGroup'] as const) {
    const id = security[prop];
    if (id !== undefined && (!Number.isInteger(id) || id < 0 || id > 2 ** 31 - 1)) throw new Error(`${propLabel(`securityContext.${prop}`)} (${id}) of ${of} must be a whole number from 0 to 2147483647`);
  }
  if (runAsNonRoot && security.runAsUser === 0) {
    throw new Error(`${propLabel('securityContext.runAsUser')} (0) of ${of} is root, which ${propLabel('runAsNonRoot')} (true by default) refuses: set it to false to run as root`);
  }
  const add = security.capabilities?.add;
  const drop = security.capabilities?.drop ?? ['ALL'];
  for (const [field, list] of [['add', add ?? []], ['drop', drop]] as const) {
    if (!Array.isArray(list) || list.some(c => typeof c !== 'string' || !CAPABILITY.test(c))) {
      throw new Error(`${propLabel(`securityContext.capabilities.${field}`)} (${JSON.stringify(list)}) of ${of} must list capability names such as NET_ADMIN or ALL`);
    }
  }
  const seccomp = security.seccompProfile;
  if (seccomp !== undefined) {
    if (!Object.values(SeccompProfileType).includes(seccomp.type)) throw new Error(`${propLabel('securityContext.seccompProfile.type')} (${JSON.stringify(seccomp.type)}) of ${of} is not a SeccompProfileType`);
    if ((seccomp.type === SeccompProfileType.LOCALHOST) !== (seccomp.localhostProfile !== undefined)) {
      throw new Error(`${propLabel('securityContext.seccompProfile')} of ${of}: ${propLabel('localhostProfile')} is given exactly when the type is SeccompProfileType.LOCALHOST`);
    }
  }
  return {
    ...(security.runAsGroup !== undefined ? { runAsGroup: security.runAsGroup } : {}),
    ...(security.runAsUser !== undefined ? { runAsUser: security.runAsUser } : {}),
    runAsNonRoot,
    privileged: false,
    readOnlyRootFilesystem: security.readOnlyRootFilesystem ?? true,
    allowPrivilegeEscalation: security.allowPrivilegeEscalation ?? false,
    capabilities: { ...(add !== undefined ? { add: [...add] } : {}), drop: [...drop] },
    ...(seccomp !== undefined ? { seccompProfile: seccompJson(seccomp) } : {}),
  };
}

function seccompJson(seccomp: SeccompProfile): Record<string, unknown> {
  return { type: seccomp.type, ...(seccomp.localhostProfile !== undefined ? { localhostProfile: seccomp.localhostProfile } : {}) };
}

function renderPorts(ports: readonly ContainerPort[], of: string): Record<string, unknown>[] {
  const seen = new Set<string>();
  return ports.map((port, index) => {
    const at = `'ports[${index}]' (${JSON.stringify(port)}) of ${of}`;
    for (const prop of ['number', 'hostPort'] as const) {
      const n = port[prop];
      if ((prop === 'number' || n !== undefined) && (!Number.isInteger(n) || n! < 1 || n! > 65535)) throw new Error(`${at}: ${propLabel(prop)} must be a port from 1 to 65535`);
    }
    if (port.name !== undefined && (!PORT_NAME.test(port.name) || port.name.length > 15)) {
      throw new Error(`${at}: 'name' must be at most 15 lower-case letters, digits and '-' (not at either end, never two in a row), with a letter`);
    }
    if (port.protocol !== undefined && !Object.values(Protocol).includes(port.protocol)) throw new Error(`${at}: 'protocol' must be Protocol.TCP, UDP or SCTP`);
    for (const key of [port.name, `${port.number}/${port.protocol ?? Protocol.TCP}`]) {
      if (key === undefined) continue;
      if (seen.has(key)) throw new Error(`${at} repeats ${key}: every port name and port/protocol appears once in a container`);
      seen.add(key);
    }
    return {
      containerPort: port.number,
      ...(port.name !== undefined ? { name: port.name } : {}),
      ...(port.protocol !== undefined ? { protocol: port.protocol } : {}),
      ...(port.hostPort !== undefined ? { hostPort: port.hostPort } : {}),
    };
  });
}

function renderMounts(volumeMounts: readonly VolumeMount[], context: ContainerContext, of: string) {
  const { extraMount, extraVolume } = context;
  const mounts: Record<string, unknown>[] = [];
  const volumes: MountedVolume[] = [];
  const paths = new Map<string, string>([[normalizeMountPath(extraMount.mountPath)!, String(extraMount.name)]]);
  for (const [index, mount] of volumeMounts.entries()) {
    const at = `${propLabel(`volumeMounts[${index}]`)} of ${of}`;
    if (!(mount?.volume instanceof PodVolume)) throw new Error(`${at} needs a 'volume', e.g. PodVolume.fromEmptyDir('tmp')`);
    const path = mount.mountPath;
    if (typeof path !== 'string' || !path.startsWith('/') || path.includes(':')) throw new Error(`${at} has ${propLabel('mountPath')} ${JSON.stringify(path)}: give an absolute path without ':'`);
    const taken = paths.get(normalizeMountPath(path)!);
    if (taken !== undefined) {
      throw new Error(`${at} mounts '${mount.volume.name}' at ${path}, where '${taken}' is mounted${taken === extraMount.name ? ' (the shared-memory domain)' : ''}: choose another ${propLabel('mountPath')}`);
    }
    paths.set(normalizeMountPath(path)!, mount.volume.name);
    if (mount.subPath !== undefined && (typeof mount.subPath !== 'string' || mount.subPath.startsWith('/') || mount.subPath.split('/').includes('..'))) {
      throw new Error(`${at} has ${propLabel('subPath')} ${JSON.stringify(mount.subPath)}: give a relative path without '..'`);
    }
    mounts.push({
      name: mount.volume.name,
      mountPath: path,
      ...(mount.readOnly !== undefined ? { readOnly: mount.readOnly } : {}),
      ...(mount.subPath !== undefined ? { subPath: mount.subPath } : {}),
    });
    volumes.push({ json: { name: mount.volume.name, ...mount.volume._source }, source: mount.volume });
  }
  mounts.push({ ...extraMount });
  volumes.push({ json: extraVolume });
  return { mounts, volumes };
}

/**
 * The pod's volumes, each once, in the order the containers mount them (as cdk8s-plus orders
 * them). Two different volumes may not share a name.
 */
export function podVolumes(mounted: readonly MountedVolume[], subject: string): Record<string, unknown>[] {
  const byName = new Map<string, MountedVolume>();
  for (const volume of mounted) {
    const name = String(volume.json.name);
    const known = byName.get(name);
    if (!known) {
      byName.set(name, volume);
    } else if (known.source !== volume.source) {
      const own = known.source === undefined || volume.source === undefined;
      throw new Error(`two volumes of ${subject} are named '${name}'${own ? ' (the agent uses that name itself)' : ''}: give each PodVolume a name of its own`);
    }
  }
  return [...byName.values()].map(v => ({ ...v.json }));
}
