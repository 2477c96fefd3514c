/**
 * The agent's own containers (AgentContainer, src/constructs/pod-spec): every field reaches the DaemonSet as
 * Kubernetes writes it, with the safe defaults; the volumes they mount join the pod once, in the
 * order cdk8s-plus used; and what the API server or the kubelet would refuse fails at synthesis,
 * naming the container and the prop.
 */
import { Chart, Duration, Size, Testing } from 'cdk8s';
import { agentContainer, expectValid, one } from './support';
import { AgentDelivery, podspec, SharedMemoryAgent, SharedMemoryAgentProps } from '../../../src';
import { parseCsiPluginArgs } from '../../../src/contracts/csi-flags';

let warn: jest.SpyInstance;
beforeEach(() => {
  warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
});
afterEach(() => warn.mockRestore());

function newAgent(chart: Chart, props: Partial<SharedMemoryAgentProps> = {}): SharedMemoryAgent {
  return new SharedMemoryAgent(chart, 'node-agent', { containers: [agentContainer], ...props });
}

function agentPod(chart: Chart): any {
  return one(Testing.synth(chart), 'DaemonSet', 'node-agent').spec.template.spec;
}

const DOMAIN_VOLUME = { name: 'node-agent-shm', csi: { driver: 'node-agent.cdk8s-shm.io', volumeAttributes: { domain: 'node-agent' } } };
const DOMAIN_MOUNT = { name: 'node-agent-shm', mountPath: '/dev/shm' };

