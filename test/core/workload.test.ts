import { WORKLOAD_KINDS, describeObject, podTemplateOf } from '../../src/core';

const TEMPLATE = { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } };

/** Puts `template` at `path` (a JSON Pointer) of a fresh object of this kind. */
function objectWithTemplate(apiVersion: string, kind: string, path: string, template: unknown): Record<string, unknown> {
  const object: Record<string, unknown> = { apiVersion, kind, metadata: { name: 'x' } };
  if (path === '') return { ...object, ...(template as object) };
  const tokens = path.split('/').slice(1);
  let node: Record<string, unknown> = object;
  for (const token of tokens.slice(0, -1)) {
    node[token] = node[token] ?? {};
    node = node[token] as Record<string, unknown>;
  }
  node[tokens[tokens.length - 1]] = template;
  return object;
}

describe('podTemplateOf: every workload kind', () => {
  const cases: Array<[string, string, string]> = [
    ['v1', 'Pod', ''],
    ['v1', 'PodTemplate', '/template'],
    ['apps/v1', 'Deployment', '/spec/template'],
    ['apps/v1', 'StatefulSet', '/spec/template'],
    ['apps/v1', 'DaemonSet', '/spec/template'],
    ['apps/v1', 'ReplicaSet', '/spec/template'],
    ['v1', 'ReplicationController', '/spec/template'],
    ['batch/v1', 'Job', '/spec/template'],
    ['batch/v1', 'CronJob', '/spec/jobTemplate/spec/template'],
    // older built-in groups
    ['extensions/v1beta1', 'Deployment', '/spec/template'],
    ['apps/v1beta1', 'StatefulSet', '/spec/template'],
    ['apps/v1beta2', 'DaemonSet', '/spec/template'],
    ['batch/v1beta1', 'CronJob', '/spec/jobTemplate/spec/template'],
  ];

  test('the table covers every kind in WORKLOAD_KINDS, and no more', () => {
    expect([...new Set(cases.map(([, kind]) => kind))].sort()).toEqual([...WORKLOAD_KINDS].sort());
    expect([...WORKLOAD_KINDS].sort()).toEqual(
      ['CronJob', 'DaemonSet', 'Deployment', 'Job', 'Pod', 'PodTemplate', 'ReplicaSet', 'ReplicationController', 'StatefulSet'],
    );
  });

  test.each(cases)('%s %s → %j', (apiVersion, kind, path) => {
    const object = objectWithTemplate(apiVersion, kind, path, TEMPLATE);
    const location = podTemplateOf(object);
    expect(location).toBeDefined();
    expect(location!.path).toBe(path);
    if (path === '') {
      expect(location!.template).toBe(object); // a Pod is its own template
    } else {
      expect(location!.template).toBe(TEMPLATE);
    }
  });

  test.each(cases.filter(([, , path]) => path !== ''))('%s %s without a template → undefined', (apiVersion, kind) => {
    expect(podTemplateOf({ apiVersion, kind, metadata: { name: 'x' }, spec: {} })).toBeUndefined();
  });

  test.each(cases.filter(([, , path]) => path !== ''))('%s %s whose template is not an object → undefined', (apiVersion, kind, path) => {
    expect(podTemplateOf(objectWithTemplate(apiVersion, kind, path, 'template'))).toBeUndefined();
    expect(podTemplateOf(objectWithTemplate(apiVersion, kind, path, [TEMPLATE]))).toBeUndefined();
    expect(podTemplateOf(objectWithTemplate(apiVersion, kind, path, null))).toBeUndefined();
  });

  test('a CronJob whose jobTemplate is not an object → undefined', () => {
    expect(podTemplateOf({ apiVersion: 'batch/v1', kind: 'CronJob', spec: { jobTemplate: 'x' } })).toBeUndefined();
    expect(podTemplateOf({ apiVersion: 'batch/v1', kind: 'CronJob', spec: { jobTemplate: { spec: [] } } })).toBeUndefined();
  });
});

describe('podTemplateOf: everything else is ignored', () => {
  test.each<[string, unknown]>([
    ['a CRD kind named Deployment', { apiVersion: 'example.com/v1', kind: 'Deployment', spec: { template: TEMPLATE } }],
    ['an Argo Rollout', { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', spec: { template: TEMPLATE } }],
    ['an OpenKruise CloneSet', { apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet', spec: { template: TEMPLATE } }],
    ['a Knative-style Pod kind', { apiVersion: 'serving.knative.dev/v1', kind: 'Pod', spec: TEMPLATE.spec }],
    ['a built-in kind without a template', { apiVersion: 'v1', kind: 'Service', spec: { template: TEMPLATE } }],
    ['a ConfigMap', { apiVersion: 'v1', kind: 'ConfigMap', data: {} }],
    ['no apiVersion', { kind: 'Deployment', spec: { template: TEMPLATE } }],
    ['no kind', { apiVersion: 'apps/v1', spec: { template: TEMPLATE } }],
    ['a kind that is not a string', { apiVersion: 'apps/v1', kind: ['Deployment'], spec: { template: TEMPLATE } }],
    ['lower-case kind', { apiVersion: 'apps/v1', kind: 'deployment', spec: { template: TEMPLATE } }],
    ['an inherited property name as kind', { apiVersion: 'apps/v1', kind: 'toString', spec: { template: TEMPLATE } }],
    ['constructor as kind', { apiVersion: 'v1', kind: 'constructor', spec: { template: TEMPLATE } }],
    ['__proto__ as kind', { apiVersion: 'v1', kind: '__proto__', spec: { template: TEMPLATE } }],
    ['a Deployment in the core group', { apiVersion: 'v1', kind: 'Deployment', spec: { template: TEMPLATE } }],
    ['a Deployment in the batch group', { apiVersion: 'batch/v1', kind: 'Deployment', spec: { template: TEMPLATE } }],
    ['a Pod in the apps group', { apiVersion: 'apps/v1', kind: 'Pod', spec: TEMPLATE.spec }],
    ['a Job in the apps group', { apiVersion: 'apps/v1', kind: 'Job', spec: { template: TEMPLATE } }],
    ['null', null],
    ['a string', 'Deployment'],
    ['a number', 1],
    ['an array', [{ apiVersion: 'v1', kind: 'Pod', spec: TEMPLATE.spec }]],
  ])('%s', (_name, object) => {
    expect(podTemplateOf(object)).toBeUndefined();
  });
});

describe('describeObject', () => {
  test.each<[unknown, string]>([
    [{ kind: 'Deployment', metadata: { name: 'web' } }, "Deployment 'web'"],
    [{ kind: 'Deployment', metadata: { name: 'web', namespace: 'ml' } }, "Deployment 'web' in namespace 'ml'"],
    [{ kind: 'Pod', metadata: { generateName: 'train-' } }, "Pod 'train-*'"],
    [{ kind: 'Pod', metadata: { name: 'p', generateName: 'train-' } }, "Pod 'p'"],
    [{ kind: 'Pod', metadata: {} }, "Pod '(unnamed)'"],
    [{ kind: 'Pod' }, "Pod '(unnamed)'"],
    [{ metadata: { name: 'x' } }, "object 'x'"],
    [{ kind: 7, metadata: { name: 7, namespace: 8 } }, "object '(unnamed)'"],
    [{ kind: 'Job', metadata: 'x' }, "Job '(unnamed)'"],
    [null, "object '(unnamed)'"],
    ['Deployment', "object '(unnamed)'"],
    [[], "object '(unnamed)'"],
  ])('%p → %s', (object, text) => {
    expect(describeObject(object)).toBe(text);
  });
});
