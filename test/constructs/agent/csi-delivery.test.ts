/**
 * SharedMemoryAgent with the CSI delivery (the default): the CSIDriver object, the node plugin
 * DaemonSet with its registrar, the ConfigMap that carries the plugin, the agent's and the business
 * pods' inline csi volumes, the tenants the plugin admits, and the Pod Security levels that then
 * suffice. The objects are checked field by field, against the Kubernetes schema, against the API
 * server's pod rules, and against the Pod Security checks of test/support/pod-security.ts.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { ApiObject, Chart, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { agentContainer, expectValid, one, synthErrors } from './support';
import { AgentDelivery, AgentPlacement, SharedMemoryAgent, SharedMemoryAgentProps, SharedMemoryDomain } from '../../../src';
import { CsiPluginOptions, parseCsiPluginArgs } from '../../../src/contracts/csi-flags';
import { INJECT_ANNOTATION, SHM_MOUNT_PATH } from '../../../src/core';
import { baselineViolations, restrictedViolations } from '../../support/pod-security';

const PLUGIN_BUNDLE = path.join(__dirname, '..', '..', '..', 'lib', 'bundle', 'csi-plugin.js');
const RESTRICTED = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/warn': 'restricted',
  'pod-security.kubernetes.io/audit': 'restricted',
};

/** A business container that passes Pod Security `restricted`. */
function restrictedContainer(name = 'app'): kplus.ContainerProps {
  return {
    name,
    image: `example/${name}:1.0`,
    resources: { memory: { limit: Size.gibibytes(1) } },
    securityContext: { capabilities: { drop: [kplus.Capability.ALL] }, seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT } },
  };
}

function newAgent(chart: Chart, props: Partial<SharedMemoryAgentProps> = {}): SharedMemoryAgent {
  return new SharedMemoryAgent(chart, 'node-agent', { containers: [agentContainer], ...props });
}

function all(objects: any[], kind: string): any[] {
  return objects.filter(o => o.kind === kind);
}

function pluginOf(objects: any[]): any {
  return one(objects, 'DaemonSet', 'node-agent-csi');
}

/** What the plugin will run with: its container's args, parsed by the plugin's own parser. */
function pluginOptions(objects: any[]): CsiPluginOptions {
  const container = pluginOf(objects).spec.template.spec.containers.find((c: any) => c.name === 'csi-plugin');
  return parseCsiPluginArgs(container.args);
}

let warn: jest.SpyInstance;
beforeEach(() => {
  warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
});
afterEach(() => warn.mockRestore());

