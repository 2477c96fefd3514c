/**
 * Pod validation rules that the OpenAPI schema cannot express but the API server enforces
 * (`pkg/apis/core/validation`): unique volume names, unique mount paths per container, every
 * mount naming a volume of the pod, and an emptyDir sizeLimit that is a positive quantity.
 */
import { isQuantity } from '../../src/core';

export function podRuleViolations(podSpec: any): string[] {
  const problems: string[] = [];
  const volumes: any[] = podSpec?.volumes ?? [];
  const names = new Set<string>();
  for (const volume of volumes) {
    if (names.has(volume.name)) problems.push(`duplicate volume name '${volume.name}'`);
    names.add(volume.name);
    const sizeLimit = volume.emptyDir?.sizeLimit;
    if (sizeLimit !== undefined && !isQuantity(sizeLimit)) problems.push(`volume '${volume.name}' sizeLimit '${sizeLimit}' is not a quantity`);
  }
  for (const field of ['containers', 'initContainers', 'ephemeralContainers']) {
    for (const container of podSpec?.[field] ?? []) {
      const paths = new Set<string>();
      for (const mount of container.volumeMounts ?? []) {
        if (paths.has(mount.mountPath)) problems.push(`container '${container.name}' mounts '${mount.mountPath}' twice`);
        paths.add(mount.mountPath);
        if (!names.has(mount.name)) problems.push(`container '${container.name}' mounts unknown volume '${mount.name}'`);
      }
    }
  }
  return problems;
}