describe('agent containers: what reaches the DaemonSet', () => {
  test('every field, as Kubernetes writes it; the volumes once each, in mount order', () => {
    const scratch = podspec.PodVolume.fromEmptyDir('scratch', { memory: true, sizeLimit: Size.mebibytes(64) });
    const config = podspec.PodVolume.fromConfigMap('config', 'agent-config', { defaultMode: 0o440 });
    const chart = Testing.chart();
    newAgent(chart, {
      containers: [{
        name: 'agent',
        image: 'registry.example.com/agent:2.0.0',
        imagePullPolicy: podspec.ImagePullPolicy.IF_NOT_PRESENT,
        command: ['/agent'],
        args: ['--serve', '--port=9100'],
        workingDir: '/var/run/agent',
        env: {
          MODE: podspec.EnvValue.fromValue('node'),
          NODE_NAME: podspec.EnvValue.fromFieldRef('spec.nodeName'),
          APP: podspec.EnvValue.fromFieldRef("metadata.labels['app']"),
          GOMEMLIMIT: podspec.EnvValue.fromResource('limits.memory', { divisor: '1Mi' }),
          LEVEL: podspec.EnvValue.fromConfigMap('agent-config', 'level', { optional: true }),
          TOKEN: podspec.EnvValue.fromSecret('agent-token', 'token'),
        },
        ports: [{ number: 9100, name: 'metrics' }, { number: 9101, protocol: podspec.Protocol.UDP, hostPort: 9101 }],
        resources: {
          cpu: { request: podspec.Cpu.millis(50), limit: podspec.Cpu.units(1) },
          memory: { request: Size.mebibytes(128), limit: Size.mebibytes(256) },
        },
        securityContext: {
          runAsUser: 1000,
          runAsGroup: 1000,
          capabilities: { add: ['NET_ADMIN'] },
          seccompProfile: { type: podspec.SeccompProfileType.RUNTIME_DEFAULT },
        },
        volumeMounts: [{ volume: scratch, mountPath: '/tmp' }, { volume: config, mountPath: '/etc/agent', readOnly: true, subPath: 'agent' }],
        livenessProbe: podspec.Probe.fromHttpGet('/healthz', { port: 9100, scheme: podspec.ProbeScheme.HTTPS, period: Duration.seconds(20), failureThreshold: 5 }),
        readinessProbe: podspec.Probe.fromTcpSocket({ port: 9100, initialDelay: Duration.seconds(2), successThreshold: 2 }),
        startupProbe: podspec.Probe.fromCommand(['/agent', 'check'], { timeout: Duration.seconds(3) }),
      }, {
        name: 'exporter',
        image: 'registry.example.com/exporter:1.0.0',
        resources: { memory: { limit: Size.mebibytes(64) } },
        volumeMounts: [
          { volume: scratch, mountPath: '/tmp' },
          { volume: podspec.PodVolume.fromHostPath('kubelet-socket', '/var/lib/kubelet/pod-resources', podspec.HostPathType.DIRECTORY), mountPath: '/pod-resources' },
          { volume: podspec.PodVolume.fromSecret('tls', 'exporter-tls'), mountPath: '/tls' },
        ],
      }],
    });
    const objects = Testing.synth(chart);
    expectValid(objects);
    const pod = one(objects, 'DaemonSet', 'node-agent').spec.template.spec;
    const [agent, exporter] = pod.containers;
    expect(agent).toEqual({
      name: 'agent',
      image: 'registry.example.com/agent:2.0.0',
      imagePullPolicy: 'IfNotPresent',
      command: ['/agent'],
      args: ['--serve', '--port=9100'],
      workingDir: '/var/run/agent',
      env: [
        { name: 'MODE', value: 'node' },
        { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'GOMEMLIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
        { name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'agent-config', key: 'level', optional: true } } },
        { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'agent-token', key: 'token' } } },
      ],
      ports: [{ containerPort: 9100, name: 'metrics' }, { containerPort: 9101, protocol: 'UDP', hostPort: 9101 }],
      resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '1', memory: '256Mi' } },
      securityContext: {
        runAsUser: 1000,
        runAsGroup: 1000,
        runAsNonRoot: true,
        privileged: false,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        // `add` alone keeps every other capability dropped.
        capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      },
      volumeMounts: [
        { name: 'scratch', mountPath: '/tmp' },
        { name: 'config', mountPath: '/etc/agent', readOnly: true, subPath: 'agent' },
        DOMAIN_MOUNT,
      ],
      livenessProbe: { httpGet: { path: '/healthz', port: 9100, scheme: 'HTTPS' }, periodSeconds: 20, failureThreshold: 5 },
      readinessProbe: { tcpSocket: { port: 9100 }, initialDelaySeconds: 2, successThreshold: 2 },
      startupProbe: { exec: { command: ['/agent', 'check'] }, timeoutSeconds: 3 },
    });
    expect(exporter.imagePullPolicy).toBe('Always');
    expect(exporter.securityContext).toEqual({
      runAsNonRoot: true, privileged: false, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] },
    });
    expect(exporter.volumeMounts.map((m: any) => m.name)).toEqual(['scratch', 'kubelet-socket', 'tls', 'node-agent-shm']);
    // As cdk8s-plus ordered them: by container, then by mount; a shared volume once.
    expect(pod.volumes).toEqual([
      { name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
      { name: 'config', configMap: { name: 'agent-config', defaultMode: 0o440 } },
      DOMAIN_VOLUME,
      { name: 'kubelet-socket', hostPath: { path: '/var/lib/kubelet/pod-resources', type: 'Directory' } },
      { name: 'tls', secret: { secretName: 'exporter-tls' } },
    ]);
  });

  test('a container may drop fewer capabilities, run as root, write its root file system, and escalate', () => {
    const chart = Testing.chart();
    newAgent(chart, {
      containers: [{
        ...agentContainer,
        securityContext: {
          runAsNonRoot: false, runAsUser: 0, readOnlyRootFilesystem: false, allowPrivilegeEscalation: true, capabilities: { drop: [] },
        },
      }],
    });
    expect(agentPod(chart).containers[0].securityContext).toEqual({
      runAsUser: 0, runAsNonRoot: false, privileged: false, readOnlyRootFilesystem: false, allowPrivilegeEscalation: true, capabilities: { drop: [] },
    });
  });

  test('a container without a name is \'main\', as in cdk8s-plus', () => {
    const { name: _name, ...unnamed } = agentContainer;
    const chart = Testing.chart();
    newAgent(chart, { containers: [unnamed] });
    const daemonSet = Testing.synth(chart).find(o => o.kind === 'DaemonSet' && o.spec.template.spec.containers.some((c: any) => c.image === agentContainer.image));
    expect(daemonSet.spec.template.spec.containers.map((c: any) => c.name)).toContain('main');
  });

  test('addContainer(): added after the constructor, before synthesis, checked the same way', () => {
    const chart = Testing.chart();
    const agent = newAgent(chart);
    agent.addContainer({ name: 'sidecar', image: 'example/sidecar:1.0', resources: { memory: { limit: Size.mebibytes(32) } } });
    const pod = agentPod(chart);
    expect(pod.containers.map((c: any) => c.name)).toEqual(['agent', 'sidecar']);
    expect(pod.containers[1].volumeMounts).toEqual([DOMAIN_MOUNT]);
    expect(pod.volumes).toEqual([DOMAIN_VOLUME]);
    expect(() => agent.addContainer({ ...agentContainer })).toThrow("agent container 'agent' of SharedMemoryAgent 'node-agent' has the name of a container added before it");
  });

  test('serviceAccountName: the pods run as it, it is the plugin\'s tenant; a token only when asked', () => {
    const chart = Testing.chart();
    newAgent(chart, { serviceAccountName: 'routing-agent' });
    const objects = Testing.synth(chart);
    const pod = one(objects, 'DaemonSet', 'node-agent').spec.template.spec;
    expect(pod.serviceAccountName).toBe('routing-agent');
    expect(pod.automountServiceAccountToken).toBe(false);
    const plugin = one(objects, 'DaemonSet', 'node-agent-csi').spec.template.spec.containers[0];
    expect(parseCsiPluginArgs(plugin.args).tenants).toEqual([{ namespace: 'node-agent', serviceAccount: 'routing-agent' }]);

    const chart2 = Testing.chart();
    newAgent(chart2, { automountServiceAccountToken: true });
    const pod2 = agentPod(chart2);
    expect(pod2.automountServiceAccountToken).toBe(true);
    expect(pod2.serviceAccountName).toBeUndefined();
  });

  test('with the hostPath delivery, the user volumes still come before the domain, which the mounter mounts too', () => {
    const chart = Testing.chart();
    newAgent(chart, {
      delivery: AgentDelivery.hostPath(),
      containers: [{ ...agentContainer, volumeMounts: [{ volume: podspec.PodVolume.fromEmptyDir('tmp'), mountPath: '/tmp' }] }],
    });
    const objects = Testing.synth(chart);
    expectValid(objects);
    const pod = one(objects, 'DaemonSet', 'node-agent').spec.template.spec;
    expect(pod.volumes).toEqual([
      { name: 'tmp', emptyDir: {} },
      { name: 'node-agent-shm', hostPath: { path: '/run/cdk8s-shm/node-agent', type: 'DirectoryOrCreate' } },
    ]);
    expect(pod.containers[0].volumeMounts[1]).toEqual({ name: 'node-agent-shm', mountPath: '/dev/shm', mountPropagation: 'HostToContainer' });
  });
});