describe('the CSI delivery: objects', () => {
  test('a CSIDriver for ephemeral inline volumes with pod info, which never chowns the domain', () => {
    const chart = Testing.chart();
    const agent = newAgent(chart);
    const objects = Testing.synth(chart);
    expectValid(objects);
    expect(agent.delivery.usesCsi).toBe(true);
    expect(agent.csiDriverName).toBe('node-agent.cdk8s-shm.io');
    const driver = one(objects, 'CSIDriver');
    expect(driver.apiVersion).toBe('storage.k8s.io/v1');
    expect(driver.metadata.name).toBe('node-agent.cdk8s-shm.io');
    expect(driver.metadata.namespace).toBeUndefined();
    expect(driver.spec).toEqual({
      attachRequired: false,
      podInfoOnMount: true,
      volumeLifecycleModes: ['Ephemeral'],
      fsGroupPolicy: 'None',
      requiresRepublish: false,
      storageCapacity: false,
    });
    // Namespace first, then the quota its DaemonSets' priority class needs, the plugin's objects, and
    // the agent DaemonSet that mounts through it.
    const order = objects.map(o => `${o.kind}/${o.metadata.name}`);
    expect(order).toEqual([
      'Namespace/node-agent', 'ResourceQuota/node-agent-critical-pods', 'ConfigMap/node-agent-csi', 'CSIDriver/node-agent.cdk8s-shm.io', 'DaemonSet/node-agent-csi', 'DaemonSet/node-agent',
    ]);
  });

  test('the ConfigMap carries the bundled plugin, and the pods roll when it changes', () => {
    const chart = Testing.chart();
    newAgent(chart);
    const objects = Testing.synth(chart);
    const bundle = fs.readFileSync(PLUGIN_BUNDLE, 'utf8');
    const configMap = one(objects, 'ConfigMap');
    expect(configMap.metadata).toMatchObject({ name: 'node-agent-csi', namespace: 'node-agent' });
    expect(configMap.data).toEqual({ 'csi-plugin.js': bundle });
    expect(Buffer.byteLength(JSON.stringify(configMap))).toBeLessThan(1024 * 1024);
    const annotations = pluginOf(objects).spec.template.metadata.annotations;
    expect(annotations['cdk8s-shm.io/plugin-checksum']).toBe(crypto.createHash('sha256').update(bundle).digest('hex'));
    expect(annotations[INJECT_ANNOTATION]).toBe('false');
  });

  test('the plugin DaemonSet: one privileged container on pinned node, which registers itself, on the agent nodes only', () => {
    const chart = Testing.chart();
    newAgent(chart, { domain: SharedMemoryDomain.tmpfs({ size: Size.mebibytes(256) }) });
    const objects = Testing.synth(chart);
    const plugin = pluginOf(objects);
    expect(plugin.metadata).toMatchObject({ name: 'node-agent-csi', namespace: 'node-agent' });
    expect(plugin.spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } });
    expect(plugin.spec.selector.matchLabels).toEqual(plugin.spec.template.metadata.labels);
    const pod = plugin.spec.template.spec;
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.hostIPC).toBeUndefined();
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', 'cdk8s-shm.io/node-agent': 'true' });
    expect(pod.tolerations).toEqual([{ key: 'cdk8s-shm.io/node-agent', operator: 'Equal', value: 'true', effect: 'NoSchedule' }]);
    // No csi-node-driver-registrar: the plugin serves the kubelet's registration API itself.
    expect(pod.containers.map((c: any) => c.name)).toEqual(['csi-plugin']);

    const [csiPlugin] = pod.containers;
    expect(csiPlugin.image).toBe('docker.io/library/node:24.19.0-alpine3.24');
    expect(csiPlugin.command).toEqual(['node', '/opt/cdk8s-shm/csi-plugin.js']);
    expect(csiPlugin.env).toEqual([
      { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      { name: 'NODE_OPTIONS', value: '--max-old-space-size=48 --max-semi-space-size=1' },
    ]);
    expect(csiPlugin.securityContext).toEqual({ privileged: true, runAsUser: 0, runAsNonRoot: false, readOnlyRootFilesystem: true });
    expect(csiPlugin.resources).toEqual({ requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '128Mi' } });
    expect(csiPlugin.volumeMounts).toEqual([
      { name: 'plugin-dir', mountPath: '/csi' },
      { name: 'registration-dir', mountPath: '/var/lib/kubelet/plugins_registry' },
      { name: 'pods-dir', mountPath: '/var/lib/kubelet/pods', mountPropagation: 'Bidirectional' },
      { name: 'domain', mountPath: '/shm-domain', mountPropagation: 'Bidirectional' },
      { name: 'bundle', mountPath: '/opt/cdk8s-shm', readOnly: true },
      { name: 'staging', mountPath: '/csi-staging' },
    ]);

    expect(pod.volumes).toEqual([
      { name: 'plugin-dir', hostPath: { path: '/var/lib/kubelet/plugins/node-agent.cdk8s-shm.io', type: 'DirectoryOrCreate' } },
      { name: 'registration-dir', hostPath: { path: '/var/lib/kubelet/plugins_registry', type: 'Directory' } },
      { name: 'pods-dir', hostPath: { path: '/var/lib/kubelet/pods', type: 'Directory' } },
      { name: 'domain', hostPath: { path: '/run/cdk8s-shm/node-agent', type: 'DirectoryOrCreate' } },
      { name: 'bundle', configMap: { name: 'node-agent-csi' } },
      { name: 'staging', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
    ]);
    // Only the plugin container is privileged in the whole agent.
    const privileged = all(objects, 'DaemonSet').flatMap(ds => [...(ds.spec.template.spec.initContainers ?? []), ...ds.spec.template.spec.containers])
      .filter((c: any) => c.securityContext?.privileged).map((c: any) => c.name);
    expect(privileged).toEqual(['csi-plugin']);
  });

  test('the plugin runs with flags its own parser accepts: the driver, the sized tmpfs, the tenants, the kubelet\'s directories', () => {
    const chart = Testing.chart();
    newAgent(chart, { domain: SharedMemoryDomain.tmpfs({ size: Size.mebibytes(256) }) });
    const options = pluginOptions(Testing.synth(chart));
    expect(options).toEqual({
      endpoint: '/csi/csi.sock',
      driverName: 'node-agent.cdk8s-shm.io',
      nodeId: '$(NODE_NAME)', // the kubelet expands it from the env
      domainName: 'node-agent',
      domainKind: 'tmpfs',
      domainPath: '/shm-domain',
      domainSizeBytes: 256n * 2n ** 20n,
      tenants: [{ namespace: 'node-agent', serviceAccount: 'default' }],
      targetRoot: '/var/lib/kubelet/pods',
      stagingPath: '/csi-staging',
      // Registered with the kubelet by the plugin itself: the socket in its plugins_registry, the
      // CSI socket as the kubelet sees it on the node.
      registrationSocket: '/var/lib/kubelet/plugins_registry/node-agent.cdk8s-shm.io-reg.sock',
      kubeletEndpoint: '/var/lib/kubelet/plugins/node-agent.cdk8s-shm.io/csi.sock',
      logLevel: 'info',
    });
  });

  test('the agent pods mount the domain like any tenant: an inline csi volume, no hostPath, no mounter, nothing privileged', () => {
    const chart = Testing.chart();
    newAgent(chart);
    const objects = Testing.synth(chart);
    const pod = one(objects, 'DaemonSet', 'node-agent').spec.template.spec;
    expect(pod.initContainers).toBeUndefined();
    expect(pod.volumes).toEqual([{ name: 'node-agent-shm', csi: { driver: 'node-agent.cdk8s-shm.io', volumeAttributes: { domain: 'node-agent' } } }]);
    expect(pod.containers[0].volumeMounts).toEqual([{ name: 'node-agent-shm', mountPath: SHM_MOUNT_PATH }]);
    expect(pod.containers[0].securityContext).toMatchObject({ privileged: false, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(baselineViolations(pod)).toEqual([]);
  });

  test('the agent namespace is privileged for the plugin, warning and auditing at baseline', () => {
    const chart = Testing.chart();
    newAgent(chart);
    expect(one(Testing.synth(chart), 'Namespace').metadata.labels).toEqual({
      'pod-security.kubernetes.io/enforce': 'privileged',
      'pod-security.kubernetes.io/warn': 'baseline',
      'pod-security.kubernetes.io/audit': 'baseline',
    });
    // The plugin pod is what needs it: baseline refuses it.
    const plugin = pluginOf(Testing.synth(chart)).spec.template.spec;
    expect(baselineViolations(plugin)).toEqual(expect.arrayContaining(["hostPath volume 'pods-dir'", "container 'csi-plugin' privileged"]));
  });

  test('hostShm domain: the plugin opens a directory of the node /dev/shm, without Bidirectional propagation or a size', () => {
    const chart = Testing.chart();
    newAgent(chart, { domain: SharedMemoryDomain.hostShm() });
    const objects = Testing.synth(chart);
    expectValid(objects);
    const options = pluginOptions(objects);
    expect(options.domainKind).toBe('host-shm');
    expect(options.domainSizeBytes).toBeUndefined();
    const pod = pluginOf(objects).spec.template.spec;
    expect(pod.containers[0].volumeMounts.find((m: any) => m.name === 'domain')).toEqual({ name: 'domain', mountPath: '/shm-domain' });
    expect(pod.volumes.find((v: any) => v.name === 'domain').hostPath).toEqual({ path: '/dev/shm/cdk8s-shm-node-agent', type: 'DirectoryOrCreate' });
  });

  test('allNodes(): the plugin tolerates every taint; a label without taint: no tolerations', () => {
    const chart = Testing.chart();
    newAgent(chart, { placement: AgentPlacement.allNodes() });
    const everywhere = pluginOf(Testing.synth(chart)).spec.template.spec;
    expect(everywhere.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(everywhere.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });

    const chart2 = Testing.chart();
    newAgent(chart2, { placement: AgentPlacement.labeledNodes({ key: 'pool', value: 'agents', tolerateTaint: false }) });
    const labeled = pluginOf(Testing.synth(chart2)).spec.template.spec;
    expect(labeled.tolerations).toBeUndefined();
    expect(labeled.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', 'pool': 'agents' });
  });

  test('options: driver name, images, kubelet directory, priority class', () => {
    const chart = Testing.chart();
    const agent = newAgent(chart, {
      priorityClassName: 'platform-agents',
      delivery: AgentDelivery.csi({
        driverName: 'shm.platform.example.com',
        nodeImage: 'registry.example.com/node@sha256:0123',
        kubeletDir: '/var/lib/k0s/kubelet/',
      }),
    });
    const objects = Testing.synth(chart);
    expectValid(objects);
    expect(agent.csiDriverName).toBe('shm.platform.example.com');
    expect(one(objects, 'CSIDriver').metadata.name).toBe('shm.platform.example.com');
    const pod = pluginOf(objects).spec.template.spec;
    expect(pod.priorityClassName).toBe('platform-agents');
    expect(pod.containers.map((c: any) => c.image)).toEqual(['registry.example.com/node@sha256:0123']);
    expect(pluginOptions(objects)).toMatchObject({
      registrationSocket: '/var/lib/k0s/kubelet/plugins_registry/shm.platform.example.com-reg.sock',
      kubeletEndpoint: '/var/lib/k0s/kubelet/plugins/shm.platform.example.com/csi.sock',
    });
    expect(pod.containers[0].volumeMounts[1]).toEqual({ name: 'registration-dir', mountPath: '/var/lib/k0s/kubelet/plugins_registry' });
    expect(pod.volumes.filter((v: any) => v.hostPath).map((v: any) => v.hostPath.path)).toEqual([
      '/var/lib/k0s/kubelet/plugins/shm.platform.example.com', '/var/lib/k0s/kubelet/plugins_registry', '/var/lib/k0s/kubelet/pods', '/run/cdk8s-shm/node-agent',
    ]);
    expect(pluginOptions(objects).targetRoot).toBe('/var/lib/k0s/kubelet/pods');
    expect(one(objects, 'DaemonSet', 'node-agent').spec.template.spec.volumes[0].csi.driver).toBe('shm.platform.example.com');
  });
});

describe('the CSI delivery: share()', () => {
  test('a workload in a restricted namespace gets an inline csi volume at /dev/shm and becomes a tenant', () => {
    const chart = Testing.chart();
    const agent = newAgent(chart);
    new kplus.Namespace(chart, 'shop', { metadata: { name: 'shop', labels: RESTRICTED } });
    const sa = new kplus.ServiceAccount(chart, 'web-sa', { metadata: { name: 'web', namespace: 'shop' } });
    const web = new kplus.Deployment(chart, 'web', {
      metadata: { namespace: 'shop' },
      serviceAccount: sa,
      containers: [restrictedContainer('app'), restrictedContainer('proxy')],
    });
    agent.share(web);
    web.addContainer(restrictedContainer('late')); // added after share(): covered too
    const objects = Testing.synth(chart);
    expectValid(objects);

    const template = one(objects, 'Deployment').spec.template;
    expect(template.metadata.annotations[INJECT_ANNOTATION]).toBe('false');
    const pod = template.spec;
    expect(pod.volumes).toEqual([{ name: 'node-agent-shm', csi: { driver: 'node-agent.cdk8s-shm.io', volumeAttributes: { domain: 'node-agent' } } }]);
    for (const c of pod.containers) expect(c.volumeMounts).toEqual([{ name: 'node-agent-shm', mountPath: SHM_MOUNT_PATH }]);
    expect(pod.containers.map((c: any) => c.name)).toEqual(['app', 'proxy', 'late']);
    expect(pod.hostIPC).toBeUndefined();
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', 'cdk8s-shm.io/node-agent': 'true' });
    expect(pod.tolerations).toEqual([{ key: 'cdk8s-shm.io/node-agent', operator: 'Equal', value: 'true', effect: 'NoSchedule' }]);
    // What Pod Security `restricted` checks, it passes.
    expect(restrictedViolations(pod)).toEqual([]);
    expect(pluginOptions(objects).tenants).toEqual([{ namespace: 'node-agent', serviceAccount: 'default' }, { namespace: 'shop', serviceAccount: 'web' }]);
    // Synthesizing again changes nothing.
    expect(Testing.synth(chart)).toEqual(objects);
  });

  test('tenants: explicit ones (namespace-wide covers its ServiceAccounts), shared workloads of every kind, raw objects', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'apps', { namespace: 'ml' });
    const agent = new SharedMemoryAgent(chart, 'node-agent', {
      containers: [agentContainer],
      namespace: 'agents',
      delivery: AgentDelivery.csi({ tenants: [{ namespace: 'batch' }, { namespace: 'tools', serviceAccount: 'ci' }] }),
    });
    agent.share(new kplus.StatefulSet(chart, 'trainer', { containers: [{ ...restrictedContainer(), portNumber: 8080 }] }));
    agent.share(new kplus.Job(chart, 'job', { metadata: { namespace: 'batch' }, containers: [restrictedContainer()] }));
    agent.share(new ApiObject(chart, 'raw', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'tools' },
      spec: { serviceAccountName: 'builder', containers: [{ name: 'app', image: 'x' }] },
    }));
    const objects = Testing.synth(chart);
    expectValid(objects);
    expect(pluginOptions(objects).tenants).toEqual([
      { namespace: 'agents', serviceAccount: 'default' },
      { namespace: 'batch' },
      { namespace: 'ml', serviceAccount: 'default' },
      { namespace: 'tools', serviceAccount: 'builder' },
      { namespace: 'tools', serviceAccount: 'ci' },
    ]);
    const raw = objects.find(o => o.kind === 'Pod');
    expect(raw.spec.volumes).toEqual([{ name: 'node-agent-shm', csi: { driver: 'node-agent.cdk8s-shm.io', volumeAttributes: { domain: 'node-agent' } } }]);
    expect(raw.spec.containers[0].volumeMounts).toEqual([{ name: 'node-agent-shm', mountPath: SHM_MOUNT_PATH }]);
  });

  test('systemV: hostIPC on both sides; a restricted namespace is refused for hostIPC alone, with the way out', () => {
    const chart = Testing.chart();
    const agent = newAgent(chart, { systemV: true });
    new kplus.Namespace(chart, 'shop', { metadata: { name: 'shop', labels: RESTRICTED } });
    const web = new kplus.Deployment(chart, 'web', { metadata: { namespace: 'shop' }, containers: [restrictedContainer()] });
    agent.share(web);
    expect(synthErrors(chart)).toContain(
      `Deployment '${ApiObject.of(web).name}' is in namespace 'shop', whose Pod Security level 'restricted' (label pod-security.kubernetes.io/enforce) `
      + "forbids hostIPC that SharedMemoryAgent 'node-agent' needs: label namespace 'shop' pod-security.kubernetes.io/enforce=privileged "
      + '(keep pod-security.kubernetes.io/warn and pod-security.kubernetes.io/audit at baseline), '
      + "or turn 'systemV' (system_v in Python) off (POSIX shared memory through the CSI volume needs no change to the namespace)");

    const chart2 = Testing.chart();
    const agent2 = newAgent(chart2, { systemV: true });
    const job = new kplus.Job(chart2, 'batch', { containers: [restrictedContainer()] });
    agent2.share(job);
    const objects = Testing.synth(chart2);
    expect(one(objects, 'DaemonSet', 'node-agent').spec.template.spec.hostIPC).toBe(true);
    expect(one(objects, 'Job').spec.template.spec.hostIPC).toBe(true);
    expect(pluginOf(objects).spec.template.spec.hostIPC).toBeUndefined(); // the plugin needs no IPC namespace
  });

  test('without systemV, baseline and restricted namespaces need nothing; the agent namespace brought at baseline is refused', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'apps');
    new kplus.Namespace(chart, 'agents', { metadata: { name: 'agents', labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } } });
    new kplus.Namespace(chart, 'base', { metadata: { name: 'base', labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } } });
    const agent = new SharedMemoryAgent(chart, 'agent', { containers: [agentContainer], namespace: 'agents', createNamespace: false });
    agent.share(new kplus.Deployment(chart, 'web', { metadata: { namespace: 'base' }, containers: [restrictedContainer()] }));
    const message = synthErrors(chart);
    expect(message).toContain("the DaemonSet of SharedMemoryAgent 'agent' is in namespace 'agents', whose Pod Security level 'baseline' "
      + "(label pod-security.kubernetes.io/enforce) forbids the privileged CSI node plugin that SharedMemoryAgent 'agent' needs");
    expect(message).not.toContain("namespace 'base'");
  });

  test('a volume name taken by another csi volume is refused', () => {
    const chart = Testing.chart();
    const agent = newAgent(chart);
    agent.share(new ApiObject(chart, 'raw', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        containers: [{ name: 'app', image: 'x' }],
        volumes: [{ name: 'node-agent-shm', csi: { driver: 'node-agent.cdk8s-shm.io', volumeAttributes: { domain: 'other' } } }],
      },
    }));
    expect(synthErrors(chart)).toContain("Pod 'p' already has a volume named 'node-agent-shm' that is not "
      + "the CSI volume (driver node-agent.cdk8s-shm.io, domain 'node-agent') of SharedMemoryAgent 'node-agent'");
  });
});

