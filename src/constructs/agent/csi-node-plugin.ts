/**
 * The deployment of the agent's CSI node plugin (src/programs/csi): the `CSIDriver` object, a ConfigMap
 * holding the bundled plugin, and the DaemonSet that runs it, in the agent's namespace and on the
 * agent's nodes. The plugin registers itself with the kubelet (src/programs/csi/registration.ts): no
 * `csi-node-driver-registrar` sidecar, so one image fewer to pull and trust on every node.
 *
 * The plugin container is privileged: it mounts the tmpfs domain on the node (a Bidirectional
 * hostPath mount of the domain directory) and bind-mounts it into pod volumes under the kubelet's
 * pods directory (Bidirectional too, so the kubelet and the pod see the bind). It has no API
 * access: the kubelet hands it the pod's namespace and ServiceAccount.
 */
import { ApiObject, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { TolerationJson } from './share-plan';
import {
  DEFAULT_DOMAIN_PATH, DEFAULT_ENDPOINT, DEFAULT_STAGING_PATH, DomainKind, Tenant, csiPluginArgs, registrationSocketName,
} from '../../contracts/csi-flags';
import { INJECT_ANNOTATION, PLUGIN_CHECKSUM_ANNOTATION } from '../../core';
import { BUNDLE_MOUNT, readBundledProgram, sha256 } from '../common/bundled-program';

export const DEFAULT_KUBELET_DIR = '/var/lib/kubelet';
const BUNDLE_FILE = 'csi-plugin.js';
/**
 * V8's limits: the plugin holds the CSI types and one request at a time. Small semi-spaces keep
 * the young generation from growing with traffic: 500 publish/unpublish pairs took the resident
 * size from 61 MB to 74 MB with them, to 85 MB after only 200 without.
 */
export const PLUGIN_NODE_FLAGS = '--max-old-space-size=48 --max-semi-space-size=1';

export interface CsiNodePluginSpec {
  /** The agent's name: the plugin's objects are named after it. */
  readonly agentName: string;
  readonly namespace: string;
  readonly driverName: string;
  readonly domainKind: DomainKind;
  readonly domainSizeBytes?: bigint;
  /** The domain directory on the node. */
  readonly hostPath: string;
  /** Read at synthesis, when every `share()` call has been made. */
  readonly tenants: () => Tenant[];
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** `'all'`: tolerate every taint, as node-critical daemons do. */
  readonly tolerations: readonly TolerationJson[] | 'all';
  readonly priorityClassName: string;
  readonly nodeImage: string;
  readonly kubeletDir: string;
}

/** Where the plugin's directories are on the node, from the kubelet's root. */
interface PluginPaths {
  readonly kubelet: string;
  /** The plugin's socket directory, which the kubelet dials. */
  readonly pluginDir: string;
  /** The kubelet's plugin registration directory. */
  readonly registryDir: string;
}

function pluginPaths(spec: CsiNodePluginSpec): PluginPaths {
  const kubelet = spec.kubeletDir.replace(/\/+$/, '');
  return { kubelet, pluginDir: `${kubelet}/plugins/${spec.driverName}`, registryDir: `${kubelet}/plugins_registry` };
}

export class CsiNodePlugin extends Construct {
  /** The plugin DaemonSet. */
  public readonly daemonSet: ApiObject;

  /** The `CSIDriver` object. */
  public readonly csiDriver: ApiObject;

  constructor(scope: Construct, id: string, spec: CsiNodePluginSpec) {
    super(scope, id);
    const name = `${spec.agentName}-csi`;
    const labels = { 'app.kubernetes.io/name': 'cdk8s-shm-csi-node', 'app.kubernetes.io/instance': spec.agentName };
    const bundle = readBundledProgram(BUNDLE_FILE, 'CSI node plugin');

    new ApiObject(this, 'Bundle', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: spec.namespace, labels },
      data: { [BUNDLE_FILE]: bundle },
    });
    this.csiDriver = new ApiObject(this, 'Driver', {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'CSIDriver',
      metadata: { name: spec.driverName, labels },
      spec: {
        attachRequired: false,
        // The kubelet then adds the pod's namespace, name and ServiceAccount to every publish.
        podInfoOnMount: true,
        volumeLifecycleModes: ['Ephemeral'],
        // Never let the kubelet chown the shared domain to one tenant's fsGroup.
        fsGroupPolicy: 'None',
        requiresRepublish: false,
        storageCapacity: false,
      },
    });
    this.daemonSet = new ApiObject(this, 'DaemonSet', {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name, namespace: spec.namespace, labels },
      spec: {
        selector: { matchLabels: labels },
        // One node at a time: while a node's plugin restarts, the kubelet retries publishes there.
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
        template: {
          metadata: {
            labels,
            annotations: { [PLUGIN_CHECKSUM_ANNOTATION]: sha256(bundle), [INJECT_ANNOTATION]: 'false' },
          },
          spec: {
            priorityClassName: spec.priorityClassName,
            nodeSelector: { ...spec.nodeSelector },
            ...(spec.tolerations === 'all' ? { tolerations: [{ operator: 'Exists' }] }
              : spec.tolerations.length > 0 ? { tolerations: spec.tolerations.map(t => ({ ...t })) } : {}),
            automountServiceAccountToken: false,
            containers: [pluginContainer(spec, pluginPaths(spec))],
            volumes: pluginVolumes(spec, pluginPaths(spec), name),
          },
        },
      },
    });
  }
}

