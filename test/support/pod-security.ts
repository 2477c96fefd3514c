/**
 * The Pod Security Standards' pod checks (kubernetes.io/docs/concepts/security/pod-security-standards,
 * as `k8s.io/pod-security-admission` implements them) for the fields our objects set: what the
 * `baseline` and `restricted` levels would refuse in a pod spec. The real admission runs in the
 * control-plane e2e; this catches a regression in every unit run.
 */
const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT',
]);
const RESTRICTED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);

function containersOf(pod: any): any[] {
  return ['initContainers', 'containers', 'ephemeralContainers'].flatMap(field => pod?.[field] ?? []);
}

export function baselineViolations(pod: any): string[] {
  const problems: string[] = [];
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC']) if (pod?.[field] === true) problems.push(`${field}: true`);
  for (const volume of pod?.volumes ?? []) if (volume.hostPath) problems.push(`hostPath volume '${volume.name}'`);
  if (pod?.securityContext?.seccompProfile?.type === 'Unconfined') problems.push('pod seccompProfile Unconfined');
  for (const c of containersOf(pod)) {
    const sc = c.securityContext ?? {};
    if (sc.privileged === true) problems.push(`container '${c.name}' privileged`);
    for (const cap of sc.capabilities?.add ?? []) if (!BASELINE_CAPABILITIES.has(cap)) problems.push(`container '${c.name}' adds ${cap}`);
    for (const port of c.ports ?? []) if (port.hostPort) problems.push(`container '${c.name}' hostPort ${port.hostPort}`);
    if (sc.seccompProfile?.type === 'Unconfined') problems.push(`container '${c.name}' seccompProfile Unconfined`);
    if (sc.procMount !== undefined && sc.procMount !== 'Default') problems.push(`container '${c.name}' procMount ${sc.procMount}`);
  }
  return problems;
}

export function restrictedViolations(pod: any): string[] {
  const problems = baselineViolations(pod);
  for (const volume of pod?.volumes ?? []) {
    const type = Object.keys(volume).find(k => k !== 'name');
    if (!type || !RESTRICTED_VOLUMES.has(type)) problems.push(`volume '${volume.name}' of type ${type}`);
  }
  const podContext = pod?.securityContext ?? {};
  if (podContext.runAsUser === 0) problems.push('pod runAsUser 0');
  for (const c of containersOf(pod)) {
    const sc = c.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) problems.push(`container '${c.name}' allows privilege escalation`);
    if (sc.runAsNonRoot !== true && !(podContext.runAsNonRoot === true && sc.runAsNonRoot !== false)) problems.push(`container '${c.name}' may run as root`);
    if (sc.runAsUser === 0) problems.push(`container '${c.name}' runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? podContext.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') problems.push(`container '${c.name}' has no RuntimeDefault seccomp profile`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`container '${c.name}' does not drop ALL capabilities`);
    for (const cap of sc.capabilities?.add ?? []) if (cap !== 'NET_BIND_SERVICE') problems.push(`container '${c.name}' adds ${cap}`);
  }
  return problems;
}
