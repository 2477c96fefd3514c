/**
 * `cdk8s-shm.io/` settings on a pod that cannot be honoured (a value that does not parse, settings
 * that contradict each other, an `inject` that is neither "true" nor "false", a container the pod
 * does not have, a key that is none of ours, a maximum below the runtime's 64Mi), and settings on
 * the workload's own metadata, which no pod carries: `check` exits 1 and names the workload and the
 * annotation; `plan` lists them; `inject` and the webhook warn, naming the annotation.
 */
import { stringify } from 'yaml';
import { resolvePolicy } from '../src/core';
import { cli } from './programs/cli/support';
import { podCreateReview } from './programs/webhook/support/fixtures';
import { reviewAdmission } from '../src/programs/webhook/review';

interface Case {
  readonly name: string;
  /** On the pod template. */
  readonly pod?: Record<string, string>;
  /** On the Deployment's own metadata. */
  readonly workload?: Record<string, string>;
  /** The annotation that cannot be honoured. */
  readonly annotation: string;
  /** What `check` says about it. */
  readonly says: string;
}

const CASES: Case[] = [
  {
    name: 'contradicting settings',
    pod: { 'cdk8s-shm.io/size': '1Gi', 'cdk8s-shm.io/ratio': '0.25' },
    annotation: 'cdk8s-shm.io/size, cdk8s-shm.io/ratio',
    says: "'cdk8s-shm.io/size' (1Gi) and 'cdk8s-shm.io/ratio' (0.25) cannot both be set",
  },
  {
    name: 'a value that does not parse',
    pod: { 'cdk8s-shm.io/ratio': 'half' },
    annotation: 'cdk8s-shm.io/ratio',
    says: "'cdk8s-shm.io/ratio' (half) is not a decimal number",
  },
  {
    name: 'an inject that is neither true nor false',
    pod: { 'cdk8s-shm.io/inject': 'enabled' },
    annotation: 'cdk8s-shm.io/inject',
    says: 'annotation cdk8s-shm.io/inject is "enabled"; use "true" or "false"',
  },
  {
    name: 'a container the pod lacks',
    pod: { 'cdk8s-shm.io/containers': 'app,ghost' },
    annotation: 'cdk8s-shm.io/containers',
    says: "container 'ghost' named in cdk8s-shm.io/containers is not in the pod",
  },
  {
    name: 'a key that is none of ours',
    pod: { 'cdk8s-shm.io/sise': '1Gi' },
    annotation: 'cdk8s-shm.io/sise',
    says: "annotation cdk8s-shm.io/sise is not one of cdk8s-shm's",
  },
  {
    name: 'a maximum below the runtime\'s 64Mi (64M for 64Mi)',
    pod: { 'cdk8s-shm.io/maximum': '64M' },
    annotation: 'cdk8s-shm.io/maximum',
    says: "'cdk8s-shm.io/maximum' (64M) is below the runtime's own 64Mi /dev/shm",
  },
  {
    name: "a setting on the Deployment's own metadata",
    workload: { 'cdk8s-shm.io/ratio': '0.25' },
    annotation: 'cdk8s-shm.io/ratio',
    says: "annotation cdk8s-shm.io/ratio on the Deployment's own metadata reaches no pod: move it to spec.template.metadata.annotations",
  },
];

function deployment(c: Case): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', ...(c.workload ? { annotations: c.workload } : {}) },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' }, ...(c.pod ? { annotations: c.pod } : {}) },
        spec: { containers: [{ name: 'app', image: 'example/app:1.0', resources: { limits: { memory: '4Gi' } } }] },
      },
    },
  };
}

/** The Deployment, already sized, so that nothing but the annotation can fail `check`. */
async function injected(c: Case): Promise<string> {
  const { code, stdout } = await cli(['inject', '-q'], stringify(deployment(c)));
  expect(code).toBe(0);
  return stdout;
}

describe.each(CASES)('$name', c => {
  test('check exits 1, naming the workload and the annotation', async () => {
    const { code, stdout } = await cli(['check'], await injected(c));
    expect(code).toBe(1);
    expect(stdout).toContain(`<stdin>:1: Deployment 'web' in namespace 'shop': ${c.annotation} cannot be honoured: ${c.says}`);
    expect(stdout).toContain('1 of 1 workload carries cdk8s-shm.io/ annotations that cannot be honoured: fix them at the source');
    expect(stdout).not.toContain('would change');
  });

  test('plan lists it, and plan -o json carries it', async () => {
    const table = await cli(['plan'], stringify(deployment(c)));
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`Annotations that cannot be honoured (check fails on them):\n  <stdin>:1 Deployment 'web' in namespace 'shop': ${c.annotation}: ${c.says}`);
    const json = JSON.parse((await cli(['plan', '-o', 'json'], stringify(deployment(c)))).stdout);
    expect(json[0].unhonoured).toEqual([{ annotations: c.annotation.split(', '), message: expect.stringContaining(c.says) }]);
  });

  test('inject warns on standard error, naming it', async () => {
    const { code, stderr } = await cli(['inject'], stringify(deployment(c)));
    expect(code).toBe(0);
    expect(stderr).toContain(c.annotation.split(', ')[0]);
  });
});

describe.each(CASES.filter(c => c.pod))('the webhook warns: $name', c => {
  test('an admission warning names the annotation', () => {
    const template = deployment(c).spec.template;
    const review = podCreateReview({ apiVersion: 'v1', kind: 'Pod', metadata: { ...template.metadata, name: 'web-0' }, spec: template.spec }, 'u1', 'shop');
    const warnings = reviewAdmission(review, resolvePolicy()).review!.response.warnings ?? [];
    expect(warnings.some(w => w.includes(c.annotation.split(', ')[0]))).toBe(true);
    expect(warnings.every(w => w.length < 120)).toBe(true);
  });
});

test('a sized workload with honourable annotations passes check', async () => {
  const { code, stdout } = await cli(['check'], await injected({ name: 'fine', pod: { 'cdk8s-shm.io/ratio': '0.25' }, annotation: '', says: '' }));
  expect({ code, stdout }).toEqual({ code: 0, stdout: 'ok: 1 workload checked, no /dev/shm change needed\n' });
});
