/**
 * `hardenMount` through the construct and the CLI, on a control plane of Kubernetes 1.37
 * (e2e/kube-1.37), gates on and off (the webhook is proven in resize-1.37.test.ts):
 *
 * - VolumeBindMountOptions on: a Pod and a Deployment sized by `SharedMemory.addTo({ hardenMount })`,
 *   and a Pod by `cdk8s-shm inject --harden-mount true`, are stored with `bindMountOptions`
 *   nosuid,nodev,noexec on every mount of ours; `check --harden-mount true` finds nothing to
 *   change in the construct's output (one answer through two ways in);
 * - gates off: the API server drops them without a word, which is why both ways in warned when they
 *   asked: the construct at synthesis (its decision, on standard error), the CLI on standard error.
 *
 * No node: the pods stay unscheduled; the stored objects are what the kubelet would be given.
 */
import { ApiObject, App, Chart } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { CLI_BUNDLE } from './support/cli';
import { RunningControlPlane, startKube137 } from './support/control-plane';
import { Kube, asStream, runAsync } from './support/kube';
import { area, count } from './support/summary';
import { SharedMemory } from '../../src';
import { HARDEN_MOUNT_GATE_WARNING, HARDENED_MOUNT_OPTIONS } from '../../src/core';

area('9 after a resize (1.37)');

const NS = 'e2e-harden';

function podSpec(): any {
  return {
    containers: [
      { name: 'app', image: 'registry.example.com/app:1.0.0', resources: { limits: { memory: '1Gi' } } },
      { name: 'helper', image: 'registry.example.com/helper:1.0.0', resources: { limits: { memory: '256Mi' } } },
    ],
  };
}

function pod(name: string): any {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS }, spec: podSpec() };
}

function deployment(name: string): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: podSpec() } },
  };
}

/** The pod spec of a stored Pod or Deployment. */
const specOf = (object: any) => (object.kind === 'Pod' ? object.spec : object.spec.template.spec);

/** The `/dev/shm` mounts of every container, as stored. */
function shmMounts(object: any): any[] {
  return specOf(object).containers.flatMap((c: any) => (c.volumeMounts ?? []).filter((m: any) => m.mountPath === '/dev/shm'));
}

/** The construct's output for a Pod and a Deployment with hardenMount, and what it decided. */
function synthesized(): { objects: any[]; warnings: string[] } {
  const chart = new Chart(new App(), 'hardened');
  const shms = [pod('construct-pod'), deployment('construct-deploy')]
    .map(object => SharedMemory.addTo(new ApiObject(chart, object.metadata.name, object), { hardenMount: true }));
  const objects = chart.toJson();
  return { objects, warnings: shms.flatMap(shm => shm.decisions.flatMap(d => d.warnings)) };
}

/** `cdk8s-shm COMMAND --harden-mount true` on these objects. */
function cli(command: 'inject' | 'check', objects: readonly unknown[]) {
  return runAsync(process.execPath, [CLI_BUNDLE, command, '--harden-mount', 'true'], { input: asStream(objects) });
}

/** A 1.37 control plane for the describe block it is called in. */
function clusterFor(gatesOn: boolean): () => { cluster: RunningControlPlane; kube: Kube } {
  let env: { cluster: RunningControlPlane; kube: Kube } | undefined;
  beforeAll(async () => {
    const cluster = await startKube137(gatesOn);
    const kube = new Kube(cluster, cluster.adminKubeconfig, 'admin');
    env = { cluster, kube };
    await kube.namespace(NS);
  });
  afterAll(async () => {
    await env?.cluster.stop();
  });
  return () => env!;
}

/** What both ways in produce, created through the API server: the stored objects and what each way in said. */
async function throughBothWaysIn(kube: Kube) {
  const construct = synthesized();
  const injected = await cli('inject', [pod('cli-pod')]);
  expect(injected.status).toBe(0);
  const stored: any[] = [];
  // One at a time: kubectl prints objects of several kinds as separate documents, not one List.
  const objects = [...construct.objects, ...parseAllDocuments(injected.stdout).map(d => d.toJSON())];
  for (const object of objects) stored.push(...await kube.create([object]));
  count({ objects: stored.length, pods: stored.length });
  return { construct, injected, stored };
}

describe('gates on: the stored objects carry the runtime\'s mount options', () => {
  const env = clusterFor(true);

  test('through the construct and the CLI, every /dev/shm mount of ours is stored nosuid,nodev,noexec', async () => {
    const { construct, injected, stored } = await throughBothWaysIn(env().kube);
    expect(stored.map(o => `${o.kind}/${o.metadata.name}`)).toEqual(['Pod/construct-pod', 'Deployment/construct-deploy', 'Pod/cli-pod']);
    for (const object of stored) {
      const mounts = shmMounts(object);
      // Both containers write /dev/shm: both mounts carry the options, as the core asked for them.
      expect(mounts).toHaveLength(2);
      for (const mount of mounts) expect(mount.bindMountOptions).toEqual([...HARDENED_MOUNT_OPTIONS]);
      expect(specOf(object).volumes.find((v: any) => v.name === mounts[0].name).emptyDir.medium).toBe('Memory');
    }
    // Each way in said what the option needs, even where the cluster has it: it cannot tell.
    expect(construct.warnings).toContain(HARDEN_MOUNT_GATE_WARNING);
    expect(injected.stderr).toContain(HARDEN_MOUNT_GATE_WARNING);

    // One answer through two ways in: the CLI finds nothing to change in what the construct made.
    const checked = await cli('check', construct.objects);
    expect(checked.stdout).toContain('no /dev/shm change needed');
    expect(checked.status).toBe(0);
  });
});

describe('gates off: the API server drops the options, and both ways in had said so', () => {
  const env = clusterFor(false);

  test('the stored mounts have no bindMountOptions; the construct and the CLI warned', async () => {
    const { construct, injected, stored } = await throughBothWaysIn(env().kube);
    for (const object of stored) {
      expect(shmMounts(object)).toHaveLength(2);
      for (const mount of shmMounts(object)) expect(mount.bindMountOptions).toBeUndefined();
    }
    expect(construct.warnings).toContain(HARDEN_MOUNT_GATE_WARNING);
    expect(injected.stderr).toContain(`Pod 'cli-pod' in namespace '${NS}': ${HARDEN_MOUNT_GATE_WARNING}`);
  });
});
