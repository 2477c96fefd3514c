/**
 * The copy of a workload that runs on the real node. What a test changes in what a way in
 * produced, and nothing else (`forNode`):
 * - every image becomes the node image, pulled `Never` (no registry is reachable here);
 * - requests become small (the node has 2 CPUs; a request the API server defaulted to a 32Gi limit
 *   would never be scheduled); limits, which decide `/dev/shm`, stay as they are;
 * - extended resources (GPUs) are dropped: the node has none;
 * - a container's command can be replaced by the experiment it runs (`commands`), and probes of a
 *   program that is not there are dropped;
 * - every pod template tolerates the node's taint (`NODE_TAINT`), which keeps the other suites'
 *   pods off the node;
 * - the paths of a standard node (`/var/lib/kubelet`, `/run`) become this node's (`paths`), for the
 *   node agent's hostPath volumes and its plugin's flags.
 */
import { mapImages } from './images';
import { NODE_TAINT } from './real-node';
import { parseQuantity } from '../../../../src/core';

/** Requests every container gets (or its limit, where that is lower): small enough for many pods on this node. */
const SMALL_REQUESTS = { cpu: 10n, memory: 16n * 1024n * 1024n };
const KEPT_RESOURCES = /^(cpu|memory|ephemeral-storage|hugepages-.*)$/;

/** `limit` if it is below `small` (a request may not exceed its limit), else `small`; cpu in millicores. */
function request(name: 'cpu' | 'memory', limit: unknown): string {
  const small = SMALL_REQUESTS[name];
  if (limit === undefined) return name === 'cpu' ? `${small}m` : String(small);
  const { num, den } = parseQuantity(`${limit}`);
  const scaled = name === 'cpu' ? num * 1000n : num;
  const limitValue = (scaled + den - 1n) / den;
  const value = limitValue < small ? limitValue : small;
  return name === 'cpu' ? `${value}m` : String(value);
}

function containersOf(spec: any): any[] {
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

/** Every pod spec in an object (a Pod's, a template's, a CronJob's job template's). */
export function podSpecsOf(object: any): any[] {
  const specs: any[] = [];
  const visit = (value: any, key?: string) => {
    if (!value || typeof value !== 'object') return;
    if (key === 'spec' && Array.isArray(value.containers)) specs.push(value);
    for (const [k, v] of Object.entries(value)) visit(v, k);
  };
  visit(object);
  return specs;
}

export interface ForNodeOptions {
  /** Container name -> the shell script it runs instead of its own command. */
  readonly commands?: Readonly<Record<string, string>>;
  /** The script of every container `commands` does not name. @default the container's own command */
  readonly otherwise?: (container: any, spec: any) => string | undefined;
  /** Path prefixes of a standard node -> this node's, in hostPath volumes and container arguments. */
  readonly paths?: Readonly<Record<string, string>>;
}

/** `text` with a mapped prefix replaced, when it starts with one (as a whole path segment). */
function mapPath(text: string, paths: Readonly<Record<string, string>>): string {
  for (const [from, to] of Object.entries(paths)) {
    if (text === from || text.startsWith(`${from}/`)) return `${to}${text.slice(from.length)}`;
    const flag = /^(--[a-z-]+=)(.*)$/.exec(text);
    if (flag && (flag[2] === from || flag[2].startsWith(`${from}/`))) return `${flag[1]}${to}${flag[2].slice(from.length)}`;
  }
  return text;
}

/** Small requests, and only the resources this node has (no GPUs). */
function fitResources(container: any): void {
  const limits = Object.fromEntries(Object.entries(container.resources?.limits ?? {}).filter(([name]) => KEPT_RESOURCES.test(name)));
  const requests = { cpu: request('cpu', limits.cpu), memory: request('memory', limits.memory) };
  container.resources = Object.keys(limits).length > 0 ? { limits, requests } : { requests };
}

/** The container runs `script` instead of its program; the program's probes go with it. */
function runScript(container: any, script: string): void {
  container.command = ['sh', '-c', script];
  delete container.args;
  delete container.livenessProbe;
  delete container.readinessProbe;
  delete container.startupProbe;
}

/** This node's directories where a standard node's are named. */
function mapNodePaths(spec: any, paths: Readonly<Record<string, string>>): void {
  for (const volume of spec.volumes ?? []) if (volume.hostPath) volume.hostPath.path = mapPath(volume.hostPath.path, paths);
  for (const container of containersOf(spec)) {
    if (Array.isArray(container.args)) container.args = container.args.map((a: string) => mapPath(a, paths));
    for (const mount of container.volumeMounts ?? []) mount.mountPath = mapPath(mount.mountPath, paths);
  }
}

/** The copy of `objects` that runs on the node (see the file's comment for every change). */
export function forNode<T>(objects: T, options: ForNodeOptions = {}): T {
  const copy = mapImages(objects);
  for (const spec of podSpecsOf(copy)) {
    spec.tolerations = [...(spec.tolerations ?? []), { key: NODE_TAINT.key, operator: 'Exists', effect: NODE_TAINT.effect }];
    mapNodePaths(spec, options.paths ?? {});
    for (const container of containersOf(spec)) {
      fitResources(container);
      const script = options.commands?.[container.name] ?? options.otherwise?.(container, spec);
      if (script !== undefined) runScript(container, script);
    }
  }
  return copy;
}
