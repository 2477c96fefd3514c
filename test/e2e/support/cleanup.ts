/**
 * Taking a suite's objects off the shared control plane in the order a cluster needs. A pod's CSI
 * volume is unmounted by its driver: once the driver's node plugin is gone, the kubelet cannot
 * tear the volume down and the pod, and so its namespace, stay Terminating for good (kubectl
 * shows the pod in Error, the namespace "unexpected items still remain"). So the consumers go
 * first, their pods are waited for, then the plugins, then the namespaces.
 */
import { Kube, asStream, eventually } from './kube';
import { deleteClusterScoped } from './webhook';
import { podTemplateOf } from '../../../src/core';

/** A CSI node plugin: its pods register with the kubelet through the plugins_registry directory. */
export function isCsiNodePlugin(object: any): boolean {
  const volumes: any[] = (podTemplateOf(object)?.template as any)?.spec?.volumes ?? [];
  return volumes.some(v => typeof v.hostPath?.path === 'string' && v.hostPath.path.endsWith('/plugins_registry'));
}

/**
 * Deletes `objects` (and `namespaces`, and the namespaces the objects are in or define): first
 * everything but the CSI node plugins and the namespaces they are not in, then, once no pod in
 * those namespaces has a CSI volume, the plugins and the other namespaces. Does not wait for the namespaces: `Kube.namespace` waits for a
 * terminating namespace before it takes the name again.
 */
export async function deleteSuiteObjects(admin: Kube, objects: readonly any[], namespaces: readonly string[] = []): Promise<void> {
  const plugins = objects.filter(isCsiNodePlugin);
  const rest = objects.filter(o => o.kind !== 'Namespace' && !isCsiNodePlugin(o));
  const allNamespaces = [...new Set([
    ...namespaces,
    ...objects.flatMap(o => [o.metadata?.namespace, o.kind === 'Namespace' ? o.metadata.name : undefined]),
  ].filter((n): n is string => typeof n === 'string'))];

  if (rest.length > 0) await admin.kubectl(['delete', '-f', '-', '--ignore-not-found', '--wait=false'], { input: asStream(rest) });
  // The namespaces without a plugin go now, with the pods a test created there by other means.
  const pluginNamespaces = new Set(plugins.map(p => p.metadata.namespace));
  const consumerNamespaces = allNamespaces.filter(n => !pluginNamespaces.has(n));
  if (plugins.length > 0 && consumerNamespaces.length > 0) {
    await admin.kubectl(['delete', 'namespace', ...consumerNamespaces, '--ignore-not-found', '--wait=false']);
  }
  if (plugins.length > 0) {
    await eventually('pods with CSI volumes gone before their node plugin', async () => {
      const left = [];
      for (const namespace of allNamespaces) {
        const run = await admin.kubectl(['get', 'pods', '-n', namespace, '-o', 'json'], { allowFailure: true });
        const pods: any[] = run.status === 0 ? JSON.parse(run.stdout).items : [];
        const ownPlugin = (pod: any) => plugins.some(d => pod.metadata.ownerReferences?.some((r: any) => r.name === d.metadata.name));
        left.push(...pods.filter(pod => (pod.spec.volumes ?? []).some((v: any) => v.csi) && !ownPlugin(pod)));
      }
      if (left.length > 0) throw new Error(`still there: ${left.map(p => `${p.metadata.namespace}/${p.metadata.name} (${p.status?.phase}${p.metadata.deletionTimestamp ? ', terminating' : ''})`).join(', ')}`);
      return true;
    }, 120_000);
    await admin.kubectl(['delete', '-f', '-', '--ignore-not-found', '--wait=false'], { input: asStream(plugins) });
  }
  await deleteClusterScoped(admin, objects);
  if (allNamespaces.length > 0) await admin.kubectl(['delete', 'namespace', ...allNamespaces, '--ignore-not-found', '--wait=false']);
}
