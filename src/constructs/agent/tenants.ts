/**
 * Who may mount an agent's domain through its CSI node plugin: the tenants the plugin is started
 * with (`--tenant`). Pure: the agent hands in the rendered JSON of its shared workloads.
 */
import { Tenant, formatTenant } from '../../contracts/csi-flags';
import { isDns1123Label, isDns1123Subdomain, objectAt, podTemplateOf, stringAt } from '../../core';
import { propLabel } from '../common/language-names';

/** The namespace an object is deployed to, as far as its manifest says (`default` when it says nothing). */
export function workloadNamespace(json: unknown): string {
  return stringAt(objectAt(objectAt(json)?.metadata)?.namespace) ?? 'default';
}

/** The namespace and ServiceAccount the pods of a rendered workload run as. */
export function workloadTenant(json: unknown): Tenant {
  const pod = objectAt(podTemplateOf(json)?.template.spec);
  // `serviceAccount` is the deprecated spelling the API server still accepts.
  const serviceAccount = stringAt(pod?.serviceAccountName) ?? stringAt(pod?.serviceAccount) ?? 'default';
  return { namespace: workloadNamespace(json), serviceAccount };
}

/**
 * Tenants a user names, checked; each without an absent `serviceAccount` key.
 * @throws Error naming the prop and the bad tenant
 */
export function checkTenants(tenants: readonly Tenant[], subject: string): Tenant[] {
  return tenants.map(tenant => {
    if (!isDns1123Label(tenant.namespace) || (tenant.serviceAccount !== undefined && !isDns1123Subdomain(tenant.serviceAccount))) {
      throw new Error(`'tenants' of AgentDelivery.csi() in ${subject} has ${JSON.stringify(tenant)}: `
        + `give a namespace (a DNS-1123 label) and optionally a ${propLabel('serviceAccount')} (a DNS-1123 subdomain)`);
    }
    const { namespace, serviceAccount } = tenant;
    return serviceAccount === undefined ? { namespace } : { namespace, serviceAccount };
  });
}

/** Without repeats (a namespace-wide tenant covers that namespace's ServiceAccounts), in a stable order. */
export function uniqueTenants(tenants: readonly Tenant[]): Tenant[] {
  const wide = new Set(tenants.filter(t => t.serviceAccount === undefined).map(t => t.namespace));
  const byKey = new Map<string, Tenant>();
  for (const t of tenants) {
    if (t.serviceAccount !== undefined && wide.has(t.namespace)) continue;
    byKey.set(formatTenant(t), t);
  }
  return [...byKey.keys()].sort().map(key => byKey.get(key)!);
}
