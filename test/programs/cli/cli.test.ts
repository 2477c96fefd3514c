/**
 * `runCli` in-process: flags, exit codes, what goes to standard output and what to standard error.
 */
import { cli, fixture, fixturePath, objectsOf, shmOf } from './support';
import { WEBHOOK_FLAGS } from '../../../src/contracts/webhook-flags';
import { CLI_FLAGS, UsageError, parseManifestArgs } from '../../../src/programs/cli/args';
import { EXIT_CHANGES, EXIT_OK, EXIT_USAGE } from '../../../src/programs/cli/main';

describe('flags', () => {
  test('policy flags the webhook also has carry its names and descriptions', () => {
    const shared = CLI_FLAGS.filter(f => WEBHOOK_FLAGS.some(w => w.flag === f.flag));
    expect(shared.map(f => f.flag)).toEqual(['ratio', 'minimum', 'maximum', 'pod-selection', 'pods-without-limit', 'fixed-size', 'volume-name', 'size-unbounded-shm', 'limit-follows', 'resize-volumes', 'deny-unsafe-shrink', 'harden-mount']);
    for (const f of shared) {
      const w = WEBHOOK_FLAGS.find(x => x.flag === f.flag)!;
      expect([f.value, f.description, f.default]).toEqual([w.value, w.description, w.default]);
    }
  });

  test('values become the core policy', () => {
    const options = parseManifestArgs('inject', ['-f', 'a.yaml', '--filename=b.yaml', '--ratio=0.25', '--minimum', '128Mi', '--maximum', '4Gi', '--pod-selection', 'opt-in', '--volume-name', 'shm']);
    expect(options.files).toEqual(['a.yaml', 'b.yaml']);
    expect(options.policyInput).toEqual({ ratio: '0.25', minimum: '128Mi', maximum: '4Gi', podSelection: 'opt-in', volumeName: 'shm' });
    expect(options.policy).toMatchObject({ minimum: 128n * 2n ** 20n, maximum: 4n * 2n ** 30n, podSelection: 'opt-in', volumeName: 'shm' });
  });

  test('switches group, and a value may follow its flag or an equals sign', () => {
    const options = parseManifestArgs('inject', ['-qf', 'a.yaml', '-f=b.yaml', '--ratio=0.5']);
    expect(options).toMatchObject({ quiet: true, files: ['a.yaml', 'b.yaml'], policyInput: { ratio: '0.5' } });
  });

  test.each([
    [['--ratio', '2'], '--ratio (2) must be greater than 0 and at most 1'],
    [['--ratio', 'half'], '--ratio (half) is not a decimal number'],
    [['--size', '1Gi', '--ratio', '0.3'], '--size (1Gi) and --ratio (0.3) cannot both be set'],
    [['--minimum', '2Gi', '--maximum', '1Gi'], '--minimum (2Gi) must not exceed --maximum (1Gi)'],
    [['--size', '1K'], '--size (1K) is invalid'],
    [['--volume-name', 'Bad'], '--volume-name ("Bad") must be a DNS-1123 label'],
    [['--pod-selection', 'some'], '--pod-selection (some) must be one of opt-out, opt-in'],
    [['--pods-without-limit', 'fixed'], "--fixed-size is required when --pods-without-limit is 'fixed'"],
    [['--fixed-size', '1Gi'], "--fixed-size (1Gi) is only used when --pods-without-limit is 'fixed'"],
    [['--ratio'], 'flag --ratio needs a value'],
    [['--ratio', '0.5', '--ratio', '0.4'], '--ratio is given twice'],
    [['--port', '1'], "unknown flag --port for 'inject'"],
    [['--output', 'json'], "unknown flag --output for 'inject'"],
    [['deploy.yaml'], "unexpected argument 'deploy.yaml': give files with -f deploy.yaml"],
    [['--quiet=yes'], '--quiet takes no value'],
    [['--ratio', '-1'], '--ratio (-1) must be greater than 0 and at most 1'],
    [['-x'], "unknown flag -x for 'inject'"],
    [['--', 'deploy.yaml'], "unexpected argument '--'"],
  ])('%j is refused: %s', (argv, message) => {
    expect(() => parseManifestArgs('inject', argv)).toThrow(UsageError);
    expect(() => parseManifestArgs('inject', argv)).toThrow(message);
  });
});

