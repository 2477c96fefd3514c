/**
 * Area 7: SharedMemoryAdmissionPolicy on the real API server. The MutatingAdmissionPolicy, the
 * ValidatingAdmissionPolicy and their bindings, as the construct synthesizes them, are applied and
 * run by the API server itself:
 *
 * - every pod of the e2e corpus (the CLI fixtures, the shop chart, the kustomization, the
 *   examples, the AdmissionReview fixtures and the sizing tables) comes back exactly, field for
 *   field, as the core's patch makes it of the same pod admitted where the policy does not act,
 *   planned with `planForAdmissionPolicy`; and the pods the controllers make of the corpus'
 *   workloads carry exactly the volume, mounts and annotations `cdk8s-shm plan --way-in policy`
 *   gives;
 * - the pods it treats otherwise than the webhook are exactly the documented ones (one a limit of
 *   src/core/admission-policy-limits.ts), which it leaves alone;
 * - the pods the rule denies are refused, with the reason;
 * - with the webhook registered beside it, neither undoes the other: the webhook (which the API
 *   server calls after the policy) finds nothing to do but for the documented pods, and the pods
 *   the webhook sized alone come back unchanged from the policy alone.
 *
 * The policy acts only in namespaces labelled cdk8s-shm.io/inject=enabled (NamespaceSelection.OPT_IN),
 * so that the other test files never meet it.
 */
import { corpusSources, deleteStandInNodes, expectPodsAsPlanned, isWorkload, REFUSED } from './support/corpus';
import { Kube, asStream, eventually } from './support/kube';
import { comparable, expectedPod } from './support/pods';
import { area, count } from './support/summary';
import { RegisteredWebhook, registerLocalWebhook, waitForWebhook } from './support/webhook';
import { NamespaceSelection, SharedMemoryAdmissionPolicyProps } from '../../src';
import { NAMESPACE_OPT_IN_VALUE } from '../../src/constructs/admission-policy/settings';
import { HARDEN_MOUNT_GATE_WARNING, INJECT_ANNOTATION, Policy, applyOperations, planForAdmissionPolicy, planSharedMemory, planToPatch, podTemplateOf, settingAnnotation } from '../../src/core';
import { sizingTablePods } from '../core/sizing-cases';
import { CorpusPod, corePolicyOf, limitPods, synthAdmissionPolicy } from '../support/admission-policy';

area('7 admission policy');

const admin = Kube.admin();
/** Where the policy acts (and the webhook, while it is registered). */
const POLICY_NS = 'e2e-policy';
/** Where nothing acts: the reference. */
const PLAIN_NS = 'e2e-policy-plain';
/** Where only the webhook acts: selected, but excluded from the policy. */
const WEBHOOK_ONLY_NS = 'e2e-policy-webhook-only';
const WEBHOOK_NS = 'e2e-policy-webhook';
const NODE = 'e2e-policy-node';
const SELECTED = { [INJECT_ANNOTATION]: NAMESPACE_OPT_IN_VALUE };
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

const props: SharedMemoryAdmissionPolicyProps = { name: 'e2e-policy', namespaceSelection: NamespaceSelection.OPT_IN, excludedNamespaces: [WEBHOOK_ONLY_NS] };
const objects = synthAdmissionPolicy(props);
const policy: Policy = corePolicyOf(props);
/** The same settings as the webhook applies them: the whole rule. */
const rule: Policy = policy;

/** Cases of the sizing tables that only ever reach a webhook, never an API server. */
const REFUSED_SIZING_CASES: Record<string, RegExp> = {
  // A Windows hostProcess container needs hostNetwork (the core tests the signs of Windows one by one).
  'sizing table: Windows: a pod-level hostProcess': /hostNetwork must be true/,
  'sizing table: Windows: a container-level hostProcess': /hostNetwork must be true/,
};

/** The pods the policy treats otherwise than the webhook: one at each documented limit. */
const DOCUMENTED_DIFFERENCES = limitPods().map(p => p.name);

beforeAll(async () => {
  await admin.namespace(PLAIN_NS);
  for (const ns of [POLICY_NS, WEBHOOK_ONLY_NS]) await admin.namespace(ns, SELECTED);
  await admin.namespace(WEBHOOK_NS);
  await admin.apply(objects);
  count({ objects: objects.length });
  // The API server picks up a policy and its binding a moment after they are written.
  await waitForWebhook(admin, POLICY_NS);
});

