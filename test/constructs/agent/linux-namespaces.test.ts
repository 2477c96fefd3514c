/**
 * Proof on Linux, without Kubernetes, that the layout SharedMemoryAgent emits with the hostPath
 * delivery does what it claims (the CSI delivery has its own in test/programs/csi/plugin-mounts.test.ts).
 *
 * Everything runs inside a private mount and IPC namespace (`unshare`, as root), so the machine's
 * own /dev/shm, mounts and System V segments are never touched:
 *
 * - a tmpfs stands in for the node's /run, shared like a node's root mount (`rshared`);
 * - the mounter script, exactly as synthesized, runs in its own mount namespace against a
 *   Bidirectional (rshared) bind of the domain directory, twice (the second run must reuse);
 * - two processes, each in its own IPC and mount namespace with the domain bound at /dev/shm
 *   (HostToContainer: rslave), exchange bytes through POSIX shm_open();
 * - System V segments are invisible across IPC namespaces unless both share one (hostIPC).
 *
 * Where namespaces or mounts are not permitted, the tests say so in their names and are skipped.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { AgentDelivery, SharedMemoryAgent, SharedMemoryDomain } from '../../../src';
import { POSIX_READER, POSIX_WRITER, namespacesUnavailable } from '../../support/linux-namespaces';

const reason = namespacesUnavailable(['python3', 'ipcmk', 'ipcs', 'nsenter']);
const linuxTest = reason === undefined ? test : test.skip;
const suffix = reason === undefined ? '' : ` [SKIPPED: ${reason}]`;

/** The mounter script and the mount paths, from a synthesized agent with the hostPath delivery. */
function synthesizedLayout() {
  const chart = Testing.chart();
  const agent = new SharedMemoryAgent(chart, 'agent', {
    delivery: AgentDelivery.hostPath(),
    domain: SharedMemoryDomain.tmpfs({ size: Size.mebibytes(8) }),
    containers: [{ name: 'agent', image: 'example/agent:1', resources: { memory: { limit: Size.mebibytes(64) } } }],
  });
  agent.share(new kplus.Deployment(chart, 'web', { containers: [{ name: 'web', image: 'example/web:1', resources: { memory: { limit: Size.gibibytes(1) } } }] }));
  const objects = Testing.synth(chart);
  const ds = objects.find(o => o.kind === 'DaemonSet').spec.template.spec;
  const web = objects.find(o => o.kind === 'Deployment').spec.template.spec;
  const mounter = ds.initContainers[0];
  return {
    script: mounter.command[2] as string,
    mounterPath: mounter.volumeMounts[0].mountPath as string,
    mounterPropagation: mounter.volumeMounts[0].mountPropagation as string,
    agentMount: ds.containers[0].volumeMounts[0],
    webMount: web.containers[0].volumeMounts[0],
    hostPath: ds.volumes[0].hostPath.path as string,
  };
}

