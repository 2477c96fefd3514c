/**
 * The CSI node plugin's cost, for `npm run bench`: how long a publish and an unpublish take (the
 * kubelet waits for them before it starts, or after it stops, a container) and the plugin's
 * resident memory at rest and after a run of them, as the DaemonSet runs it (its NODE_OPTIONS).
 *
 * It runs the bundled plugin with real mounts in private mount and IPC namespaces, as the tests
 * do (test/programs/csi/support/node-sandbox.ts), so it needs root and unshare; elsewhere it is skipped.
 */
import { median } from './load';
import { residentMemory } from './servers';
import { PLUGIN_NODE_FLAGS } from '../src/constructs/agent/csi-node-plugin';
import { CsiClient, MOUNT_CAPABILITY, NodeSandbox, podContext } from '../test/programs/csi/support/node-sandbox';
import { namespacesUnavailable } from '../test/support/linux-namespaces';

export interface CsiFigures {
  readonly pairs: number;
  readonly nodeFlags: string;
  readonly startMs: number;
  readonly publishP50Ms: number;
  readonly publishP99Ms: number;
  readonly unpublishP50Ms: number;
  readonly unpublishP99Ms: number;
  readonly idleMiB: number;
  readonly afterMiB: number;
  readonly highWaterMiB: number;
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** `pairs` publish/unpublish pairs of distinct pod volumes, one at a time; undefined (with the reason logged) where it cannot run. */
export async function runCsiBenchmarks(pairs: number, log: (line: string) => void): Promise<CsiFigures | undefined> {
  const reason = namespacesUnavailable(['nsenter']);
  if (reason) {
    log(`csi plugin: skipped (${reason})`);
    return undefined;
  }
  const sandbox = await NodeSandbox.start();
  const previous = process.env.NODE_OPTIONS;
  try {
    process.env.NODE_OPTIONS = PLUGIN_NODE_FLAGS;
    const started = performance.now();
    const plugin = await sandbox.startPlugin(['--driver-name=agent.cdk8s-shm.io', '--node-id=n', '--domain-name=agent', '--domain-size=16777216', '--tenant=shop']);
    const startMs = performance.now() - started;
    process.env.NODE_OPTIONS = previous;
    const client = new CsiClient(plugin.socket);
    const idle = residentMemory(plugin.child.pid!);
    const publish: number[] = [];
    const unpublish: number[] = [];
    log(`csi plugin: ${pairs} publish/unpublish pairs ...`);
    for (let i = 0; i < pairs; i++) {
      const target = sandbox.targetFor(`pod-${i}`);
      let t = performance.now();
      const published = await client.node('NodePublishVolume', { volume_id: `v${i}`, target_path: target, volume_capability: MOUNT_CAPABILITY, volume_context: podContext('shop', `pod-${i}`) });
      publish.push(performance.now() - t);
      t = performance.now();
      const unpublished = await client.node('NodeUnpublishVolume', { volume_id: `v${i}`, target_path: target });
      unpublish.push(performance.now() - t);
      if (published.code !== undefined || unpublished.code !== undefined) throw new Error(`csi plugin: ${JSON.stringify({ published, unpublished })}`);
    }
    const after = residentMemory(plugin.child.pid!);
    client.close();
    return {
      pairs,
      nodeFlags: PLUGIN_NODE_FLAGS,
      startMs,
      publishP50Ms: median(publish),
      publishP99Ms: quantile(publish, 0.99),
      unpublishP50Ms: median(unpublish),
      unpublishP99Ms: quantile(unpublish, 0.99),
      idleMiB: idle.rssMiB,
      afterMiB: after.rssMiB,
      highWaterMiB: after.hwmMiB,
    };
  } finally {
    process.env.NODE_OPTIONS = previous;
    await sandbox.dispose();
  }
}