afterAll(async () => {
  await admin.kubectl(['delete', '-f', '-', '--ignore-not-found', '--wait=false'], { input: asStream(objects) });
  await admin.kubectl(['delete', 'node', NODE, '--ignore-not-found']);
  await deleteStandInNodes(admin);
});

/** Server-side dry run of a pod in a namespace: the pod as admission left it, or the refusal. */
async function dryRun(namespace: string, pod: any): Promise<{ pod?: any; refused?: string }> {
  const run = await admin.kubectl(['create', '-n', namespace, '--dry-run=server', '-o', 'json', '-f', '-'], { input: JSON.stringify(pod), allowFailure: true });
  return run.status === 0 ? { pod: JSON.parse(run.stdout) } : { refused: run.stderr.trim() };
}

/** Runs `work` on every item, a few at a time (the API server and kubectl share two cores). */
async function eachLimited<T, R>(items: readonly T[], work: (item: T, index: number) => Promise<R>, parallel = 3): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i], i);
    }
  }));
  return results;
}

interface BarePod extends CorpusPod { readonly origin: string }

/** Every pod of the corpus as a bare Pod: the workloads' templates, the fixtures' pods, the sizing tables, the limits. */
async function barePods(): Promise<BarePod[]> {
  const pods: BarePod[] = [];
  for (const source of corpusSources(admin)) {
    for (const { origin, object } of await source.objects()) {
      if (!isWorkload(object)) continue;
      const template: any = podTemplateOf(object)!.template;
      const { namespace: _ns, uid: _uid, resourceVersion: _rv, creationTimestamp: _ct, ownerReferences: _or, managedFields: _mf, ...metadata }
        = template.metadata ?? {};
      // kubectl rewrites this one with the namespace it creates in.
      if (metadata.annotations?.[LAST_APPLIED]) {
        metadata.annotations = Object.fromEntries(Object.entries(metadata.annotations).filter(([k]) => k !== LAST_APPLIED));
      }
      const name = `p-${pods.length}`;
      pods.push({ name: `${source.name}: ${object.kind}/${object.metadata?.name ?? metadata.generateName}`, origin, pod: { apiVersion: 'v1', kind: 'Pod', metadata: { ...metadata, name, generateName: undefined }, spec: template.spec } });
    }
  }
  for (const { name, pod } of sizingTablePods()) {
    pods.push({ name: `sizing table: ${name}`, origin: 'sizing table', pod: { apiVersion: 'v1', kind: 'Pod', ...pod, metadata: { ...pod.metadata, name: `p-${pods.length}` } } });
  }
  for (const { name, pod } of limitPods()) pods.push({ name, origin: 'limits', pod: { apiVersion: 'v1', kind: 'Pod', ...pod } });
  return pods;
}

let corpus: BarePod[];
/** The corpus admitted where nothing acts, and under the policy. */
let plain: Array<{ pod?: any; refused?: string }>;
let admitted: Array<{ pod?: any; refused?: string }>;