/** Runs a bash script inside a fresh private mount + IPC namespace; returns its stdout. */
function sandbox(script: string, env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('unshare', ['--mount', '--ipc', '--fork', '--propagation', 'private', 'bash', '-c', script], {
    encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the emitted layout on Linux namespaces', () => {
  let work: string;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'shm-agent-'));
    fs.writeFileSync(path.join(work, 'writer.py'), POSIX_WRITER);
    fs.writeFileSync(path.join(work, 'reader.py'), POSIX_READER);
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test('the manifests use the propagation the proof relies on', () => {
    const layout = synthesizedLayout();
    expect(layout.mounterPropagation).toBe('Bidirectional');
    expect(layout.agentMount).toMatchObject({ mountPath: '/dev/shm', mountPropagation: 'HostToContainer' });
    expect(layout.webMount).toMatchObject({ mountPath: '/dev/shm', mountPropagation: 'HostToContainer' });
  });

  linuxTest(`POSIX shm: the mounter makes a bounded tmpfs on the node; agent and business exchange bytes through it${suffix}`, () => {
    const layout = synthesizedLayout();
    fs.writeFileSync(path.join(work, 'mounter.sh'), layout.script);
    const result = sandbox(`
      set -euo pipefail
      NODE=$(mktemp -d)                          # stands in for the node's /run
      mount -t tmpfs -o size=1m node-run "$NODE"
      mount --make-rshared "$NODE"
      DOMAIN="$NODE${layout.hostPath.replace(/^\/run/, '')}"
      mkdir -p "$DOMAIN"                         # hostPath DirectoryOrCreate
      CONTAINER=$(mktemp -d)                     # the mounter's view of the volume
      # The mounter "container": its own mount namespace, the volume bound rshared (Bidirectional).
      mounter() {
        sed "s#'${layout.mounterPath}'#'$CONTAINER'#" "$WORK/mounter.sh" > "$WORK/mounter-local.sh"
        unshare --mount --propagation unchanged sh -c "mount --rbind '$DOMAIN' '$CONTAINER' && mount --make-rshared '$CONTAINER' && sh '$WORK/mounter-local.sh'"
      }
      mounter
      mounter                                    # a restarted agent reuses the tmpfs
      echo "node-mounts: $(grep -c " $DOMAIN " /proc/self/mountinfo)"
      echo "node-view: $(grep " $DOMAIN " /proc/self/mountinfo)"
      echo "mode: $(stat -c %a "$DOMAIN")"
      # A "pod": own IPC + mount namespace, the domain bound at /dev/shm as rslave (HostToContainer).
      pod() {
        unshare --ipc --mount --fork --propagation unchanged sh -c "mount --rbind '$DOMAIN' /dev/shm && mount --make-rslave /dev/shm && $1"
      }
      pod "python3 '$WORK/writer.py' /agent-ring hello-from-business"
      pod "python3 '$WORK/reader.py' /agent-ring"
      echo "in-domain: $(ls "$DOMAIN")"
      # Control: a pod with its own /dev/shm (a private tmpfs) does not see the segment.
      unshare --ipc --mount --fork --propagation unchanged sh -c "mount -t tmpfs -o size=1m own /dev/shm && python3 '$WORK/reader.py' /agent-ring 2>/dev/null" \
        && echo "control: visible" || echo "control: not visible"
      # Bounded: writing past size= fails with ENOSPC instead of eating node memory.
      pod "dd if=/dev/zero of=/dev/shm/big bs=1M count=16 2>&1" | grep -o 'No space left on device' | head -1 || true
      pod "rm -f /dev/shm/big /dev/shm/agent-ring"
      umount -R "$NODE"
    `, { WORK: work });
    expect(result.stderr).not.toMatch(/Traceback/);
    expect(result.status).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(/tmpfs mounted on .*, size=8388608/);
    expect(out).toMatch(/tmpfs on .* kept, size=8388608/);
    expect(out).toContain('node-mounts: 1'); // one tmpfs, not two stacked
    expect(out).toMatch(/node-view: .* - tmpfs cdk8s-shm\.io rw,size=8192k/);
    expect(out).toContain('mode: 1777'); // unprivileged agents and business pods can create segments
    expect(out).toContain('wrote hello-from-business');
    expect(out).toContain('read /agent-ring hello-from-business');
    expect(out).toContain('in-domain: agent-ring');
    expect(out).toContain('control: not visible');
    expect(out).toContain('No space left on device');
  });

  linuxTest(`the mounter never mistakes a plain directory on the node's /run tmpfs for its own tmpfs${suffix}`, () => {
    const layout = synthesizedLayout();
    fs.writeFileSync(path.join(work, 'mounter.sh'), layout.script);
    const result = sandbox(`
      set -euo pipefail
      NODE=$(mktemp -d); mount -t tmpfs -o size=1m node-run "$NODE"; mount --make-rshared "$NODE"
      DOMAIN="$NODE/cdk8s-shm/agent"; mkdir -p "$DOMAIN"; CONTAINER=$(mktemp -d)
      sed "s#'${layout.mounterPath}'#'$CONTAINER'#" "$WORK/mounter.sh" > "$WORK/mounter-local.sh"
      unshare --mount --propagation unchanged sh -c "mount --rbind '$DOMAIN' '$CONTAINER' && mount --make-rshared '$CONTAINER' && sh '$WORK/mounter-local.sh'"
      grep " $DOMAIN " /proc/self/mountinfo
      umount -R "$NODE"
    `, { WORK: work });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/tmpfs mounted on/); // the bind of node-run (also tmpfs) was not taken for ours
    expect(result.stdout).toMatch(/size=8192k/);
  });

  linuxTest(`System V: a segment is invisible across IPC namespaces and visible when both share one (hostIPC)${suffix}`, () => {
    const result = sandbox(`
      set -euo pipefail
      # This sandbox's IPC namespace stands in for the node's; hostIPC pods run in it.
      id=$(ipcmk -M 4096 | awk '{ print $NF }')
      echo "created: $id"
      # ipcs lists a segment's key, id, owner...: look the id up in the listing (ipcs -i exits 0 even when absent).
      listed='ipcs -m | awk -v id="$1" "\\$2 == id { found = 1 } END { exit !found }"'
      sh -c "$listed" - "$id" && echo "hostIPC pod: visible" || echo "hostIPC pod: not visible"
      unshare --ipc sh -c "$listed" - "$id" && echo "private pod: visible" || echo "private pod: not visible"
      # And the other way round: a segment made in a private IPC namespace is not on the node.
      unshare --ipc sh -c 'ipcmk -M 4096 >/dev/null; ipcs -m | grep -c "^0x" || true' | sed 's/^/private pod segments: /'
      echo "node segments: $(ipcs -m | grep -c '^0x' || true)"
      ipcrm -m "$id"
    `, {});
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/created: \d+/);
    expect(result.stdout).toContain('hostIPC pod: visible');
    expect(result.stdout).toContain('private pod: not visible');
    expect(result.stdout).toContain('private pod segments: 1');
    expect(result.stdout).toContain('node segments: 1');
  });
});