describe('exit codes and streams', () => {
  test('inject: 0, YAML on stdout, nothing on stderr', async () => {
    const result = await cli(['inject'], fixture('all-kinds.yaml'));
    expect(result).toMatchObject({ code: EXIT_OK, stderr: '' });
    expect(objectsOf(result.stdout).map(o => shmOf(o).sizeLimit)).toEqual(['1Gi', '512Mi', '2Gi', '256Mi', '1536Mi', '3Gi', '768Mi']);
  });

  test('inject: warnings go to stderr, --quiet silences them', async () => {
    const loud = await cli(['inject', '-f', fixturePath('not-kubernetes.yaml')]);
    expect(loud.code).toBe(EXIT_OK);
    expect(loud.stderr).toMatch(/^cdk8s-shm: warning: .*not-kubernetes\.yaml:2: document 1 is not a Kubernetes object/);
    const quiet = await cli(['inject', '-q', '-f', fixturePath('not-kubernetes.yaml')]);
    expect(quiet).toMatchObject({ code: EXIT_OK, stderr: '', stdout: loud.stdout });
  });

  test('inject: broken YAML is exit 2 with file:line:col and no output', async () => {
    const result = await cli(['inject', '-f', fixturePath('all-kinds.yaml'), '-f', fixturePath('broken.yaml')]);
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('broken.yaml:16:9: YAML does not parse');
  });

  test('inject: --pods-without-limit deny refuses with exit 1 and writes nothing', async () => {
    const result = await cli(['inject', '--pods-without-limit', 'deny', '-f', fixturePath('skips.yaml')]);
    expect(result.code).toBe(EXIT_CHANGES);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain("Deployment 'no-limit': denied: container 'app' has no memory limit");
    expect(result.stderr).toContain('refused 1 workload without a memory limit');
  });

  test('inject: --pods-without-limit fixed gives pods without a limit the fixed size', async () => {
    const result = await cli(['inject', '-q', '--pods-without-limit', 'fixed', '--fixed-size', '1Gi', '-f', fixturePath('skips.yaml')]);
    expect(result.code).toBe(EXIT_OK);
    expect(shmOf(objectsOf(result.stdout)[1]).sizeLimit).toBe('1Gi');
  });

  test('check: 1 and the list when something would change, 0 after inject', async () => {
    const before = await cli(['check', '-f', fixturePath('list.yaml')]);
    expect(before.code).toBe(EXIT_CHANGES);
    expect(before.stdout).toMatch(/list\.yaml:7: Deployment 'triton' in namespace 'ml' needs \/dev\/shm 8Gi \(container 'triton' limit 16Gi, pod limit 16Gi\)\n/);
    expect(before.stdout).toMatch(/list\.yaml:39: Job 'finetune' in namespace 'ml' needs \/dev\/shm 32Gi \(container 'torchrun' limit 64Gi, pod limit 64Gi\)\n/);
    expect(before.stdout).toContain('2 of 2 workloads would change');
    const injected = await cli(['inject', '-f', fixturePath('list.yaml')]);
    const after = await cli(['check'], injected.stdout);
    expect(after).toEqual({ code: EXIT_OK, stdout: 'ok: 2 workloads checked, no /dev/shm change needed\n', stderr: '' });
  });

  test('check: an outdated size is a change', async () => {
    const result = await cli(['check', '-f', fixturePath('injected-old-size.yaml')]);
    expect(result.code).toBe(EXIT_CHANGES);
    expect(result.stdout).toContain("Deployment 'api' /dev/shm 1Gi should be 2Gi (container 'api' limit 4Gi, pod limit 4Gi)");
  });

  test('check: an injected pod that lost its mount names the containers without it, not a size', async () => {
    const result = await cli(['check', '-f', fixturePath('injected-lost-mount.yaml')]);
    expect(result.code).toBe(EXIT_CHANGES);
    expect(result.stdout.split('\n').filter(l => l.includes('.yaml:')).map(l => l.replace(/^.*fixtures\//, ''))).toEqual([
      "injected-lost-mount.yaml:2: Deployment 'api' has /dev/shm 1Gi, but container 'log-shipper' lacks the /dev/shm mount (container 'api' limit 2Gi, pod limit 2304Mi)",
      "injected-lost-mount.yaml:35: Job 'batch' has /dev/shm 1Gi, but containers 'worker', 'uploader' and init container 'fetch' lack the /dev/shm mount "
      + "(container 'worker' limit 2Gi, pod limit 2560Mi)",
    ]);
  });

  test('check and plan: a stale cdk8s-shm.io/size-limit annotation is named as such', async () => {
    const injected = (await cli(['inject', '-f', fixturePath('injected-old-size.yaml')])).stdout;
    const stale = injected.replace('cdk8s-shm.io/size-limit: 2Gi', 'cdk8s-shm.io/size-limit: 1Gi');
    expect(stale).not.toBe(injected);
    expect((await cli(['check'], stale)).stdout)
      .toContain("<stdin>:2: Deployment 'api' has /dev/shm 2Gi, but annotation cdk8s-shm.io/size-limit is 1Gi (should be 2Gi) (container 'api' limit 4Gi");
    expect((await cli(['plan'], stale)).stdout)
      .toMatch(/\nDeployment\/api +4Gi +4Gi \(api\) +2Gi +update +0\.5 × the limit of container 'api'; annotation cdk8s-shm\.io\/size-limit: 1Gi -> 2Gi\n/);
  });

  test('check and plan: an annotation the flags add is named beside the missing mount and the resize', async () => {
    const check = await cli(['check', '--ratio', '0.25', '-f', fixturePath('injected-lost-mount.yaml')]);
    expect(check.stdout).toContain("injected-lost-mount.yaml:2: Deployment 'api' /dev/shm 1Gi should be 512Mi; container 'log-shipper' lacks the /dev/shm mount; "
      + "annotation cdk8s-shm.io/ratio: 0.25 is missing (container 'api' limit 2Gi, pod limit 2304Mi)\n");
    const plan = await cli(['plan', '--ratio', '0.25', '-f', fixturePath('injected-lost-mount.yaml')]);
    expect(plan.stdout).toMatch(/\nDeployment\/api +2304Mi +2Gi \(api\) +1Gi -> 512Mi +update +0\.25 × the limit of container 'api'; mount added to container 'log-shipper', annotation cdk8s-shm\.io\/ratio added\n/);
  });

  test('check: skipped workloads are not failures', async () => {
    const result = await cli(['check', '-f', fixturePath('skips.yaml')]);
    const lines = result.stdout.split('\n');
    expect(lines.filter(l => /^\S+\.yaml:/.test(l))).toHaveLength(1); // only 'sized'
    // a pod's own unbounded /dev/shm is no failure, but check says so
    expect(lines.filter(l => l.startsWith('note: '))).toEqual([expect.stringContaining("Deployment 'own-shm': container 'app' already mounts volume 'shm' at /dev/shm, a memory-backed emptyDir without sizeLimit")]);
  });

  test('plan: a table per workload, exit 0', async () => {
    const result = await cli(['plan', '-f', fixturePath('skips.yaml'), '-f', fixturePath('injected-old-size.yaml')]);
    expect(result.code).toBe(EXIT_OK);
    expect(result.stdout).toBe([
      'WORKLOAD               POD LIMIT   BASIS       /DEV/SHM     ACTION   REASON',
      'Deployment/opted-out   -           -           -            skip     opted-out: the pod opted out with cdk8s-shm.io/inject: "false"',
      "Deployment/no-limit    none        -           -            skip     no-memory-limit: container 'app' has no memory limit, so /dev/shm cannot be sized from a limit",
      "Deployment/own-shm     1Gi         1Gi (app)   -            skip     user-shm-unbounded: container 'app' already mounts volume 'shm' at /dev/shm, "
      + "a memory-backed emptyDir without sizeLimit that may grow to the node's memory (kubernetes#125852); the rule would give it 512Mi (set sizeUnboundedShm)",
      'Deployment/sized       1Gi         1Gi (app)   256Mi        inject   annotation cdk8s-shm.io/size: 256Mi',
      "Deployment/api         4Gi         4Gi (api)   1Gi -> 2Gi   update   0.5 × the limit of container 'api'",
      '',
      '5 workloads: 1 to inject, 1 to update, 3 skipped',
      '',
    ].join('\n'));
  });

  test('plan: an update shows the size only when it changes, and what else the update does', async () => {
    const result = await cli(['plan', '-f', fixturePath('injected-lost-mount.yaml')]);
    expect(result.stdout).toBe([
      'WORKLOAD         POD LIMIT   BASIS          /DEV/SHM   ACTION   REASON',
      "Deployment/api   2304Mi      2Gi (api)      1Gi        update   0.5 × the limit of container 'api'; mount added to container 'log-shipper'",
      "Job/batch        2560Mi      2Gi (worker)   1Gi        update   0.5 × the limit of container 'worker'; mount added to containers 'worker', 'uploader' and init container 'fetch'",
      '',
      '2 workloads: 2 to update',
      '',
    ].join('\n'));
  });

  test('plan --output json: one object per workload with sizes, bytes and the patch', async () => {
    const result = await cli(['plan', '-o', 'json', '--ratio', '0.25'], fixture('multi-doc.yaml'));
    const plans = JSON.parse(result.stdout);
    expect(plans).toHaveLength(2);
    expect(plans[0]).toMatchObject({
      file: '<stdin>',
      line: 15,
      kind: 'Deployment',
      name: 'web',
      namespace: 'shop',
      podMemoryLimit: '4Gi',
      podMemoryLimitBytes: String(4 * 2 ** 30),
      // a quarter of the larger writer (2Gi; both containers share the anchor's limit)
      basis: { limit: '2Gi', limitBytes: String(2 * 2 ** 30), container: 'web', role: 'container', fromPodLevel: false },
      shmSize: '512Mi',
      shmSizeBytes: String(2 ** 29),
      action: 'inject',
      reason: null,
      sizeSource: 'ratio',
      targets: ['web', 'metrics'],
    });
    // the explicit --ratio is written down with the size, so that later ways in keep it
    expect(plans[0].patch[0]).toEqual({
      op: 'add', path: '/spec/template/metadata/annotations', value: { 'cdk8s-shm.io/size-limit': '512Mi', 'cdk8s-shm.io/ratio': '0.25' },
    });
    expect(plans[1]).toMatchObject({ kind: 'StatefulSet', shmSize: '2Gi', sizeSource: 'ratio-annotation' });
  });

  test('plan: a warning below the table', async () => {
    const result = await cli(['plan', '--size', '32Mi'], fixture('all-kinds.yaml'));
    expect(result.stdout).toContain("Warnings:\n  <stdin>:1 Pod 'chrome': /dev/shm 32Mi is smaller than the runtime's default 64Mi\n");
  });

  test.each([
    [['plan', '--output', 'xml'], '--output (xml) must be one of table, json'],
    [['inject', '-f', '/nonexistent.yaml'], '/nonexistent.yaml: cannot read: ENOENT'],
    [['inject', '-', '-'], "unexpected argument '-'"],
    [['inject', '-f', '-', '-f', '-'], 'standard input (-) is given twice'],
    [['frobnicate'], "unknown command 'frobnicate'"],
  ])('%j: exit 2, %s', async (argv, message) => {
    const result = await cli(argv);
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(message);
  });

  test('a directory reads its manifest files in name order', async () => {
    const result = await cli(['plan', '-o', 'json', '-f', fixturePath('kustomize')]);
    expect(JSON.parse(result.stdout).map((p: any) => `${p.file.replace(/.*fixtures\//, '')} ${p.kind}`)).toEqual(['kustomize/deployment.yaml Deployment']);
  });

  test('--help, --version and no command', async () => {
    expect(await cli(['--help'])).toMatchObject({ code: EXIT_OK, stdout: expect.stringContaining('Usage: cdk8s-shm <command>') });
    expect(await cli(['inject', '--help'])).toMatchObject({ code: EXIT_OK, stdout: expect.stringContaining('--ratio DECIMAL') });
    expect(await cli(['plan', '-h'])).toMatchObject({ code: EXIT_OK, stdout: expect.stringContaining('--output table|json') });
    expect((await cli(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+/);
    expect(await cli([])).toMatchObject({ code: EXIT_USAGE, stderr: expect.stringContaining('Commands:') });
  });
});

describe('numbers as the API server reads them', () => {
  // A YAML integer above 2^53 is exact for kubectl (sigs.k8s.io/yaml reads it as an int64); a
  // double would make it 9007199254740996 and the capped size one byte above the limit.
  const manifest = [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: big',
    'spec:',
    '  template:',
    '    metadata:',
    '      annotations:',
    '        cdk8s-shm.io/size: "9007199254740996"',
    '    spec:',
    '      containers:',
    '        - name: app',
    '          image: app',
    '          resources:',
    '            limits:',
    '              memory: 9007199254740995',
    '',
  ].join('\n');

  test('inject: the size is capped at the exact limit, and the limit is written back as it was', async () => {
    const result = await cli(['inject', '-q'], manifest);
    expect(result.code).toBe(EXIT_OK);
    expect(shmOf(objectsOf(result.stdout)[0]).sizeLimit).toBe('9007199254740995');
    expect(result.stdout).toContain('              memory: 9007199254740995\n');
  });

  test('plan: the pod limit and the size in bytes are exact', async () => {
    const [plan] = JSON.parse((await cli(['plan', '-q', '-o', 'json'], manifest)).stdout);
    expect(plan).toMatchObject({ podMemoryLimitBytes: '9007199254740995', shmSizeBytes: '9007199254740995', action: 'inject' });
  });
});