describe('the policy alone', () => {
  beforeAll(async () => {
    corpus = await barePods();
    plain = await eachLimited(corpus, c => dryRun(PLAIN_NS, c.pod));
    admitted = await eachLimited(corpus, c => dryRun(POLICY_NS, c.pod));
  }, 600_000);

  test('the corpus is large, and only the pods no API server admits are refused, as they are without the policy', () => {
    expect(corpus.length).toBeGreaterThan(80);
    const why = (c: BarePod) => REFUSED[c.origin] ?? REFUSED_SIZING_CASES[c.name];
    const refused = corpus.filter((_c, i) => plain[i].refused);
    expect(refused.map(c => c.name).sort()).toEqual(corpus.filter(why).map(c => c.name).sort());
    for (const c of refused) {
      const i = corpus.indexOf(c);
      const refusal = expect.stringMatching(why(c));
      expect({ pod: c.name, plain: plain[i].refused, admitted: admitted[i].refused }).toEqual({ pod: c.name, plain: refusal, admitted: refusal });
    }
  });

  test('every pod comes back exactly as the core makes it, field for field', () => {
    let sized = 0;
    for (const [i, c] of corpus.entries()) {
      if (plain[i].refused) continue;
      const expected = expectedPod(structuredClone(plain[i].pod), policy, planForAdmissionPolicy);
      expect({ pod: c.name, ...comparable(admitted[i].pod!) }).toEqual({ pod: c.name, ...comparable(expected) });
      if (planForAdmissionPolicy(plain[i].pod, policy).action === 'inject') sized++;
      count({ pods: 1 });
    }
    expect(sized).toBeGreaterThan(40);
  });

  test('the pods it treats otherwise than the webhook are the documented ones, and it leaves them alone', () => {
    const different = corpus.filter((_c, i) => !plain[i].refused && planForAdmissionPolicy(plain[i].pod, policy).reason === 'admission-policy-limit');
    expect(different.map(c => c.name)).toEqual(DOCUMENTED_DIFFERENCES);
    for (const c of different) {
      const i = corpus.indexOf(c);
      expect({ pod: c.name, ...comparable(admitted[i].pod!) }).toEqual({ pod: c.name, ...comparable(plain[i].pod!) });
      // The webhook would size them.
      expect(planSharedMemory(plain[i].pod, rule).action).toBe('inject');
    }
  });

  describe('the pods the controllers make of the corpus\' workloads', () => {
    beforeAll(async () => {
      // A Node for the DaemonSets: every label their node selectors ask for, no taint.
      await admin.apply([{
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: NODE, labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': NODE, 'cdk8s-shm.io/routing-agent': 'true' } },
      }]);
      await admin.kubectl(['taint', 'node', NODE, 'node.kubernetes.io/not-ready:NoSchedule-']);
    });

    let sourceIndex = 0;
    test.each(corpusSources(admin))('$name: exactly the volume, mounts and annotations of cdk8s-shm plan --way-in policy', async source => {
      const namespace = `e2e-policy-${++sourceIndex}`;
      await admin.namespace(namespace, SELECTED);
      const plans = await expectPodsAsPlanned(admin, namespace, source, ['--way-in', 'policy'], true);
      expect(plans.filter(p => p.reason === 'admission-policy-limit')).toEqual([]);
    });
  });

  test('a pod the rule denies is refused by the ValidatingAdmissionPolicy, naming the container and the fix', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'denied', annotations: { 'cdk8s-shm.io/pods-without-limit': 'deny' } },
      spec: { initContainers: [{ name: 'setup', image: 'i' }], containers: [{ name: 'app', image: 'i' }] },
    };
    expect(planForAdmissionPolicy(pod, policy).action).toBe('deny');
    const result = await eventually('the validating policy in force', async () => {
      const run = await dryRun(POLICY_NS, pod);
      return run.refused ? run : undefined;
    });
    expect(result.refused).toContain("ValidatingAdmissionPolicy 'e2e-policy-without-limit' with binding 'e2e-policy-without-limit' denied request");
    // The core's message: the init container does not count.
    expect(result.refused).toContain(`denied request: ${planForAdmissionPolicy(pod, policy).message}`);
    expect(result.refused).toContain("container 'app' has no memory limit: set a memory limit so /dev/shm can be sized from it");
    // Elsewhere, and with a limit, it is admitted.
    expect((await dryRun(PLAIN_NS, pod)).pod).toBeDefined();
    const limited = structuredClone(pod);
    (limited.spec.containers[0] as any).resources = { limits: { memory: '1Gi' } };
    expect((await dryRun(POLICY_NS, limited)).pod.metadata.annotations['cdk8s-shm.io/size-limit']).toBe('512Mi');
  });
  test('an API server of 1.36, without bindMountOptions, sizes a pod that asks for hardenMount as the core does, without them, and says so', async () => {
    // The hardening is a MutatingAdmissionPolicy of its own, an apply configuration: here the API server's type converter does not
    // know the field, that policy alone fails, and failurePolicy Ignore keeps the pod the sizing one sized (a JSON patch would fail the pod).
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'hardened', annotations: { [settingAnnotation('hardenMount')]: 'true' } },
      spec: { containers: [{ name: 'app', image: 'i', resources: { limits: { memory: '1Gi' } } }] },
    };
    const plan = planForAdmissionPolicy(pod, policy);
    const expected: any = applyOperations(structuredClone(pod), planToPatch(plan));
    expect(expected.spec.containers[0].volumeMounts[0].bindMountOptions).toEqual(['nosuid', 'nodev', 'noexec']);
    delete expected.spec.containers[0].volumeMounts[0].bindMountOptions;
    const run = await eventually('the policies in force', async () => {
      const created = await admin.kubectl(['create', '-n', POLICY_NS, '--dry-run=server', '-o', 'json', '-f', '-'], { input: JSON.stringify(pod), allowFailure: true });
      return created.status !== 0 || JSON.parse(created.stdout).spec.volumes?.some((v: any) => v.name === 'dshm') ? created : undefined;
    });
    expect(run.stderr).not.toContain('Error');
    const stored = JSON.parse(run.stdout);
    const shm = (p: any) => ({ volume: p.spec.volumes.find((v: any) => v.name === 'dshm'), mounts: p.spec.containers[0].volumeMounts.filter((m: any) => m.mountPath === '/dev/shm') });
    expect(shm(stored)).toEqual(shm(expected));
    expect(stored.metadata.annotations).toEqual(expected.metadata.annotations);
    expect(run.stderr).toContain(`Warning: Validation failed for ValidatingAdmissionPolicy 'e2e-policy-warnings' with binding 'e2e-policy-warnings': ${HARDEN_MOUNT_GATE_WARNING}`);
    count({ pods: 1 });
  });
});

