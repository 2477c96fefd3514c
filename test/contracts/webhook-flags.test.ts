/**
 * The flag table: defaults, flags over environment variables, clear errors, and `webhookArgs`
 * rendering flags that parse back to the same options (the construct relies on that).
 */
import * as fc from 'fast-check';
import {
  DEFAULT_MAX_BODY_BYTES, WEBHOOK_FLAGS, WebhookArgsInput, parseWebhookArgs, webhookArgs, webhookUsage,
} from '../../src/contracts/webhook-flags';

describe('parseWebhookArgs', () => {
  test('defaults', () => {
    expect(parseWebhookArgs([], {})).toEqual({
      port: 8443,
      metricsPort: 0,
      tlsMode: 'files',
      tlsCert: '/etc/cdk8s-shm/tls/tls.crt',
      tlsKey: '/etc/cdk8s-shm/tls/tls.key',
      tlsSecret: undefined,
      webhookConfiguration: undefined,
      service: undefined,
      policy: {},
      maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
      maxConnections: 1000,
      maxConnectionsPerClient: 500,
      logLevel: 'info',
    });
  });

  test('the command line from the issue', () => {
    const options = parseWebhookArgs(['--port', '9443', '--tls-cert', '/c.pem', '--tls-key=/k.pem', '--ratio', '0.25', '--minimum', '64Mi',
      '--maximum', '8Gi', '--pod-selection', 'opt-in', '--pods-without-limit', 'fixed', '--fixed-size', '1Gi', '--volume-name', 'shm', '--log-level', 'debug'], {});
    expect(options).toMatchObject({
      port: 9443,
      tlsCert: '/c.pem',
      tlsKey: '/k.pem',
      logLevel: 'debug',
      policy: { ratio: '0.25', minimum: '64Mi', maximum: '8Gi', podSelection: 'opt-in', podsWithoutLimit: 'fixed', fixedSize: '1Gi', volumeName: 'shm' },
    });
  });

  test('self-managed mode reads its Secret, configuration and Service', () => {
    const options = parseWebhookArgs(['--tls-mode=self-managed', '--tls-secret=cdk8s-shm/webhook-tls',
      '--webhook-configuration=cdk8s-shm', '--service=cdk8s-shm-webhook.cdk8s-shm'], {});
    expect(options).toMatchObject({
      tlsMode: 'self-managed',
      tlsSecret: { namespace: 'cdk8s-shm', name: 'webhook-tls' },
      webhookConfiguration: 'cdk8s-shm',
      service: { name: 'cdk8s-shm-webhook', namespace: 'cdk8s-shm' },
    });
  });

  test('every flag has a CDK8S_SHM_ variable; flags win; empty variables count as unset', () => {
    for (const f of WEBHOOK_FLAGS) expect(f.env).toBe(`CDK8S_SHM_${f.flag.toUpperCase().replace(/-/g, '_')}`);
    const env = { CDK8S_SHM_RATIO: '0.3', CDK8S_SHM_PORT: '1234', CDK8S_SHM_PODS_WITHOUT_LIMIT: 'deny', CDK8S_SHM_MAXIMUM: '' };
    const options = parseWebhookArgs(['--port', '4321'], env);
    expect(options.port).toBe(4321);
    expect(options.policy).toEqual({ ratio: '0.3', podsWithoutLimit: 'deny' });
  });

  test('--help is reported, and the usage lists every flag with its variable', () => {
    expect(parseWebhookArgs(['--help'], {}).help).toBe(true);
    expect(parseWebhookArgs(['--ratio', 'nonsense', '-h'], {}).help).toBe(true);
    const usage = webhookUsage();
    for (const f of WEBHOOK_FLAGS) {
      expect(usage).toContain(`--${f.flag} `);
      expect(usage).toContain(f.env);
    }
  });

  test.each([
    [['--bogus', '1'], 'unknown flag --bogus (see --help)'],
    [['serve'], "unexpected argument 'serve': flags look like --port 8443 (see --help)"],
    [['--port'], 'flag --port needs a value: --port PORT'],
    [['--port', '70000'], '--port (70000) must be a whole number from 0 to 65535'],
    [['--port', '80a'], '--port (80a) must be a whole number from 0 to 65535'],
    [['--tls-mode', 'auto'], '--tls-mode (auto) must be one of files, self-managed'],
    [['--ratio', '1.5'], '--ratio (1.5) must be greater than 0 and at most 1'],
    [['--ratio', 'half'], '--ratio (half) is not a decimal number: write a share like 0.5'],
    [['--minimum', '1K'], '--minimum (1K) is invalid: "1K" has an invalid suffix "K" ("K" is not a suffix: use "k" for 1000 or "Ki" for 1024): expected a number with an optional suffix: Ki, Mi, Gi, Ti, Pi, Ei, n, u, m, k, M, G, T, P, E, or an exponent like 1e9'],
    [['--minimum', '2Gi', '--maximum', '1Gi'], '--minimum (2Gi) must not exceed --maximum (1Gi)'],
    [['--pods-without-limit', 'fixed'], "--fixed-size is required when --pods-without-limit is 'fixed'"],
    [['--fixed-size', '1Gi'], "--fixed-size (1Gi) is only used when --pods-without-limit is 'fixed' (it is 'skip')"],
    [['--pod-selection', 'all'], '--pod-selection (all) must be one of opt-out, opt-in'],
    [['--volume-name', 'Big_Name'], "--volume-name (\"Big_Name\") must be a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters"],
    [['--log-level', 'trace'], '--log-level (trace) must be one of debug, info, warn, error'],
    [['--max-body-bytes', '10'], '--max-body-bytes (10) must be a whole number from 1024 to 67108864'],
    [['--max-connections', '0'], '--max-connections (0) must be a whole number from 1 to 1000000'],
    [['--max-connections', '100', '--max-connections-per-client', '200'], '--max-connections-per-client (200) must not exceed --max-connections (100)'],
    [['--tls-mode', 'self-managed'], '--tls-mode self-managed needs --tls-secret, --webhook-configuration, --service'],
    [['--tls-secret', 'just-a-name'], '--tls-secret (just-a-name) must be NAMESPACE/NAME, e.g. cdk8s-shm/cdk8s-shm-webhook-tls'],
    [['--service', 'svc.ns.svc'], '--service (svc.ns.svc) must be NAME.NAMESPACE, e.g. cdk8s-shm-webhook.cdk8s-shm'],
  ])('%j fails with a clear message', (argv, message) => {
    expect(() => parseWebhookArgs(argv, {})).toThrow(new Error(message));
  });

  test('a small --max-connections lowers the per-client default with it', () => {
    expect(parseWebhookArgs(['--max-connections', '100'], {})).toMatchObject({ maxConnections: 100, maxConnectionsPerClient: 100 });
  });

  test('an error from an environment variable names the variable', () => {
    expect(() => parseWebhookArgs([], { CDK8S_SHM_RATIO: '2' })).toThrow('CDK8S_SHM_RATIO (2) must be greater than 0 and at most 1');
  });
});

