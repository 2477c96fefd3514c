import { EPHEMERAL_KEY, POD_NAMESPACE_KEY, POD_NAME_KEY, SERVICE_ACCOUNT_KEY, authorizePublish } from '../../../src/programs/csi/authorize';

const auth = {
  driverName: 'agent.cdk8s-shm.io',
  domainName: 'agent',
  tenants: [{ namespace: 'agent', serviceAccount: 'default' }, { namespace: 'shop' }, { namespace: 'ml', serviceAccount: 'trainer' }],
};

/** The volume context the kubelet sends for an inline volume of a pod (podInfoOnMount: true). */
function context(namespace: string, serviceAccount: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'domain': 'agent',
    [EPHEMERAL_KEY]: 'true',
    [POD_NAMESPACE_KEY]: namespace,
    [POD_NAME_KEY]: 'web-7d4b9-x2x9z',
    [SERVICE_ACCOUNT_KEY]: serviceAccount,
    'csi.storage.k8s.io/pod.uid': '0b5c1f7e-54d3-4d9a-9d7e-1f0a2f3c4d5e',
    ...extra,
  };
}

describe('authorizePublish', () => {
  test.each([
    ['a namespace-wide tenant, any ServiceAccount', 'shop', 'anything'],
    ['a ServiceAccount tenant', 'ml', 'trainer'],
    ['the agent itself', 'agent', 'default'],
  ])('admits %s', (_what, namespace, serviceAccount) => {
    expect(authorizePublish(context(namespace, serviceAccount), auth)).toEqual({ namespace, serviceAccount, pod: 'web-7d4b9-x2x9z' });
  });

  test('refuses another namespace, or another ServiceAccount of a ServiceAccount tenant, naming the tenants and the fix', () => {
    expect(authorizePublish(context('evil', 'default'), auth)).toEqual({
      code: 'PERMISSION_DENIED',
      message: "pod evil/web-7d4b9-x2x9z (ServiceAccount 'default') may not use shared-memory domain 'agent': "
        + "its tenants are agent/default, shop, ml/trainer. Share the workload with the agent, or add 'evil' to the agent's tenants",
    });
    expect(authorizePublish(context('ml', 'default'), auth)).toMatchObject({ code: 'PERMISSION_DENIED' });
    expect(authorizePublish(context('agent', 'other'), auth)).toMatchObject({ code: 'PERMISSION_DENIED' });
  });

  test('a long tenant list is cut, so that the message fits a pod event', () => {
    const many = { ...auth, tenants: Array.from({ length: 40 }, (_, i) => ({ namespace: `team-${i}` })) };
    const refusal = authorizePublish(context('evil', 'default'), many) as { message: string };
    expect(refusal.message).toContain('team-0, team-1, team-2, team-3, team-4, team-5 and 34 more');
    expect(refusal.message.length).toBeLessThan(400);
  });

  test('refuses a publish without pod information: the CSIDriver lacks podInfoOnMount', () => {
    const { [POD_NAMESPACE_KEY]: _ns, [SERVICE_ACCOUNT_KEY]: _sa, ...withoutPodInfo } = context('shop', 'default');
    expect(authorizePublish(withoutPodInfo, auth)).toEqual({
      code: 'PERMISSION_DENIED',
      message: 'agent.cdk8s-shm.io refuses a publish without the pod\'s namespace and ServiceAccount '
        + `(${POD_NAMESPACE_KEY}, ${SERVICE_ACCOUNT_KEY}): its CSIDriver object must set podInfoOnMount: true`,
    });
  });

  test('refuses a persistent volume, and a volume naming another domain or none', () => {
    expect(authorizePublish(context('shop', 'default', { [EPHEMERAL_KEY]: 'false' }), auth)).toMatchObject({
      code: 'INVALID_ARGUMENT', message: expect.stringContaining('serves ephemeral inline volumes only'),
    });
    expect(authorizePublish(context('shop', 'default', { domain: 'other' }), auth)).toEqual({
      code: 'INVALID_ARGUMENT',
      message: "pod shop/web-7d4b9-x2x9z asks agent.cdk8s-shm.io for domain 'other' in volumeAttributes.domain, but this driver serves domain 'agent'",
    });
    const { domain: _d, ...noDomain } = context('shop', 'default');
    expect(authorizePublish(noDomain, auth)).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('for domain (none)') });
  });
});
