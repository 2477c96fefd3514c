import { csiPluginArgs, csiPluginUsage, parseCsiPluginArgs, parseTenant } from '../../src/contracts/csi-flags';

const minimal = ['--driver-name=agent.cdk8s-shm.io', '--node-id=node-1', '--domain-name=agent', '--domain-size=1048576', '--tenant=shop'];

describe('parseCsiPluginArgs', () => {
  test('defaults around the required flags', () => {
    expect(parseCsiPluginArgs(minimal)).toEqual({
      endpoint: '/csi/csi.sock',
      driverName: 'agent.cdk8s-shm.io',
      nodeId: 'node-1',
      domainName: 'agent',
      domainKind: 'tmpfs',
      domainPath: '/shm-domain',
      domainSizeBytes: 1048576n,
      tenants: [{ namespace: 'shop' }],
      targetRoot: '/var/lib/kubelet/pods',
      stagingPath: '/csi-staging',
      logLevel: 'info',
    });
  });

  test('every flag, in both spellings, with repeated tenants', () => {
    const options = parseCsiPluginArgs([
      '--endpoint', '/run/plugin/csi.sock', '--driver-name', 'x.example.com', '--node-id', 'n', '--domain-name', 'd',
      '--domain-kind=host-shm', '--domain-path=/dev/shm/x', '--tenant=a', '--tenant', 'b/web', '--target-root=/k/pods', '--staging-path=/s', '--log-level=debug',
    ]);
    expect(options).toMatchObject({
      endpoint: '/run/plugin/csi.sock',
      domainKind: 'host-shm',
      domainPath: '/dev/shm/x',
      domainSizeBytes: undefined,
      tenants: [{ namespace: 'a' }, { namespace: 'b', serviceAccount: 'web' }],
      targetRoot: '/k/pods',
      stagingPath: '/s',
      logLevel: 'debug',
    });
  });

  test.each([
    [[], '--driver-name is required'],
    [minimal.filter(a => !a.startsWith('--tenant')), '--tenant is required at least once'],
    [minimal.filter(a => !a.startsWith('--domain-size')), '--domain-size is required'],
    [[...minimal, '--domain-kind=host-shm'], '--domain-size applies to --domain-kind tmpfs only'],
    [[...minimal.slice(1), '--driver-name=Bad/Name'], '--driver-name (Bad/Name) must be a CSI driver name'],
    [[...minimal.slice(0, 3), '--domain-size=0', '--tenant=shop'], '--domain-size (0) must be a positive whole number of bytes'],
    [[...minimal, '--domain-kind=fuse'], '--domain-kind (fuse) must be one of tmpfs, host-shm'],
    [[...minimal, '--endpoint=relative.sock'], '--endpoint (relative.sock) must be an absolute path'],
    [[...minimal, '--target-root=/a/../b'], '--target-root (/a/../b) must be an absolute path without ..'],
    [[...minimal, '--tenant=Shop'], '--tenant (Shop) must be NAMESPACE or NAMESPACE/SERVICEACCOUNT'],
    [[...minimal, '--driver-name=other.io'], 'flag --driver-name is given twice'],
    [[...minimal, '--nope=1'], 'unknown flag --nope'],
    [[...minimal, 'stray'], "unexpected argument 'stray'"],
    [[...minimal, '--log-level'], 'flag --log-level needs a value'],
  ])('%j is refused: %s', (argv, message) => {
    expect(() => parseCsiPluginArgs(argv as string[])).toThrow(message);
  });

  test('--help needs nothing else', () => {
    expect(parseCsiPluginArgs(['--help']).help).toBe(true);
    expect(csiPluginUsage()).toContain('--tenant NAMESPACE[/SERVICEACCOUNT]');
  });
});

describe('csiPluginArgs', () => {
  test('renders what the parser reads back', () => {
    const args = csiPluginArgs({
      driverName: 'agent.cdk8s-shm.io',
      nodeId: '$(NODE_NAME)',
      domainName: 'agent',
      domainKind: 'tmpfs',
      domainSizeBytes: 8n * 2n ** 20n,
      tenants: [{ namespace: 'agent', serviceAccount: 'default' }, { namespace: 'shop' }],
      targetRoot: '/var/lib/kubelet/pods',
    });
    expect(args).toEqual([
      '--driver-name=agent.cdk8s-shm.io', '--node-id=$(NODE_NAME)', '--domain-name=agent', '--domain-kind=tmpfs', '--domain-size=8388608',
      '--tenant=agent/default', '--tenant=shop', '--target-root=/var/lib/kubelet/pods',
    ]);
    expect(parseCsiPluginArgs(args).tenants).toEqual([{ namespace: 'agent', serviceAccount: 'default' }, { namespace: 'shop' }]);
  });

  test('refuses at synthesis what the plugin would refuse at start', () => {
    expect(() => csiPluginArgs({ driverName: 'a.io', nodeId: 'n', domainName: 'd', domainKind: 'tmpfs', tenants: [] }))
      .toThrow('--domain-size is required');
  });
});

test('parseTenant', () => {
  expect(parseTenant('shop')).toEqual({ namespace: 'shop' });
  expect(parseTenant('shop/system.serviceaccount')).toEqual({ namespace: 'shop', serviceAccount: 'system.serviceaccount' });
  for (const bad of ['', 'a/b/c', 'shop/', '/web', 'UPPER']) expect(() => parseTenant(bad)).toThrow(/must be NAMESPACE or NAMESPACE\/SERVICEACCOUNT/);
});