describe('webhookArgs', () => {
  test('renders --flag=value in table order', () => {
    expect(webhookArgs({ service: 'web.ns', port: 8443, ratio: 0.25, tlsMode: 'self-managed', tlsSecret: 'ns/tls', webhookConfiguration: 'shm' })).toEqual([
      '--port=8443', '--tls-mode=self-managed', '--tls-secret=ns/tls', '--webhook-configuration=shm', '--service=web.ns', '--ratio=0.25',
    ]);
    expect(webhookArgs({})).toEqual([]);
  });

  test('refuses values the server would refuse, with the server\'s message', () => {
    expect(() => webhookArgs({ ratio: 3 })).toThrow('--ratio (3) must be greater than 0 and at most 1');
    expect(() => webhookArgs({ podsWithoutLimit: 'fixed' })).toThrow("--fixed-size is required when --pods-without-limit is 'fixed'");
  });

  test('round-trips: what it renders parses back to the same options', () => {
    const size = fc.constantFrom('64Mi', '1Gi', '1500M', '2e9', '8Gi');
    const input = fc.record({
      port: fc.integer({ min: 1, max: 65535 }),
      tlsCert: fc.constantFrom('/a b/tls.crt', '/etc/x=y.crt'),
      ratio: fc.constantFrom('0.5', '0.125', '1', 0.75),
      minimum: size,
      podSelection: fc.constantFrom('opt-in' as const, 'opt-out' as const),
      podsWithoutLimit: fc.constantFrom('skip' as const, 'deny' as const),
      volumeName: fc.constantFrom('dshm', 'shm-1'),
      maxBodyBytes: fc.integer({ min: 1024, max: 16_777_216 }),
      logLevel: fc.constantFrom('debug' as const, 'warn' as const),
    }, { requiredKeys: [] });
    fc.assert(fc.property(input, (values: WebhookArgsInput) => {
      const options = parseWebhookArgs(webhookArgs(values), {});
      if (values.port !== undefined) expect(options.port).toBe(values.port);
      if (values.tlsCert !== undefined) expect(options.tlsCert).toBe(values.tlsCert);
      if (values.maxBodyBytes !== undefined) expect(options.maxBodyBytes).toBe(values.maxBodyBytes);
      if (values.logLevel !== undefined) expect(options.logLevel).toBe(values.logLevel);
      for (const key of ['minimum', 'podSelection', 'podsWithoutLimit', 'volumeName'] as const) {
        if (values[key] !== undefined) expect(options.policy[key]).toBe(values[key]);
      }
      if (values.ratio !== undefined) expect(options.policy.ratio).toBe(String(values.ratio));
    }));
  });
});