describe('the policy and the webhook together', () => {
  let webhook: RegisteredWebhook;
  let webhookFirst: Array<{ pod?: any; refused?: string }>;

  beforeAll(async () => {
    // The same settings, the same namespaces (the webhook sees the policy's, and the one excluded from it).
    webhook = await registerLocalWebhook(admin, { namespace: WEBHOOK_NS, name: 'e2e-policy-webhook', namespaceSelection: NamespaceSelection.OPT_IN }, WEBHOOK_ONLY_NS);
  });

  afterAll(async () => {
    await webhook?.unregister();
  });

  test('the webhook, called after the policy, finds nothing to do but for the documented pods', async () => {
    const both = await eachLimited(corpus, c => dryRun(POLICY_NS, c.pod));
    const outcomes = new Map<string, string>();
    await eventually('a webhook log line for every pod', async () => {
      for (const entry of webhook.process.logs.filter(e => e.msg === 'admission' && String(e.pod).startsWith(`${POLICY_NS}/`))) {
        outcomes.set(String(entry.pod).slice(POLICY_NS.length + 1), String(entry.outcome));
      }
      return corpus.every((c, i) => plain[i].refused || outcomes.has(c.pod.metadata.name)) ? true : undefined;
    });
    for (const [i, c] of corpus.entries()) {
      if (plain[i].refused) continue;
      const documented = DOCUMENTED_DIFFERENCES.includes(c.name);
      // The documented pods get the webhook's size; every other pod is exactly what the policy alone gave it.
      const expected = documented ? expectedPod(structuredClone(plain[i].pod), rule) : admitted[i].pod;
      expect({ pod: c.name, ...comparable(both[i].pod!) }).toEqual({ pod: c.name, ...comparable(expected) });
      const plan = planSharedMemory(plain[i].pod, rule);
      const outcome = documented ? 'inject' : plan.action === 'inject' || plan.action === 'update' ? 'unchanged' : plan.action;
      expect({ pod: c.name, outcome: outcomes.get(c.pod.metadata.name) }).toEqual({ pod: c.name, outcome });
      count({ pods: 1 });
    }
  }, 600_000);

  test('pods the webhook sized alone', async () => {
    webhookFirst = await eachLimited(corpus, c => dryRun(WEBHOOK_ONLY_NS, c.pod));
    for (const [i, c] of corpus.entries()) {
      if (plain[i].refused) continue;
      const expected = expectedPod(structuredClone(plain[i].pod), rule);
      expect({ pod: c.name, ...comparable(webhookFirst[i].pod!) }).toEqual({ pod: c.name, ...comparable(expected) });
    }
  }, 600_000);

  test('... come back unchanged from the policy alone: it finds nothing to do either', async () => {
    await webhook.unregister();
    await waitForWebhook(admin, WEBHOOK_ONLY_NS, false);
    const again = await eachLimited(corpus, async (_c, i) => {
      if (plain[i].refused) return {};
      // Created again as a user would: without what the API server set.
      const { uid: _uid, resourceVersion: _rv, creationTimestamp: _ct, managedFields: _mf, namespace: _ns, generation: _g, ...metadata }
        = webhookFirst[i].pod.metadata;
      return dryRun(POLICY_NS, { ...webhookFirst[i].pod, metadata, status: undefined });
    });
    for (const [i, c] of corpus.entries()) {
      if (plain[i].refused) continue;
      expect({ pod: c.name, ...comparable(again[i].pod!) }).toEqual({ pod: c.name, ...comparable(webhookFirst[i].pod) });
      count({ pods: 1 });
    }
  }, 600_000);
});
