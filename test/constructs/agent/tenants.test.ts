import { checkTenants, uniqueTenants, workloadNamespace, workloadTenant } from '../../../src/constructs/agent/tenants';

describe('tenants', () => {
  test('a workload\'s namespace and ServiceAccount, from its pod template (either spelling) or the defaults', () => {
    const deployment = (spec: object, metadata: object = { namespace: 'shop' }) => ({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata, spec: { template: { spec: { containers: [], ...spec } } },
    });
    expect(workloadTenant(deployment({ serviceAccountName: 'web' }))).toEqual({ namespace: 'shop', serviceAccount: 'web' });
    expect(workloadTenant(deployment({ serviceAccount: 'legacy' }))).toEqual({ namespace: 'shop', serviceAccount: 'legacy' });
    expect(workloadTenant(deployment({}, {}))).toEqual({ namespace: 'default', serviceAccount: 'default' });
    const cronJob = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { namespace: 'batch' }, spec: { jobTemplate: { spec: { template: { spec: { serviceAccountName: 'cron' } } } } } };
    expect(workloadTenant(cronJob)).toEqual({ namespace: 'batch', serviceAccount: 'cron' });
    expect(workloadNamespace({ metadata: { namespace: 7 } })).toBe('default');
  });

  test('unique, sorted, a namespace-wide tenant covering its ServiceAccounts', () => {
    expect(uniqueTenants([
      { namespace: 'shop', serviceAccount: 'web' }, { namespace: 'agent', serviceAccount: 'default' }, { namespace: 'shop' },
      { namespace: 'ml', serviceAccount: 'b' }, { namespace: 'ml', serviceAccount: 'a' }, { namespace: 'ml', serviceAccount: 'a' },
    ])).toEqual([
      { namespace: 'agent', serviceAccount: 'default' }, { namespace: 'ml', serviceAccount: 'a' }, { namespace: 'ml', serviceAccount: 'b' }, { namespace: 'shop' },
    ]);
  });

  test('checkTenants keeps valid tenants and names the bad one', () => {
    expect(checkTenants([{ namespace: 'shop', serviceAccount: undefined }, { namespace: 'ml', serviceAccount: 'ci.bot' }], 'X'))
      .toEqual([{ namespace: 'shop' }, { namespace: 'ml', serviceAccount: 'ci.bot' }]);
    expect(() => checkTenants([{ namespace: 'shop/web' }], "SharedMemoryAgent 'a'"))
      .toThrow('\'tenants\' of AgentDelivery.csi() in SharedMemoryAgent \'a\' has {"namespace":"shop/web"}');
  });
});