describe('the CSI delivery: errors', () => {
  test('a driver name the API server would refuse, and a default one that grows too long', () => {
    const chart = Testing.chart();
    expect(() => newAgent(chart, { delivery: AgentDelivery.csi({ driverName: 'Not_A/Name' }) }))
      .toThrow("the CSI driver name 'Not_A/Name' of SharedMemoryAgent 'node-agent' must be at most 63 characters forming a DNS-1123 subdomain: "
        + "set 'driverName' (driver_name in Python) in AgentDelivery.csi()");
    expect(() => new SharedMemoryAgent(chart, 'long', { name: 'a'.repeat(52), containers: [agentContainer] }))
      .toThrow(/the CSI driver name 'a{52}\.cdk8s-shm\.io' .* set 'driverName' \(driver_name in Python\)/);
  });

  test('tenants that are not a namespace and a ServiceAccount', () => {
    const chart = Testing.chart();
    expect(() => newAgent(chart, { delivery: AgentDelivery.csi({ tenants: [{ namespace: 'Shop' }] }) }))
      .toThrow('\'tenants\' of AgentDelivery.csi() in SharedMemoryAgent \'node-agent\' has {"namespace":"Shop"}: give a namespace (a DNS-1123 label)');
    expect(() => new SharedMemoryAgent(chart, 'b', { containers: [agentContainer], delivery: AgentDelivery.csi({ tenants: [{ namespace: 'shop', serviceAccount: 'a/b' }] }) }))
      .toThrow(/'tenants' of AgentDelivery.csi\(\) in SharedMemoryAgent 'b' has/);
  });

  test('a kubelet directory that is not absolute', () => {
    expect(() => newAgent(Testing.chart(), { delivery: AgentDelivery.csi({ kubeletDir: 'var/lib/kubelet' }) }))
      .toThrow("'kubeletDir' (kubelet_dir in Python) (\"var/lib/kubelet\") of AgentDelivery.csi() of SharedMemoryAgent 'node-agent' must be an absolute path");
  });
});