describe('agent containers: refused at synthesis, naming the container and the fix', () => {
  const AGENT = "agent container 'agent' of SharedMemoryAgent 'node-agent'";
  const tmp = podspec.PodVolume.fromEmptyDir('tmp');

  test.each<[string, Partial<podspec.AgentContainer>, string]>([
    ['an invalid name', { name: 'Agent_1' }, 'the container name "Agent_1" in SharedMemoryAgent \'node-agent\' must be a DNS-1123 label'],
    ['the mounter\'s name', { name: 'mount-tmpfs' }, "agent container 'mount-tmpfs' of SharedMemoryAgent 'node-agent' takes a name the agent uses for its own container"],
    ['a malformed image', { image: 'Example/Agent' }, "'containers[agent].image' (\"Example/Agent\") of SharedMemoryAgent 'node-agent' is not an image reference"],
    ['root while non-root is required', { securityContext: { runAsUser: 0 } },
      `'securityContext.runAsUser' (security_context.run_as_user in Python) (0) of ${AGENT} is root, which 'runAsNonRoot' (run_as_non_root in Python) (true by default) refuses: set it to false to run as root`],
    ['a negative UID', { securityContext: { runAsGroup: -1 } }, `'securityContext.runAsGroup' (security_context.run_as_group in Python) (-1) of ${AGENT} must be a whole number from 0 to 2147483647`],
    ['a capability that is no name', { securityContext: { capabilities: { add: ['net admin'] } } },
      `'securityContext.capabilities.add' (security_context.capabilities.add in Python) (["net admin"]) of ${AGENT} must list capability names such as NET_ADMIN or ALL`],
    ['a Localhost profile without its file', { securityContext: { seccompProfile: { type: podspec.SeccompProfileType.LOCALHOST } } },
      "'localhostProfile' (localhost_profile in Python) is given exactly when the type is SeccompProfileType.LOCALHOST"],
    ['a request above the limit', { resources: { memory: { request: Size.mebibytes(512), limit: Size.mebibytes(256) } } },
      `'resources.memory.request' (512Mi) of ${AGENT} exceeds its limit (256Mi)`],
    ['a port out of range', { ports: [{ number: 0 }] }, `'ports[0]' ({"number":0}) of ${AGENT}: 'number' must be a port from 1 to 65535`],
    ['a port name too long', { ports: [{ number: 80, name: 'a-very-long-port-name' }] }, "'name' must be at most 15 lower-case letters"],
    ['a port twice', { ports: [{ number: 80 }, { number: 80, protocol: podspec.Protocol.TCP }] }, 'repeats 80/TCP: every port name and port/protocol appears once in a container'],
    ['a mount over the domain', { volumeMounts: [{ volume: tmp, mountPath: '/dev/shm/' }] },
      `'volumeMounts[0]' (volume_mounts[0] in Python) of ${AGENT} mounts 'tmp' at /dev/shm/, where 'node-agent-shm' is mounted (the shared-memory domain): choose another 'mountPath' (mount_path in Python)`],
    ['two mounts at one path', { volumeMounts: [{ volume: tmp, mountPath: '/tmp' }, { volume: podspec.PodVolume.fromEmptyDir('other'), mountPath: '/tmp' }] },
      "mounts 'other' at /tmp, where 'tmp' is mounted: choose another 'mountPath' (mount_path in Python)"],
    ['a relative mount path', { volumeMounts: [{ volume: tmp, mountPath: 'tmp' }] }, "has 'mountPath' (mount_path in Python) \"tmp\": give an absolute path without ':'"],
    ['a subPath leaving the volume', { volumeMounts: [{ volume: tmp, mountPath: '/tmp', subPath: '../etc' }] }, "has 'subPath' (sub_path in Python) \"../etc\": give a relative path without '..'"],
    ['a liveness probe that needs two successes', { livenessProbe: podspec.Probe.fromTcpSocket({ port: 80, successThreshold: 2 }) },
      `'livenessProbe' (liveness_probe in Python) of ${AGENT} has 'successThreshold' (success_threshold in Python) 2: it must be 1 for liveness and startup probes`],
    ['an env value that is not an EnvValue', { env: { MODE: 'node' as any } }, `the environment variable MODE of ${AGENT} needs an EnvValue, e.g. EnvValue.fromValue('...')`],
    ['an env name with =', { env: { 'A=B': podspec.EnvValue.fromValue('x') } }, 'the environment variable name "A=B"'],
    ['a relative working directory', { workingDir: 'work' }, `'workingDir' (working_dir in Python) ("work") of ${AGENT} must be an absolute path`],
  ])('%s', (_label, change, message) => {
    expect(() => newAgent(Testing.chart(), { containers: [{ ...agentContainer, ...change } as podspec.AgentContainer] })).toThrow(message);
  });

  test('two containers of one name; two volumes of one name; a volume named like the domain', () => {
    expect(() => newAgent(Testing.chart(), { containers: [agentContainer, agentContainer] }))
      .toThrow("agent container 'agent' of SharedMemoryAgent 'node-agent' has the name of a container added before it: give each container its own 'name'");
    const { name: _name, ...unnamed } = agentContainer;
    expect(() => newAgent(Testing.chart(), { containers: [unnamed, unnamed] }))
      .toThrow("agent container 'main' of SharedMemoryAgent 'node-agent' has the name of a container added before it (a container without 'name' is 'main', as in cdk8s-plus): give each container its own 'name'");
    const twice = [
      { ...agentContainer, volumeMounts: [{ volume: podspec.PodVolume.fromEmptyDir('tmp'), mountPath: '/tmp' }] },
      { ...agentContainer, name: 'other', volumeMounts: [{ volume: podspec.PodVolume.fromConfigMap('tmp', 'cm'), mountPath: '/tmp' }] },
    ];
    expect(() => newAgent(Testing.chart(), { containers: twice }))
      .toThrow("two volumes of SharedMemoryAgent 'node-agent' are named 'tmp': give each PodVolume a name of its own");
    expect(() => newAgent(Testing.chart(), { containers: [{ ...agentContainer, volumeMounts: [{ volume: podspec.PodVolume.fromEmptyDir('node-agent-shm'), mountPath: '/x' }] }] }))
      .toThrow("two volumes of SharedMemoryAgent 'node-agent' are named 'node-agent-shm' (the agent uses that name itself)");
  });

  test('a ServiceAccount name that is none', () => {
    expect(() => newAgent(Testing.chart(), { serviceAccountName: 'Routing Agent' }))
      .toThrow("'serviceAccountName' (service_account_name in Python) (\"Routing Agent\") of SharedMemoryAgent 'node-agent' must be the name of a ServiceAccount (a DNS-1123 subdomain)");
  });

  test.each<[string, () => unknown, string]>([
    ['a field the kubelet does not expose', () => podspec.EnvValue.fromFieldRef('spec.containers'), 'EnvValue.fromFieldRef("spec.containers"): give a field the kubelet exposes'],
    ['a resource that is none', () => podspec.EnvValue.fromResource('limits.gpu'), 'EnvValue.fromResource("limits.gpu"): give one of limits.cpu'],
    ['a divisor that is no quantity', () => podspec.EnvValue.fromResource('limits.memory', { divisor: 'MiB' }), "'divisor' (\"MiB\") of EnvValue.fromResource() (from_resource in Python) is not a quantity"],
    ['a Secret name that is none', () => podspec.EnvValue.fromSecret('My Secret', 'k'), 'EnvValue.fromSecret("My Secret", "k"): give the object\'s name'],
    ['a probe path without /', () => podspec.Probe.fromHttpGet('healthz', { port: 80 }), 'Probe.fromHttpGet("healthz"): give a path starting with /'],
    ['a probe port out of range', () => podspec.Probe.fromTcpSocket({ port: 70000 }), "Probe.fromTcpSocket() (from_tcp_socket in Python): 'port' (70000) must be a port from 1 to 65535"],
    ['an empty probe command', () => podspec.Probe.fromCommand([]), 'Probe.fromCommand() (from_command in Python): give the command as a non-empty list of strings'],
    ['a period of half a second', () => podspec.Probe.fromTcpSocket({ port: 80, period: Duration.millis(500) }), "'period' (0.5s) of a Probe must be a whole number of seconds, at least 1"],
    ['a volume name that is none', () => podspec.PodVolume.fromEmptyDir('Tmp'), 'the volume name "Tmp" of a PodVolume must be a DNS-1123 label'],
    ['a sizeLimit of nothing', () => podspec.PodVolume.fromEmptyDir('tmp', { sizeLimit: Size.mebibytes(0) }), "PodVolume.fromEmptyDir('tmp'): 'sizeLimit' (size_limit in Python) (0) must be at least one byte"],
    ['a relative host path', () => podspec.PodVolume.fromHostPath('h', 'var/run'), "PodVolume.fromHostPath('h', \"var/run\"): give an absolute path without '..'"],
    ['a file mode out of range', () => podspec.PodVolume.fromSecret('s', 'secret', { defaultMode: 0o1777 }), "'defaultMode' (default_mode in Python) (1023) of a PodVolume must be file permission bits from 0 to 0o777"],
  ])('%s', (_label, make, message) => {
    expect(make).toThrow(message);
  });
});
