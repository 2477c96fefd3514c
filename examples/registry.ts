/**
 * Finds the examples and describes what they synthesize. Shared by `npm run examples` and the
 * tests, so that what the README's command prints is what the tests check.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Chart } from 'cdk8s';
import { SHM_MOUNT_PATH, formatBytes, planSharedMemory, podMemoryLimit, podTemplateOf, resolvePolicy } from '../src/core';

/** An example: a file in examples/ whose default export builds one chart in an app. */
export interface Example {
  readonly name: string;
  readonly build: (app: App) => Chart;
}

const NOT_EXAMPLES = new Set(['synth.ts', 'registry.ts']);

/** Every example, in file-name order. */
export function examples(): Example[] {
  return fs.readdirSync(__dirname)
    .filter(file => file.endsWith('.ts') && !file.endsWith('.d.ts') && !NOT_EXAMPLES.has(file))
    .sort()
    .map(file => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const module = require(path.join(__dirname, file));
      if (typeof module.default !== 'function') throw new Error(`examples/${file} must export a default function (app: App) => Chart`);
      return { name: path.basename(file, '.ts'), build: module.default };
    });
}

/** One row of the table: a workload, its pod memory limit, the limit its /dev/shm is a share of, and its /dev/shm. */
export interface ShmRow {
  readonly workload: string;
  readonly podMemoryLimit: string;
  /** The largest limit among the containers that mount /dev/shm (the core's basis), with the container. */
  readonly basis: string;
  readonly devShm: string;
}

/** Describes the /dev/shm of every workload among `objects`, read back from the synthesized JSON. */
export function shmRows(objects: readonly unknown[]): ShmRow[] {
  return objects.flatMap(object => {
    const location = podTemplateOf(object);
    if (!location) return [];
    const o = object as { kind: string; metadata: { name: string } };
    const spec = location.template.spec as any;
    const limit = podMemoryLimit(spec);
    const basis = planSharedMemory(location.template, resolvePolicy()).basis;
    return [{
      workload: `${o.kind}/${o.metadata.name}`,
      podMemoryLimit: limit.kind === 'limited' ? formatBytes(limit.bytes) : limit.kind === 'unlimited' ? 'none' : 'invalid',
      basis: basis ? `${formatBytes(basis.bytes)} (${basis.container})` : '-',
      devShm: describeShm(spec),
    }];
  });
}

function describeShm(spec: any): string {
  const containers: any[] = [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
  const mount = containers.flatMap(c => c.volumeMounts ?? []).find((m: any) => m.mountPath === SHM_MOUNT_PATH);
  if (spec.hostIPC) return "node's /dev/shm (hostIPC)";
  if (!mount) return '64Mi (runtime default)';
  const volume = (spec.volumes ?? []).find((v: any) => v.name === mount.name);
  if (volume?.emptyDir?.medium === 'Memory') return volume.emptyDir.sizeLimit ?? 'node memory (no sizeLimit)';
  if (volume?.hostPath) return `host ${volume.hostPath.path}`;
  if (volume?.csi) return `csi ${volume.csi.driver}`;
  return `volume '${mount.name}'`;
}

/** The table `npm run examples` prints: one row per workload of every example. */
export function exampleTable(synthesized: readonly { readonly name: string; readonly objects: readonly unknown[] }[]): string {
  const rows: string[][] = [['EXAMPLE', 'WORKLOAD', 'POD MEMORY LIMIT', 'BASIS', '/dev/shm']];
  for (const { name, objects } of synthesized) {
    for (const row of shmRows(objects)) rows.push([name, row.workload, row.podMemoryLimit, row.basis, row.devShm]);
  }
  return renderTable(rows);
}

/** Renders rows as an aligned text table. */
export function renderTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map(r => r[i].length)));
  return rows.map(r => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}