/** The plugin's flags, read at synthesis, when every `share()` call has added its tenant. */
function pluginArgs(spec: CsiNodePluginSpec, paths: PluginPaths): unknown {
  return Lazy.any({
    produce: () => csiPluginArgs({
      driverName: spec.driverName,
      nodeId: '$(NODE_NAME)',
      domainName: spec.agentName,
      domainKind: spec.domainKind,
      domainPath: DEFAULT_DOMAIN_PATH,
      domainSizeBytes: spec.domainSizeBytes,
      tenants: spec.tenants(),
      targetRoot: `${paths.kubelet}/pods`,
      // The registry is mounted at its node path; the CSI socket's node path is what the kubelet dials.
      registrationSocket: `${paths.registryDir}/${registrationSocketName(spec.driverName)}`,
      kubeletEndpoint: `${paths.pluginDir}/${DEFAULT_ENDPOINT.replace(/^.*\//, '')}`,
    }),
  });
}

function pluginContainer(spec: CsiNodePluginSpec, paths: PluginPaths): Record<string, unknown> {
  return {
    name: 'csi-plugin',
    image: spec.nodeImage,
    command: ['node', `${BUNDLE_MOUNT}/${BUNDLE_FILE}`],
    args: pluginArgs(spec, paths),
    env: [
      { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      { name: 'NODE_OPTIONS', value: PLUGIN_NODE_FLAGS },
    ],
    // mount(2) and Bidirectional propagation both need a privileged container.
    securityContext: { privileged: true, runAsUser: 0, runAsNonRoot: false, readOnlyRootFilesystem: true },
    resources: { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '128Mi' } },
    volumeMounts: [
      { name: 'plugin-dir', mountPath: DEFAULT_ENDPOINT.replace(/\/[^/]+$/, '') },
      { name: 'registration-dir', mountPath: paths.registryDir },
      { name: 'pods-dir', mountPath: `${paths.kubelet}/pods`, mountPropagation: 'Bidirectional' },
      spec.domainKind === 'tmpfs'
        ? { name: 'domain', mountPath: DEFAULT_DOMAIN_PATH, mountPropagation: 'Bidirectional' }
        : { name: 'domain', mountPath: DEFAULT_DOMAIN_PATH },
      { name: 'bundle', mountPath: BUNDLE_MOUNT, readOnly: true },
      // Private (no propagation): where a publish sets the bind's flags before the target sees it.
      { name: 'staging', mountPath: DEFAULT_STAGING_PATH },
    ],
  };
}

function pluginVolumes(spec: CsiNodePluginSpec, paths: PluginPaths, bundleConfigMap: string): Record<string, unknown>[] {
  return [
    { name: 'plugin-dir', hostPath: { path: paths.pluginDir, type: 'DirectoryOrCreate' } },
    { name: 'registration-dir', hostPath: { path: paths.registryDir, type: 'Directory' } },
    { name: 'pods-dir', hostPath: { path: `${paths.kubelet}/pods`, type: 'Directory' } },
    { name: 'domain', hostPath: { path: spec.hostPath, type: 'DirectoryOrCreate' } },
    { name: 'bundle', configMap: { name: bundleConfigMap } },
    { name: 'staging', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
  ];
}
