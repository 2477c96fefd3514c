/**
 * Synth-time checks of the node agent's paths and labels; each throws a message naming the prop
 * and the fix.
 */
import { methodLabel, propLabel } from './language-names';
import { SHM_MOUNT_PATH, isCsiDriverName } from '../../core';
import { SharedMemoryDomain } from '../agent/shared-memory-domain';

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Host trees a tmpfs must never be mounted over. */
const FORBIDDEN_HOST_TREES = ['/proc', '/sys', '/dev', '/etc', '/boot', '/usr', '/bin', '/sbin', '/lib', '/lib64', '/var/lib/kubelet'];

export function checkMountPath(path: string, prop: string, subject: string): string {
  if (typeof path !== 'string' || !path.startsWith('/') || path.includes(':') || path.split('/').includes('..')) {
    throw new Error(`${propLabel(prop)} (${JSON.stringify(path)}) of ${subject} must be an absolute path without ':' or '..'`);
  }
  return path;
}

/** The domain must be memory-backed and must never cover a directory the node itself needs. */
export function checkHostPath(domain: SharedMemoryDomain, path: string, subject: string): string {
  const normalized = checkMountPath(path, 'hostPath', subject).replace(/\/+/g, '/').replace(/\/$/, '');
  const underHostShm = normalized.startsWith(`${SHM_MOUNT_PATH}/`);
  if (!domain.dedicatedTmpfs) {
    if (!underHostShm) {
      throw new Error(`${propLabel('hostPath')} (${path}) of ${methodLabel('SharedMemoryDomain', 'hostShm')} in ${subject} must be a directory below ${SHM_MOUNT_PATH}, `
        + 'so that it is memory-backed; use SharedMemoryDomain.tmpfs() for any other place');
    }
    return normalized;
  }
  const depth = normalized.split('/').length - 1;
  const forbidden = FORBIDDEN_HOST_TREES.find(tree => normalized === tree || normalized.startsWith(`${tree}/`));
  if (depth < 2 || forbidden) {
    throw new Error(`${propLabel('hostPath')} (${path}) of SharedMemoryDomain.tmpfs() in ${subject} would mount a tmpfs over `
      + `${forbidden ? `the node's ${forbidden}` : 'a top-level directory of the node'}: use a dedicated directory such as /run/cdk8s-shm/<name>`);
  }
  return normalized;
}

/** A label key and value as the API server validates them; `what` names them in the message. */
export function checkLabel(key: string, value: string, subject: string, what = 'node label'): void {
  const [prefix, name] = key.includes('/') ? key.split(/\/(.*)/s) : [undefined, key];
  const validKey = name !== undefined && name.length <= 63 && LABEL_NAME.test(name)
    && (prefix === undefined || (prefix.length <= 253 && LABEL_PREFIX.test(prefix)));
  if (!validKey) throw new Error(`${what} key '${key}' of ${subject} is not a valid label key`);
  if (typeof value !== 'string' || value.length > 63 || (value !== '' && !LABEL_NAME.test(value))) {
    throw new Error(`${what} value '${value}' of ${subject} is not a valid label value`);
  }
}

/** The labels every object of ours gets, and selectors use: extra labels may not replace them. */
export const OWN_LABELS: readonly string[] = ['app.kubernetes.io/name', 'app.kubernetes.io/instance'];

/**
 * A user's extra labels for our objects, checked: valid, and none of OWN_LABELS.
 * @param why what OWN_LABELS are for, for the message ("the webhook's selectors use it")
 */
export function extraLabels(labels: Record<string, string> | undefined, subject: string, why: string): Record<string, string> {
  const extra = { ...labels };
  for (const [key, value] of Object.entries(extra)) {
    checkLabel(key, value, subject, "'labels'");
    if (OWN_LABELS.includes(key)) throw new Error(`'labels' of ${subject} may not set ${key}: ${why}`);
  }
  return extra;
}

export function checkCsiDriverName(driverName: string, subject: string): string {
  if (!isCsiDriverName(driverName)) {
    throw new Error(`the CSI driver name '${driverName}' of ${subject} must be at most 63 characters forming a DNS-1123 subdomain: `
      + `set ${propLabel('driverName')} in AgentDelivery.csi()`);
  }
  return driverName;
}
