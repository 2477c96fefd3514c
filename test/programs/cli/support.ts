/**
 * Shared helpers of the CLI tests: fixtures, parsing output back, and the in-process CLI.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { podTemplateOf } from '../../../src/core';
import { CliIo, runCli } from '../../../src/programs/cli/main';
import { podRuleViolations } from '../../support/pod-rules';
import { expectValidAgainstSchema } from '../../support/schema';

export const FIXTURES = path.join(__dirname, 'fixtures');
export const REPO = path.join(__dirname, '..', '..', '..');

export function fixture(name: string): string {
  return fs.readFileSync(path.join(FIXTURES, name), 'utf8');
}

export function fixturePath(name: string): string {
  return path.join(FIXTURES, name);
}

/** Every document of a YAML stream as plain JSON (YAML 1.1, as Kubernetes reads it). */
export function objectsOf(text: string): any[] {
  return parseAllDocuments(text, { version: '1.1', merge: true })
    .map(d => {
      if (d.errors.length > 0) throw d.errors[0];
      return d.toJS();
    })
    .filter(o => o !== null && o !== undefined);
}

/** Objects of a stream with the items of Lists spread out. */
export function flatObjects(text: string): any[] {
  return objectsOf(text).flatMap(o => (typeof o?.kind === 'string' && o.kind.endsWith('List') ? o.items : [o]));
}

/** Validates every Kubernetes object against the schema and every pod template against the API server's pod rules. */
export function expectValidKubernetes(objects: readonly any[]): void {
  const kube = objects.filter(o => typeof o?.apiVersion === 'string' && typeof o?.kind === 'string');
  expectValidAgainstSchema(kube);
  for (const object of kube) {
    const location = podTemplateOf(object);
    if (location) expect({ object: `${object.kind}/${object.metadata?.name}`, problems: podRuleViolations(location.template.spec) }).toEqual({ object: `${object.kind}/${object.metadata?.name}`, problems: [] });
  }
}

/** Runs the CLI in-process with the given standard input. */
export async function cli(argv: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: t => { stdout += t; },
    stderr: t => { stderr += t; },
    readStdin: async () => stdin,
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

/** The `/dev/shm` volume and the containers that mount it, of a workload. */
export function shmOf(object: any, volumeName = 'dshm'): { sizeLimit?: string; mountedBy: string[]; annotation?: string } {
  const location = podTemplateOf(object);
  const spec: any = location?.template.spec;
  const volume = (spec?.volumes ?? []).find((v: any) => v.name === volumeName);
  const containers = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])];
  return {
    sizeLimit: volume?.emptyDir?.sizeLimit,
    mountedBy: containers.filter((c: any) => (c.volumeMounts ?? []).some((m: any) => m.name === volumeName && m.mountPath === '/dev/shm')).map((c: any) => c.name),
    annotation: (location?.template.metadata as any)?.annotations?.['cdk8s-shm.io/size-limit'],
  };
}
