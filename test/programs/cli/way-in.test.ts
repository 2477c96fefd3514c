/**
 * `cdk8s-shm plan|check --way-in policy`: the plan as the MutatingAdmissionPolicy carries it out,
 * naming the pods it treats otherwise than the webhook (and why).
 */
import { cli, fixturePath } from './support';

const MANIFEST = [
  'apiVersion: apps/v1',
  'kind: Deployment',
  'metadata: {name: web, namespace: shop}',
  'spec:',
  '  selector: {matchLabels: {app: web}}',
  '  template:',
  '    metadata:',
  '      labels: {app: web}',
  '      annotations: {cdk8s-shm.io/ratio: "5e-1"}',
  '    spec:',
  '      containers: [{name: web, image: nginx, resources: {limits: {memory: 2Gi}}}]',
  '---',
  'apiVersion: v1',
  'kind: Pod',
  'metadata: {name: plain, namespace: shop}',
  'spec:',
  '  containers: [{name: app, image: nginx, resources: {limits: {memory: 4Gi}}}]',
  '',
].join('\n');

describe('plan --way-in policy', () => {
  test('the table shows the pods the admission policy leaves alone, why, and what the webhook would do', async () => {
    const { code, stdout } = await cli(['plan', '--way-in', 'policy'], MANIFEST);
    expect(code).toBe(0);
    const web = stdout.split('\n').find(l => l.startsWith('Deployment/web'))!;
    expect(web).toMatch(/ skip +admission-policy-limit: the MutatingAdmissionPolicy leaves the pod alone: cdk8s-shm.io\/ratio \("5e-1"\) has an exponent/);
    expect(web).toContain("the core would have mounted /dev/shm 1Gi (container 'web' limit 2Gi, pod limit 2Gi)");
    expect(stdout).toMatch(/^Pod\/plain +shop +4Gi +4Gi \(app\) +2Gi +inject/m);
    expect(stdout).toContain('2 workloads: 1 to inject, 1 skipped\n1 of them left alone by the MutatingAdmissionPolicy, which the webhook would size');
  });

  test('without it (or with --way-in webhook) the same pods are all sized', async () => {
    for (const flags of [[], ['--way-in=webhook']]) {
      const { stdout } = await cli(['plan', ...flags], MANIFEST);
      expect(stdout).toContain('2 workloads: 2 to inject\n');
      expect(stdout).not.toContain('admission-policy-limit');
    }
  });

  test('JSON names the reason, with no size and no patch', async () => {
    const { stdout } = await cli(['plan', '-o', 'json', '--way-in', 'policy'], MANIFEST);
    const [web, plain] = JSON.parse(stdout);
    expect(web).toMatchObject({ name: 'web', action: 'skip', reason: 'admission-policy-limit', shmSize: null, patch: [] });
    expect(plain).toMatchObject({ name: 'plain', action: 'inject', shmSize: '2Gi' });
  });

  test('check --way-in policy: what the policy leaves alone is no failure', async () => {
    const { code, stdout } = await cli(['check', '--way-in', 'policy'], MANIFEST);
    expect(code).toBe(1);
    expect(stdout).toContain("Pod 'plain' in namespace 'shop' needs /dev/shm 2Gi");
    expect(stdout).not.toContain("Deployment 'web'");
  });

  test('the CLI fixtures: the admission policy treats none of them otherwise', async () => {
    const { stdout } = await cli(['plan', '-o', 'json', '--quiet', '--way-in', 'policy', '-f', fixturePath('all-kinds.yaml'), '-f', fixturePath('skips.yaml')]);
    expect(JSON.parse(stdout).filter((p: any) => p.reason === 'admission-policy-limit')).toEqual([]);
  });

  test.each([
    [['plan', '--way-in', 'mutating'], '--way-in (mutating) must be one of webhook, policy'],
    [['inject', '--way-in', 'policy'], "unknown flag --way-in for 'inject'"],
  ])('%j is refused: %s', async (argv, message) => {
    const { code, stderr } = await cli(argv, MANIFEST);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });

  test('--help describes it', async () => {
    const { stdout } = await cli(['plan', '--help']);
    expect(stdout).toContain('--way-in webhook|policy');
  });
});
