/**
 * SharedMemoryAgent with the hostPath delivery (the explicit, less safe option): the agent pod's
 * mounter, the hostPath volumes, and what is common to both deliveries (placement, share() on
 * every kind of workload, the synth-time errors). The CSI delivery, the default, is in
 * csi-delivery.test.ts.
 */
import { ApiObject, Chart, Cron, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { agentContainer, expectValid, one, synthErrors } from './support';
import { AgentDelivery, AgentPlacement, podspec, SharedMemory, SharedMemoryAgent, SharedMemoryAgentProps, SharedMemoryDomain } from '../../../src';
import { DEFAULT_VOLUME_NAME, INJECT_ANNOTATION, SHM_MOUNT_PATH } from '../../../src/core';

/** How synthesis errors name Deployment 'web' of a `Testing.chart()`: by kind and Kubernetes name. */
const WEB = `Deployment '${ApiObject.of(new kplus.Deployment(Testing.chart(), 'web')).name}'`;

const ENFORCE = 'pod-security.kubernetes.io/enforce';

function businessContainer(name = 'app'): kplus.ContainerProps {
  return { name, image: `example/${name}:1.0`, resources: { memory: { limit: Size.gibibytes(1) } } };
}

function newAgent(chart: Chart, props: Partial<SharedMemoryAgentProps> = {}): SharedMemoryAgent {
  return new SharedMemoryAgent(chart, 'node-agent', { containers: [agentContainer], delivery: AgentDelivery.hostPath(), ...props });
}

let warn: jest.SpyInstance;
beforeEach(() => {
  warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
});
afterEach(() => warn.mockRestore());

describe('SharedMemoryAgent (hostPath delivery): the DaemonSet', () => {
  test('runs on labeled, tainted nodes, node-critical, one node at a time, in its own privileged namespace', () => {
    const chart = Testing.chart();
    newAgent(chart);
    const objects = Testing.synth(chart);
    expectValid(objects);

    const namespace = one(objects, 'Namespace');
    expect(namespace.metadata.name).toBe('node-agent');
    expect(namespace.metadata.labels).toEqual({
      [ENFORCE]: 'privileged',
      'pod-security.kubernetes.io/warn': 'baseline',
      'pod-security.kubernetes.io/audit': 'baseline',
    });
    // The namespace comes before the DaemonSet in the manifest.
    expect(objects.indexOf(namespace)).toBeLessThan(objects.findIndex(o => o.kind === 'DaemonSet'));

    const ds = one(objects, 'DaemonSet');
    expect(ds.metadata).toMatchObject({ name: 'node-agent', namespace: 'node-agent' });
    expect(ds.spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    const pod = ds.spec.template.spec;
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', 'cdk8s-shm.io/node-agent': 'true' });
    expect(pod.tolerations).toEqual([{ key: 'cdk8s-shm.io/node-agent', operator: 'Equal', value: 'true', effect: 'NoSchedule' }]);
    expect(pod.hostIPC).toBeUndefined();
    expect(pod.volumes).toEqual([{ name: 'node-agent-shm', hostPath: { path: '/run/cdk8s-shm/node-agent', type: 'DirectoryOrCreate' } }]);
  });

  test('only the mounter is privileged, and it only mounts the tmpfs (Bidirectional)', () => {
    const chart = Testing.chart();
    newAgent(chart, { domain: SharedMemoryDomain.tmpfs({ size: Size.mebibytes(256) }) });
    const pod = one(Testing.synth(chart), 'DaemonSet').spec.template.spec;

    expect(pod.initContainers).toHaveLength(1);
    const mounter = pod.initContainers[0];
    expect(mounter.name).toBe('mount-tmpfs');
    expect(mounter.image).toBe('busybox:1.36.1');
    expect(mounter.securityContext).toMatchObject({ privileged: true, runAsUser: 0, readOnlyRootFilesystem: true });
    expect(mounter.volumeMounts).toEqual([{ name: 'node-agent-shm', mountPath: '/shm-domain', mountPropagation: 'Bidirectional' }]);
    expect(mounter.resources.limits).toEqual({ cpu: '100m', memory: '16Mi' });
    const script = mounter.command[2];
    expect(mounter.command.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(script).toContain(`size=${256 * 2 ** 20}`);
    expect(script).toContain('mount -t tmpfs -o "size=$size,mode=1777,nosuid,nodev"');
    expect(script).toContain('/proc/self/mountinfo'); // idempotent: an existing tmpfs of ours is resized, not stacked
    expect(script).not.toMatch(/umount/); // the mount outlives agent updates; the README says how to remove it

    const [agent] = pod.containers;
    expect(agent.securityContext).toEqual({
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(agent.volumeMounts).toEqual([{ name: 'node-agent-shm', mountPath: SHM_MOUNT_PATH, mountPropagation: 'HostToContainer' }]);
    expect(agent.resources.limits.memory).toBe('128Mi');
    const privileged = [...pod.initContainers, ...pod.containers].filter((c: any) => c.securityContext?.privileged);
    expect(privileged.map((c: any) => c.name)).toEqual(['mount-tmpfs']);
  });

  test('hostShm: a directory below the node /dev/shm, opened by an unprivileged init container; a warning says it is unbounded', () => {
    const chart = Testing.chart();
    const agent = newAgent(chart, { domain: SharedMemoryDomain.hostShm() });
    const objects = Testing.synth(chart);
    expectValid(objects);
    const pod = one(objects, 'DaemonSet').spec.template.spec;
    expect(pod.volumes[0].hostPath).toEqual({ path: '/dev/shm/cdk8s-shm-node-agent', type: 'DirectoryOrCreate' });
    const [prepare] = pod.initContainers;
    expect(prepare.name).toBe('prepare-domain');
    expect(prepare.securityContext).toMatchObject({ privileged: false, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(prepare.volumeMounts[0].mountPropagation).toBeUndefined();
    expect(prepare.command[2]).toContain("chmod 1777 '/shm-domain'");
    expect(pod.initContainers.concat(pod.containers).some((c: any) => c.securityContext?.privileged)).toBe(false);
    expect(agent.warnings.join('\n')).toMatch(/node's own \/dev\/shm/);
  });

  test('allNodes(): every Linux node, every taint tolerated; business pods get no label selector', () => {
    const chart = Testing.chart();
    const agent = newAgent(chart, { placement: AgentPlacement.allNodes() });
    const web = new kplus.Deployment(chart, 'web', { containers: [businessContainer()] });
    agent.share(web);
    const objects = Testing.synth(chart);
    expectValid(objects);
    const pod = one(objects, 'DaemonSet').spec.template.spec;
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    const business = one(objects, 'Deployment').spec.template.spec;
    expect(business.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(business.tolerations).toBeUndefined();
  });

  test('a custom label, no taint, another namespace that already exists, another priority class', () => {
    const chart = Testing.chart();
    const agent = newAgent(chart, {
      placement: AgentPlacement.labeledNodes({ key: 'AgentsDaemonSet', value: 'YES', tolerateTaint: false }),
      namespace: 'kube-system',
      createNamespace: false,
      priorityClassName: 'platform-agents',
    });
    const objects = Testing.synth(chart);
    expect(objects.filter(o => o.kind === 'Namespace')).toHaveLength(0);
    const ds = one(objects, 'DaemonSet');
    expect(ds.metadata.namespace).toBe('kube-system');
    expect(ds.spec.template.spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', 'AgentsDaemonSet': 'YES' });
    expect(ds.spec.template.spec.tolerations).toBeUndefined();
    expect(ds.spec.template.spec.priorityClassName).toBe('platform-agents');
    expect([agent.nodeLabelKey, agent.nodeLabelValue]).toEqual(['AgentsDaemonSet', 'YES']);
  });
});

describe('SharedMemoryAgent never harms the cluster', () => {
  test.each(['kube-system', 'kube-public', 'kube-node-lease', 'default'])('creating namespace %s is refused, with the fix', namespace => {
    expect(() => newAgent(Testing.chart(), { namespace })).toThrow(`'namespace' (${namespace}) of SharedMemoryAgent 'node-agent' is a namespace the cluster owns, `
      + "and 'createNamespace' (create_namespace in Python) would relabel it: choose a namespace of its own, or set 'createNamespace' (create_namespace in Python) to false");
  });

  test('a ResourceQuota lets its namespace hold system-node-critical pods; none in kube-system or for another class', () => {
    const chart = Testing.chart();
    newAgent(chart);
    const objects = Testing.synth(chart);
    expectValid(objects);
    expect(one(objects, 'ResourceQuota')).toEqual({
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'node-agent-critical-pods', namespace: 'node-agent' },
      spec: {
        hard: { pods: '10000' },
        scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['system-node-critical'] }] },
      },
    });
    // Applied after its namespace.
    expect(objects.findIndex(o => o.kind === 'Namespace')).toBeLessThan(objects.findIndex(o => o.kind === 'ResourceQuota'));
    for (const props of [{ namespace: 'kube-system', createNamespace: false }, { priorityClassName: 'platform-agents' }]) {
      const other = Testing.chart();
      newAgent(other, props);
      expect(Testing.synth(other).some(o => o.kind === 'ResourceQuota')).toBe(false);
    }
  });

  test('the mounter image may be pinned by digest; a malformed digest is refused', () => {
    const digest = `sha256:${'3c'.repeat(32)}`;
    const chart = Testing.chart();
    newAgent(chart, { mounterImage: `busybox:1.36.1@${digest}` });
    expect(one(Testing.synth(chart), 'DaemonSet').spec.template.spec.initContainers[0].image).toBe(`busybox:1.36.1@${digest}`);
    expect(() => newAgent(Testing.chart(), { mounterImage: 'busybox@sha256:1234' }))
      .toThrow("'mounterImage' (mounter_image in Python) (\"busybox@sha256:1234\") of SharedMemoryAgent 'node-agent' is not an image reference: a digest is sha256: and 64 lower-case hex digits");
  });
});

describe('SharedMemoryAgent.share() (hostPath delivery)', () => {
  test('mounts the domain HostToContainer, pins the pods to agent nodes and opts them out of the per-pod /dev/shm', () => {
    const chart = Testing.chart();
    const agent = newAgent(chart);
    const web = new kplus.Deployment(chart, 'web', { containers: [businessContainer('app'), businessContainer('proxy')] });
    agent.share(web);
    web.addContainer(businessContainer('late')); // added after share(): covered too
    const objects = Testing.synth(chart);
    expectValid(objects);

    const template = one(objects, 'Deployment').spec.template;
    expect(template.metadata.annotations[INJECT_ANNOTATION]).toBe('false');
    const pod = template.spec;
    expect(pod.volumes).toEqual([{ name: 'node-agent-shm', hostPath: { path: '/run/cdk8s-shm/node-agent', type: 'Directory' } }]);
    for (const c of pod.containers) {
      expect(c.volumeMounts).toEqual([{ name: 'node-agent-shm', mountPath: SHM_MOUNT_PATH, mountPropagation: 'HostToContainer' }]);
      expect(c.securityContext.privileged).toBe(false);
    }
    expect(pod.containers.map((c: any) => c.name)).toEqual(['app', 'proxy', 'late']);
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', 'cdk8s-shm.io/node-agent': 'true' });
    expect(pod.tolerations).toEqual([{ key: 'cdk8s-shm.io/node-agent', operator: 'Equal', value: 'true', effect: 'NoSchedule' }]);
    expect(pod.hostIPC).toBeUndefined();
    // Synthesizing again changes nothing (the patch is idempotent).
    expect(Testing.synth(chart)).toEqual(objects);
  });

  test('systemV: hostIPC on the agent and on business pods, with a synth-time warning naming both', () => {
    const chart = Testing.chart();
    const agent = newAgent(chart, { systemV: true });
    const job = new kplus.Job(chart, 'batch', { containers: [businessContainer()] });
    agent.share(job);
    const objects = Testing.synth(chart);
    expectValid(objects);
    expect(one(objects, 'DaemonSet').spec.template.spec.hostIPC).toBe(true);
    expect(one(objects, 'Job').spec.template.spec.hostIPC).toBe(true);
    const printed = warn.mock.calls.map(call => String(call[0])).join('\n');
    expect(printed).toMatch(/SharedMemoryAgent 'node-agent' shares System V shared memory: it runs with hostIPC/);
    expect(printed).toMatch(/Job 'batch' shares System V shared memory .* hostIPC/);
    expect(printed).toMatch(/SharedMemoryAgent 'node-agent' delivers its domain by hostPath: every namespace that shares with it must run Pod Security 'privileged'/);
    expect(agent.warnings).toHaveLength(3);
    // Each once, though cdk8s validates in several passes; another synthesis prints nothing again.
    expect(warn).toHaveBeenCalledTimes(3);
    Testing.synth(chart);
    expect(warn).toHaveBeenCalledTimes(3);
  });

  test('a workload shared after a synthesis gets its warning at the next one, and only it', () => {
    const chart = Testing.chart();
    const agent = newAgent(chart, { systemV: true });
    agent.share(new kplus.Job(chart, 'first', { containers: [businessContainer()] }));
    Testing.synth(chart);
    warn.mockClear();
    agent.share(new kplus.Job(chart, 'second', { containers: [businessContainer()] }));
    Testing.synth(chart);
    expect(warn.mock.calls.map(call => String(call[0]))).toEqual([expect.stringMatching(/Job 'second' shares System V shared memory/)]);
  });

  test('chosen containers (an init container among them) at another mount path keep their own /dev/shm', () => {
    const chart = Testing.chart();
    const agent = newAgent(chart);
    const pod = new kplus.Pod(chart, 'pod', {
      containers: [businessContainer('app'), businessContainer('other')],
      initContainers: [businessContainer('warmup')],
    });
    agent.share(pod, { containers: ['app', 'warmup'], mountPath: '/run/agent-shm', volumeName: 'agent' });
    const objects = Testing.synth(chart);
    expectValid(objects);
    const spec = one(objects, 'Pod').spec;
    const mount = [{ name: 'agent', mountPath: '/run/agent-shm', mountPropagation: 'HostToContainer' }];
    expect(spec.containers[0].volumeMounts).toEqual(mount);
    expect(spec.containers[1].volumeMounts).toBeUndefined();
    expect(spec.initContainers[0].volumeMounts).toEqual(mount);
    expect(one(objects, 'Pod').metadata.annotations?.[INJECT_ANNOTATION]).toBeUndefined();
  });

  test('a per-pod /dev/shm elsewhere in the pod coexists with the domain at another path', () => {
    const chart = Testing.chart();
    const agent = newAgent(chart);
    const web = new kplus.Deployment(chart, 'web', { containers: [businessContainer()] });
    SharedMemory.addTo(web);
    agent.share(web, { mountPath: '/run/agent-shm' });
    const objects = Testing.synth(chart);
    expectValid(objects);
    const mounts = one(objects, 'Deployment').spec.template.spec.containers[0].volumeMounts;
    expect(mounts.map((m: any) => `${m.name}:${m.mountPath}`).sort()).toEqual([`${DEFAULT_VOLUME_NAME}:${SHM_MOUNT_PATH}`, 'node-agent-shm:/run/agent-shm']);
  });

  test('raw ApiObjects get the same, in Kubernetes spelling (hostIPC), merged with their own selector and tolerations', () => {
    const chart = Testing.chart();
    const agent = newAgent(chart, { systemV: true });
    const raw = new ApiObject(chart, 'raw', {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'data' },
      spec: {
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: {
          metadata: { labels: { app: 'db' } },
          spec: {
            nodeSelector: { disk: 'ssd' },
            tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }],
            containers: [{ name: 'db', image: 'example/db:1', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
            volumes: [{ name: 'data', emptyDir: {} }],
          },
        },
      },
    });
    agent.share(raw);
    const objects = Testing.synth(chart);
    expectValid(objects);
    const template = one(objects, 'StatefulSet').spec.template;
    expect(template.metadata.annotations).toEqual({ [INJECT_ANNOTATION]: 'false' });
    expect(template.spec.hostIPC).toBe(true);
    expect(template.spec.hostIpc).toBeUndefined();
    expect(template.spec.nodeSelector).toEqual({ 'disk': 'ssd', 'kubernetes.io/os': 'linux', 'cdk8s-shm.io/node-agent': 'true' });
    expect(template.spec.tolerations).toHaveLength(2);
    expect(template.spec.containers[0].volumeMounts.map((m: any) => m.mountPath)).toEqual(['/data', SHM_MOUNT_PATH]);
    expect(template.spec.volumes.map((v: any) => v.name)).toEqual(['data', 'node-agent-shm']);
  });

  test('a CronJob', () => {
    const chart = Testing.chart();
    const agent = newAgent(chart);
    const cron = new kplus.CronJob(chart, 'cron', { schedule: Cron.daily(), containers: [businessContainer()] });
    agent.share(cron);
    const objects = Testing.synth(chart);
    expectValid(objects);
    const pod = one(objects, 'CronJob').spec.jobTemplate.spec.template.spec;
    expect(pod.containers[0].volumeMounts[0].name).toBe('node-agent-shm');
    expect(pod.tolerations[0].key).toBe('cdk8s-shm.io/node-agent');
  });
});

describe('SharedMemoryAgent (hostPath delivery): errors', () => {
  test('a workload in a namespace whose Pod Security level forbids hostPath', () => {
    const chart = Testing.chart();
    const agent = newAgent(chart, { systemV: true });
    new kplus.Namespace(chart, 'shop', { metadata: { name: 'shop', labels: { [ENFORCE]: 'baseline' } } });
    const web = new kplus.Deployment(chart, 'web', { metadata: { namespace: 'shop' }, containers: [businessContainer()] });
    agent.share(web);
    expect(synthErrors(chart)).toContain(
      `${WEB} is in namespace 'shop', whose Pod Security level 'baseline' (label pod-security.kubernetes.io/enforce) `
      + "forbids the hostPath volume and hostIPC that SharedMemoryAgent 'node-agent' needs: "
      + "label namespace 'shop' pod-security.kubernetes.io/enforce=privileged (keep pod-security.kubernetes.io/warn and pod-security.kubernetes.io/audit at baseline)");
  });

  test('a chart namespace labeled restricted, and the agent in an existing namespace labeled baseline', () => {
    const app = Testing.app();
    const infra = new Chart(app, 'infra');
    new kplus.Namespace(infra, 'ns', { metadata: { name: 'ml', labels: { [ENFORCE]: 'restricted' } } });
    new kplus.Namespace(infra, 'agents', { metadata: { name: 'agents', labels: { [ENFORCE]: 'baseline' } } });
    const workloads = new Chart(app, 'workloads', { namespace: 'ml' });
    const agent = new SharedMemoryAgent(workloads, 'agent', { containers: [agentContainer], namespace: 'agents', createNamespace: false, delivery: AgentDelivery.hostPath() });
    agent.share(new kplus.StatefulSet(workloads, 'trainer', { containers: [{ ...businessContainer(), portNumber: 8080 }] }));
    const message = synthErrors(workloads);
    expect(message).toMatch(/StatefulSet 'workloads-trainer-c8[0-9a-f]{6}' is in namespace 'ml', whose Pod Security level 'restricted'/);
    expect(message).toContain("the DaemonSet of SharedMemoryAgent 'agent' is in namespace 'agents', whose Pod Security level 'baseline'");
  });

  test('a mount path clash with the per-pod /dev/shm emptyDir: from SharedMemory.addTo(), or already in the pod', () => {
    const chart = Testing.chart();
    const agent = newAgent(chart);
    const web = new kplus.Deployment(chart, 'web', { containers: [businessContainer()] });
    SharedMemory.addTo(web);
    agent.share(web);
    expect(synthErrors(chart)).toContain(`${WEB} gets a per-pod /dev/shm from SharedMemory.addTo() (add_to in Python) and shares SharedMemoryAgent 'node-agent' at /dev/shm`);

    const chart2 = Testing.chart();
    const agent2 = newAgent(chart2);
    const raw = new ApiObject(chart2, 'raw', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        containers: [{ name: 'app', image: 'x', volumeMounts: [{ name: DEFAULT_VOLUME_NAME, mountPath: '/dev/shm/' }] }],
        volumes: [{ name: DEFAULT_VOLUME_NAME, emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }],
      },
    });
    agent2.share(raw);
    expect(synthErrors(chart2)).toContain(
      "container 'app' of Pod 'p' mounts the per-pod /dev/shm emptyDir 'dshm' at /dev/shm, which clashes with SharedMemoryAgent 'node-agent''s shared memory");
  });

  test('SharedMemory.applyToChart() leaves shared pods alone instead of clashing', () => {
    const chart = Testing.chart();
    const agent = newAgent(chart);
    const web = new kplus.Deployment(chart, 'web', { containers: [businessContainer()] });
    const other = new kplus.Deployment(chart, 'other', { containers: [businessContainer()] });
    const all = SharedMemory.applyToChart(chart);
    agent.share(web);
    const objects = Testing.synth(chart);
    expectValid(objects);
    const byName = (n: string) => objects.find(o => o.kind === 'Deployment' && o.metadata.name === ApiObject.of(n === 'web' ? web : other).name);
    expect(byName('web').spec.template.spec.volumes.map((v: any) => v.name)).toEqual(['node-agent-shm']);
    expect(byName('other').spec.template.spec.volumes.map((v: any) => v.name)).toEqual([DEFAULT_VOLUME_NAME]);
    expect(all.decisions.find(d => d.reason === 'opted-out')).toBeDefined();
  });

  test('invalid sizes', () => {
    expect(() => SharedMemoryDomain.tmpfs({ size: Size.gibibytes(0) })).toThrow("SharedMemoryDomain.tmpfs(): 'size' (0) must be at least one byte");
    expect(() => SharedMemoryDomain.tmpfs({ size: Size.mebibytes(NaN) })).toThrow(/SharedMemoryDomain.tmpfs\(\): 'size' \(NaNKi\) is invalid/);
    expect(() => SharedMemoryDomain.tmpfs({ size: Size.kibibytes(0.0001) })).toThrow(/must be at least one byte/);
    expect(SharedMemoryDomain.tmpfs({ size: Size.mebibytes(1.5) }).size).toBe('1536Ki');
  });

  test('host paths that are not memory-backed or would cover the node', () => {
    const chart = () => Testing.chart();
    expect(() => newAgent(chart(), { domain: SharedMemoryDomain.hostShm({ hostPath: '/var/lib/agent' }) }))
      .toThrow(/must be a directory below \/dev\/shm, so that it is memory-backed/);
    expect(() => newAgent(chart(), { domain: SharedMemoryDomain.tmpfs({ size: Size.gibibytes(1), hostPath: '/run' }) }))
      .toThrow(/would mount a tmpfs over a top-level directory of the node/);
    expect(() => newAgent(chart(), { domain: SharedMemoryDomain.tmpfs({ size: Size.gibibytes(1), hostPath: '/var/lib/kubelet/x' }) }))
      .toThrow(/the node's \/var\/lib\/kubelet/);
    expect(() => newAgent(chart(), { domain: SharedMemoryDomain.tmpfs({ size: Size.gibibytes(1), hostPath: 'run/x' }) }))
      .toThrow(/must be an absolute path/);
  });

  test('agent containers: resources required, privileged refused; names and labels checked', () => {
    const chart = Testing.chart();
    // What TypeScript refuses, a JavaScript app (or a cast) can still pass.
    expect(() => newAgent(chart, { containers: [{ name: 'a', image: 'x' } as podspec.AgentContainer] })).toThrow(/agent container 'a' .* has no 'resources'/);
    expect(() => new SharedMemoryAgent(chart, 'b', { containers: [{ ...agentContainer, securityContext: { privileged: true } as podspec.ContainerSecurityContext }] }))
      .toThrow(/agent container 'agent' of SharedMemoryAgent 'b' is privileged/);
    expect(() => new SharedMemoryAgent(chart, 'c', { containers: [] })).toThrow(/'containers' of SharedMemoryAgent 'c' is empty/);
    expect(() => new SharedMemoryAgent(chart, 'Bad_Name', { containers: [agentContainer] })).toThrow(/must be a DNS-1123 label/);
    expect(() => new SharedMemoryAgent(chart, 'd', { containers: [agentContainer], placement: AgentPlacement.labeledNodes({ key: 'bad key' }) }))
      .toThrow(/node label key 'bad key'/);
  });

  test('share() errors: twice, unknown containers, conflicting node selector, a taken volume name, the agent itself', () => {
    const chart = Testing.chart();
    const agent = newAgent(chart);
    const web = new kplus.Deployment(chart, 'web', { containers: [businessContainer()] });
    agent.share(web, { containers: ['app', 'nope'] });
    expect(() => agent.share(web)).toThrow("Deployment 'web' is already shared with SharedMemoryAgent 'node-agent': call share() once, with all options");
    expect(() => agent.share(agent.daemonSet)).toThrow(/cannot share with its own DaemonSet/);
    const raw = new ApiObject(chart, 'raw', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        nodeSelector: { 'cdk8s-shm.io/node-agent': 'false' },
        containers: [{ name: 'app', image: 'x' }],
        volumes: [{ name: 'node-agent-shm', emptyDir: {} }],
      },
    });
    agent.share(raw);
    const message = synthErrors(chart);
    expect(message).toContain(`'containers' names 'nope', which is not a container of ${WEB}`);
    expect(message).toContain("Pod 'p' selects nodes with cdk8s-shm.io/node-agent=false, but SharedMemoryAgent 'node-agent' runs only on nodes with cdk8s-shm.io/node-agent=true");
    expect(message).toContain("Pod 'p' already has a volume named 'node-agent-shm' that is not the hostPath /run/cdk8s-shm/node-agent");
  });
});
