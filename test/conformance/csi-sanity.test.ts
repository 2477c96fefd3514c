/**
 * The CSI conformance suite, csi-sanity (kubernetes-csi/csi-test, built from the Go module proxy
 * by scripts/fetch-csi-sanity.sh and cached by version), against the bundled node plugin on a unix
 * socket, as root, with real mounts in private mount and IPC namespaces
 * (test/programs/csi/support/node-sandbox.ts). Runs with `npm run conformance`, not `npm test`: it needs Go.
 *
 * Two groups are skipped, both because the plugin has no Controller service (ephemeral inline
 * volumes need none, and it declares no CONTROLLER_SERVICE capability):
 * - `[Controller Server]`: every Controller RPC;
 * - `should remove target path`: it creates its volume with the Controller's CreateVolume first.
 *   What it checks, that NodeUnpublishVolume removes the target, test/programs/csi/plugin-mounts.test.ts
 *   checks on a published pod volume.
 * The suite skips the rest itself where the plugin declares no capability (staging, stats,
 * expansion, group snapshots).
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { NodeSandbox, PluginProcess } from '../programs/csi/support/node-sandbox';
import { namespacesUnavailable } from '../support/linux-namespaces';

const REPO = path.join(__dirname, '..', '..');
const reason = namespacesUnavailable(['nsenter']);
const linuxTest = reason === undefined ? test : test.skip;
const suffix = reason === undefined ? '' : ` [SKIPPED: ${reason}]`;
const SKIPPED = ['\\[Controller Server\\]', 'should remove target path'];

interface SpecResult {
  readonly name: string;
  readonly status: 'passed' | 'failed' | 'skipped';
}

/** The specs of a JUnit report, as ginkgo writes it. */
function junitSpecs(xml: string): SpecResult[] {
  const specs: SpecResult[] = [];
  for (const match of xml.matchAll(/<testcase name="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const body = match[3] ?? '';
    const status = /<(failure|error)\b/.test(body) ? 'failed' : /<skipped\b/.test(body) ? 'skipped' : 'passed';
    specs.push({ name: match[1].replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&'), status });
  }
  return specs;
}

describe('csi-sanity', () => {
  let sandbox: NodeSandbox;
  let plugin: PluginProcess;
  let sanity: string;

  beforeAll(async () => {
    if (reason !== undefined) return;
    sanity = execFileSync(path.join(REPO, 'scripts', 'fetch-csi-sanity.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 900_000 }).trim();
    sandbox = await NodeSandbox.start();
    plugin = await sandbox.startPlugin([
      '--driver-name=agent.cdk8s-shm.io', '--node-id=node-1', '--domain-name=agent', '--domain-size=16777216', '--tenant=agent',
    ]);
  }, 900_000);

  afterAll(async () => {
    await sandbox?.dispose();
  }, 30_000);

  linuxTest(`passes against the bundled plugin on a unix socket, with real mounts${suffix}`, () => {
    const report = path.join(sandbox.work, 'junit.xml');
    const result = spawnSync('nsenter', ['-t', String(sandbox.pid), '-m', '-i', '--', sanity,
      `--csi.endpoint=${plugin.socket}`,
      `--csi.mountdir=${path.join(sandbox.podsDir, 'sanity-target')}`,
      `--csi.stagingdir=${path.join(sandbox.podsDir, 'sanity-staging')}`,
      `--ginkgo.skip=${SKIPPED.join('|')}`,
      `--ginkgo.junit-report=${report}`,
      '--ginkgo.no-color'], { encoding: 'utf8', timeout: 300_000 });
    const summary = /Ran (\d+) of (\d+) Specs[\s\S]*?(\d+) Passed \| (\d+) Failed \| (\d+) Pending \| (\d+) Skipped/.exec(result.stdout);
    // The counts, for the record (README, issue notes).
    console.log(`csi-sanity: ${summary?.[0].replace(/\s+/g, ' ') ?? result.stdout.slice(-2000)}`);
    expect(result.stderr).not.toMatch(/panic:/);
    expect(summary).not.toBeNull();
    const [, ran, total, passed, failed] = summary!.map(Number);
    expect({ failed, status: result.status }).toEqual({ failed: 0, status: 0 });
    expect(passed).toBe(ran);
    expect(total).toBeGreaterThan(ran);

    const specs = junitSpecs(fs.readFileSync(report, 'utf8'));
    const passedNames = specs.filter(s => s.status === 'passed').map(s => s.name);
    expect(passedNames).toHaveLength(passed);
    // What a node-only plugin must get right, every one run and passed.
    for (const spec of [
      'Identity Service GetPluginCapabilities should return appropriate capabilities',
      'Identity Service Probe should return appropriate information',
      'Identity Service GetPluginInfo should return appropriate information',
      'Node Service NodeGetCapabilities should return appropriate capabilities',
      'Node Service NodeGetInfo should return appropriate values',
      'Node Service NodePublishVolume should fail when no volume id is provided',
      'Node Service NodePublishVolume should fail when no target path is provided',
      'Node Service NodePublishVolume should fail when no volume capability is provided',
      'Node Service NodeUnpublishVolume should fail when no volume id is provided',
      'Node Service NodeUnpublishVolume should fail when no target path is provided',
    ]) {
      expect(passedNames.some(name => name.includes(spec))).toBe(true);
    }
    expect(specs.filter(s => s.status === 'failed')).toEqual([]);
  }, 300_000);
});