describe('examples/node-agent.ts', () => {
  test('deploys an agent and connects a business Deployment of a restricted namespace in a few lines', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeAgentExample = require('../../../examples/node-agent').default;
    const chart: Chart = nodeAgentExample(Testing.app());
    const objects = Testing.synth(chart);
    expectValid(objects);
    expect(objects.map(o => o.kind)).toEqual(['Namespace', 'ResourceQuota', 'ConfigMap', 'CSIDriver', 'DaemonSet', 'DaemonSet', 'Namespace', 'Deployment']);
    expect(one(objects, 'Namespace', 'shop').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const web = one(objects, 'Deployment').spec.template.spec;
    expect(web.containers[0].volumeMounts).toEqual([{ name: 'routing-agent-shm', mountPath: SHM_MOUNT_PATH }]);
    expect(web.volumes[0].csi.driver).toBe('routing-agent.cdk8s-shm.io');
    expect(web.nodeSelector['cdk8s-shm.io/routing-agent']).toBe('true');
    expect(restrictedViolations(web)).toEqual([]);
    const options = parseCsiPluginArgs(one(objects, 'DaemonSet', 'routing-agent-csi').spec.template.spec.containers[0].args);
    expect(options.domainSizeBytes).toBe(512n * 2n ** 20n);
    expect(options.tenants).toEqual([{ namespace: 'routing-agent', serviceAccount: 'default' }, { namespace: 'shop', serviceAccount: 'default' }]);
  });
});
