/**
 * Who may publish the domain: the decision NodePublishVolume makes from the volume context, pure
 * so that it is tested apart from gRPC and mounts.
 *
 * With `podInfoOnMount: true` on the CSIDriver object, the kubelet adds the pod's namespace, name
 * and ServiceAccount to the volume context of every publish, over any value of the same key in the
 * pod's own `volumeAttributes` (kubelet `csi_mounter.go` merges its keys last): a pod cannot claim
 * another namespace. A publish without them is refused, since then nothing says who asks.
 */
import { CsiStatus } from './errors';
import { DOMAIN_ATTRIBUTE, Tenant, formatTenant } from '../../contracts/csi-flags';

/** Keys the kubelet sets (Kubernetes names, not ours). */
export const POD_NAMESPACE_KEY = 'csi.storage.k8s.io/pod.namespace';
export const POD_NAME_KEY = 'csi.storage.k8s.io/pod.name';
export const SERVICE_ACCOUNT_KEY = 'csi.storage.k8s.io/serviceAccount.name';
export const EPHEMERAL_KEY = 'csi.storage.k8s.io/ephemeral';

export interface Refusal {
  readonly code: Extract<CsiStatus, 'INVALID_ARGUMENT' | 'PERMISSION_DENIED'>;
  readonly message: string;
}

export interface Authorization {
  readonly driverName: string;
  readonly domainName: string;
  readonly tenants: readonly Tenant[];
}

/** The pod a publish is for, for logs. */
export interface Requester {
  readonly namespace: string;
  readonly pod: string;
  readonly serviceAccount: string;
}

/** Tenants listed in a refusal before "and N more": the message ends up in a pod event. */
const LISTED_TENANTS = 6;

/**
 * The pod that asks, or why it may not have the domain.
 * @param context the request's volume context (the pod's volumeAttributes plus the kubelet's keys)
 */
export function authorizePublish(context: Readonly<Record<string, string>>, auth: Authorization): Requester | Refusal {
  if (context[EPHEMERAL_KEY] !== 'true') {
    return {
      code: 'INVALID_ARGUMENT',
      message: `${auth.driverName} serves ephemeral inline volumes only (the volume context has no ${EPHEMERAL_KEY}=true): `
        + 'give the pod an inline csi volume, not a PersistentVolume',
    };
  }
  const namespace = context[POD_NAMESPACE_KEY];
  const serviceAccount = context[SERVICE_ACCOUNT_KEY];
  if (!namespace || !serviceAccount) {
    return {
      code: 'PERMISSION_DENIED',
      message: `${auth.driverName} refuses a publish without the pod's namespace and ServiceAccount `
        + `(${POD_NAMESPACE_KEY}, ${SERVICE_ACCOUNT_KEY}): its CSIDriver object must set podInfoOnMount: true`,
    };
  }
  const pod = context[POD_NAME_KEY] ?? '(unknown pod)';
  const domain = context[DOMAIN_ATTRIBUTE];
  if (domain !== auth.domainName) {
    return {
      code: 'INVALID_ARGUMENT',
      message: `pod ${namespace}/${pod} asks ${auth.driverName} for domain ${domain === undefined ? '(none)' : `'${domain}'`} `
        + `in volumeAttributes.${DOMAIN_ATTRIBUTE}, but this driver serves domain '${auth.domainName}'`,
    };
  }
  const allowed = auth.tenants.some(t => t.namespace === namespace && (t.serviceAccount === undefined || t.serviceAccount === serviceAccount));
  if (!allowed) {
    const listed = auth.tenants.slice(0, LISTED_TENANTS).map(formatTenant).join(', ');
    const more = auth.tenants.length > LISTED_TENANTS ? ` and ${auth.tenants.length - LISTED_TENANTS} more` : '';
    return {
      code: 'PERMISSION_DENIED',
      message: `pod ${namespace}/${pod} (ServiceAccount '${serviceAccount}') may not use shared-memory domain '${auth.domainName}': `
        + `its tenants are ${listed}${more}. Share the workload with the agent, or add '${namespace}' to the agent's tenants`,
    };
  }
  return { namespace, pod, serviceAccount };
}

export function isRefusal(value: Requester | Refusal): value is Refusal {
  return 'code' in value;
}
