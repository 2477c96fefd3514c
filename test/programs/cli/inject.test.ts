/**
 * `injectDocuments` and `processManifests` in-process: every workload kind, multi-document files,
 * Lists, comments and anchors, documents that are not Kubernetes objects, broken YAML, and the
 * promise that a second run changes nothing.
 */
import * as fs from 'fs';
import { applyPatch } from 'fast-json-patch';
import { FIXTURES, expectValidKubernetes, fixture, flatObjects, objectsOf, shmOf } from './support';
import { planSharedMemory, planToPatch, podTemplateOf, resolvePolicy } from '../../../src/core';
import { InputError, indentsSequences, joinFiles } from '../../../src/programs/cli/documents';
import { ManifestProcessor, ManifestResult, injectDocuments, processManifests } from '../../../src/programs/cli/inject';

const policy = resolvePolicy({});

/** Documents of a stream as raw text (split on `---` lines). */
function rawDocuments(text: string): string[] {
  return text.split(/^---\n/m);
}

describe('every workload kind', () => {
  const input = fixture('all-kinds.yaml');
  const result = injectDocuments(input, policy, 'all-kinds.yaml');
  const objects = objectsOf(result.output);

  test.each([
    ['Pod', 'chrome', '1Gi'],
    ['Deployment', 'api', '512Mi'],
    ['StatefulSet', 'db', '2Gi'],
    ['DaemonSet', 'node-cache', '256Mi'],
    ['ReplicaSet', 'legacy', '1536Mi'],
    ['Job', 'export', '3Gi'],
    ['CronJob', 'nightly-report', '768Mi'],
  ])('%s %s gets /dev/shm %s in every container, at its own pod template path', (kind, name, size) => {
    const object = objects.find(o => o.kind === kind && o.metadata.name === name);
    const containers = (podTemplateOf(object)!.template.spec as any).containers.map((c: any) => c.name);
    expect(shmOf(object)).toEqual({ sizeLimit: size, mountedBy: containers, annotation: size });
    const report = result.workloads.find(w => w.kind === kind)!;
    expect(report.plan.action).toBe('inject');
    expect(report.patch.every(op => !op.path.startsWith('/spec/template') || kind !== 'CronJob')).toBe(true);
  });

  test('the result is what the core patch gives the JSON (fast-json-patch), and valid for the API server', () => {
    const before = objectsOf(input);
    const expected = before.map(object => {
      const location = podTemplateOf(object)!;
      return applyPatch(structuredClone(object), planToPatch(planSharedMemory(location.template, policy), location.path) as any).newDocument;
    });
    expect(objects).toEqual(expected);
    expectValidKubernetes(objects);
  });

  test('reports carry file, line, kind, name and the core plan', () => {
    expect(result.workloads.map(w => `${w.file}:${w.line} ${w.kind}/${w.name}`)).toEqual([
      'all-kinds.yaml:1 Pod/chrome',
      'all-kinds.yaml:13 Deployment/api',
      'all-kinds.yaml:31 StatefulSet/db',
      'all-kinds.yaml:50 DaemonSet/node-cache',
      'all-kinds.yaml:68 ReplicaSet/legacy',
      'all-kinds.yaml:86 Job/export',
      'all-kinds.yaml:101 CronJob/nightly-report',
    ]);
    expect(result.notices).toEqual([]);
  });
});

describe('a multi-document file with comments and anchors (Helm output)', () => {
  const input = fixture('multi-doc.yaml');
  const result = injectDocuments(input, policy, 'multi-doc.yaml');

  test('documents without a workload are copied byte for byte', () => {
    const before = rawDocuments(input);
    const after = rawDocuments(result.output);
    expect(after).toHaveLength(before.length);
    expect(after[0]).toBe(before[0]); // the file's leading comment
    expect(after[1]).toBe(before[1]); // ConfigMap with a block scalar
    expect(after[3]).toBe(before[3]); // Service
  });

  test('changed documents keep their comments, anchors, aliases, flow maps, quotes and octal numbers', () => {
    const web = rawDocuments(result.output)[2];
    for (const kept of [
      '# Source: shop/templates/web.yaml',
      'replicas: 3 # scaled by the HPA in production',
      'labels: {app: web, tier: frontend}',
      'image: "registry.example.com/shop/web:5.0.0"',
      'resources: &web-resources',
      'memory: 2Gi # the kubelet caps /dev/shm here',
      'resources: *web-resources',
      'defaultMode: 0644',
    ]) {
      expect(web).toContain(kept);
    }
    const postgres = rawDocuments(result.output)[4];
    expect(postgres).toContain('# Postgres parallel workers need more than the default share.');
    expect(postgres).toContain('args: ["-c", "shared_buffers=1GB"]');
    // This document wrote its sequences flush with their keys, the web document indented them: each keeps its style.
    expect(postgres).toContain('      containers:\n      - name: postgres');
    expect(web).toContain('      containers:\n        - name: web');
  });

  test('the workloads are sized from their writers\' limits (the alias gives both containers 2Gi)', () => {
    const objects = objectsOf(result.output);
    const web = objects.find(o => o.kind === 'Deployment');
    expect(web.spec.template.spec.volumes[0].configMap.defaultMode).toBe(0o644);
    expect(shmOf(web)).toEqual({ sizeLimit: '1Gi', mountedBy: ['web', 'metrics'], annotation: '1Gi' });
    // The other container's resources are still the shared anchor's (not a copy with a mount).
    expect(web.spec.template.spec.containers[1].resources).toEqual(web.spec.template.spec.containers[0].resources);
    const postgres = objects.find(o => o.kind === 'StatefulSet');
    expect(shmOf(postgres)).toEqual({ sizeLimit: '2Gi', mountedBy: ['postgres'], annotation: '2Gi' });
    expectValidKubernetes(objects);
  });
});

describe('List objects', () => {
  const result = injectDocuments(fixture('list.yaml'), policy, 'list.yaml');

  test('every workload item is patched, other items are left alone', () => {
    const [list] = objectsOf(result.output);
    expect(list.kind).toBe('List');
    const [triton, service, job] = list.items;
    expect(shmOf(triton).sizeLimit).toBe('8Gi');
    expect(service).toEqual(objectsOf(fixture('list.yaml'))[0].items[1]);
    expect(shmOf(job)).toEqual({ sizeLimit: '32Gi', mountedBy: ['torchrun'], annotation: '32Gi' });
    expectValidKubernetes(list.items);
  });

  test('reports name each item with its own line and a patch relative to the item', () => {
    expect(result.workloads.map(w => [w.line, w.object, w.patch[0].path])).toEqual([
      [7, "Deployment 'triton' in namespace 'ml'", '/spec/template/metadata/annotations'],
      [39, "Job 'finetune' in namespace 'ml'", '/spec/template/metadata'],
    ]);
    expect(result.output.startsWith('# kubectl get deploy,job,svc -n ml -o yaml\n')).toBe(true);
  });
});

describe('anchors shared between objects', () => {
  const result = injectDocuments(fixture('anchors.yaml'), policy, 'anchors.yaml');
  const [list] = objectsOf(result.output);
  const [a, b, c] = list.items;

  test('editing the anchored container leaves the alias user that opted out as it was', () => {
    expect(shmOf(a).mountedBy).toEqual(['app']);
    expect(b.spec.template.spec.containers[0]).toEqual({ name: 'app', image: 'x', resources: { limits: { memory: '1Gi' } } });
    expect(shmOf(b).sizeLimit).toBeUndefined();
  });

  test('a container built with a merge key (<<: *app) gets its own mount', () => {
    expect(c.spec.template.spec.containers[0]).toMatchObject({ name: 'app2', image: 'x', volumeMounts: [{ name: 'dshm', mountPath: '/dev/shm' }] });
    expect(shmOf(c).sizeLimit).toBe('512Mi');
  });

  test('the edit happens in place: the anchor survives and nothing falls back to JSON', () => {
    expect(result.output).toContain('- &app\n');
    expect(result.notices).toEqual([]);
    expectValidKubernetes(list.items);
  });
});

describe('documents that are not Kubernetes objects', () => {
  const input = fixture('not-kubernetes.yaml');
  const result = injectDocuments(input, policy, 'values.yaml');

  test('are passed through unchanged with a warning naming file and line', () => {
    const [values, list] = rawDocuments(result.output);
    expect(values).toBe(rawDocuments(input)[0]);
    expect(list).toBe(rawDocuments(input)[1]);
    expect(result.notices).toEqual([
      { file: 'values.yaml', line: 2, message: 'document 1 is not a Kubernetes object (it needs apiVersion and kind): passed through unchanged', aboutWorkload: false },
      { file: 'values.yaml', line: 6, message: 'document 2 is not a Kubernetes object (it needs apiVersion and kind): passed through unchanged', aboutWorkload: false },
    ]);
    expect(shmOf(objectsOf(result.output)[2]).sizeLimit).toBe('512Mi');
  });

  test('empty documents and comment-only documents pass silently', () => {
    const text = '---\n# nothing here\n---\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n';
    const empty = injectDocuments(text, policy);
    expect(empty.output).toBe(text);
    expect(empty.notices).toEqual([]);
    expect(empty.workloads).toEqual([]);
  });

  test('a CRD named like a workload is not a workload', () => {
    const text = 'apiVersion: argoproj.io/v1alpha1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        resources: {limits: {memory: 1Gi}}\n';
    expect(injectDocuments(text, policy)).toMatchObject({ output: text, workloads: [] });
  });
});

describe('the text around a changed document', () => {
  const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n';
  const deployment = fixture('all-kinds.yaml').split(/^---\n/m)[1];

  // The changed document starts at its `---` line; everything before it is other documents and
  // the text between them, which must come out as it went in.
  test.each([
    ['an empty document with a blank line (cat a.yaml b.yaml, a.yaml ending in ---)', `${configMap}---\n\n---\n`],
    ['an empty document with blank lines', `${configMap}---\n\n\n---\n`],
    ['an empty document with a line of spaces', `${configMap}---\n   \n---\n`],
    ['an empty document with a comment and blank lines', `${configMap}---\n\n# nothing\n\n---\n`],
    ['comments and blank lines after an end marker', `${configMap}...\n\n# next: the api\n\n---\n`],
    ['blank lines at the end of the document before', `${configMap}\n\n---\n`],
    ['comments and blank lines at the start of the file', '\n# rendered by helm\n\n---\n'],
  ])('%s is kept byte for byte', (_name, before) => {
    const result = injectDocuments(`${before}${deployment}`, policy);
    expect(result.workloads.map(w => w.plan.action)).toEqual(['inject']);
    expect(result.output.slice(0, before.length)).toBe(before);
    expect(result.output.slice(before.length)).toMatch(/^apiVersion: apps\/v1\nkind: Deployment\n/);
  });

  test('blank lines at the end of a changed document are kept', () => {
    const result = injectDocuments(`${deployment}\n\n---\n${configMap}`, policy);
    expect(result.workloads.map(w => w.plan.action)).toEqual(['inject']);
    expect(result.output).toMatch(/\n {10}sizeLimit: 512Mi\n\n\n---\napiVersion: v1\nkind: ConfigMap\n/);
  });
});

describe('input a chunk at a time', () => {
  /** The result of a text given in chunks of `size` characters. */
  function inChunks(text: string, size: number, name = '<stdin>'): ManifestResult {
    const processor = new ManifestProcessor(policy);
    const file = processor.beginFile(name);
    for (let i = 0; i < text.length; i += size) file.write(text.slice(i, i + size));
    file.end();
    return processor.result();
  }
  const texts = fs.readdirSync(FIXTURES).filter(f => f.endsWith('.yaml') && f !== 'broken.yaml').map(f => fixture(f))
    .concat([
      'a: |+\n  kept\n\n\n---\nb: 1\r\nc: 2\r\n',
      '\uFEFF---\n- a\n...\n%YAML 1.1\n---\n{a: [1,\n 2]}\n# end',
      `${fixture('all-kinds.yaml')}\n...\n# after the end marker\n---\n----\n`,
    ]);

  test.each([1, 2, 3, 5, 7, 64, 4096])('chunks of %d characters give what the whole text gives', size => {
    for (const text of texts) {
      const whole = injectDocuments(text, policy);
      const chunked = inChunks(text, size);
      expect({ output: chunked.output, notices: chunked.notices, plans: chunked.workloads.map(w => w.plan) })
        .toEqual({ output: whole.output, notices: whole.notices, plans: whole.workloads.map(w => w.plan) });
    }
  });

  test('an error is reported at the same place whatever the chunks', () => {
    for (const size of [1, 13, 100]) {
      expect(() => inChunks(fixture('broken.yaml'), size, 'broken.yaml')).toThrow(/^broken\.yaml:16:9: YAML does not parse: /);
    }
  });

  test('keepWorkloads: false keeps only the denied workloads', () => {
    const processor = new ManifestProcessor(resolvePolicy({ podsWithoutLimit: 'deny' }), { keepWorkloads: false });
    const file = processor.beginFile('skips.yaml');
    file.write(fixture('skips.yaml'));
    file.end();
    expect(processor.result().workloads.map(w => `${w.name} ${w.plan.action}`)).toEqual(['no-limit deny']);
  });
});

describe('broken YAML', () => {
  test('fails with file, line and column, and the offending line', () => {
    expect(() => injectDocuments(fixture('broken.yaml'), policy, 'broken.yaml')).toThrow(InputError);
    expect(() => injectDocuments(fixture('broken.yaml'), policy, 'broken.yaml'))
      .toThrow(/^broken\.yaml:16:9: YAML does not parse: Flow sequence in block collection must be sufficiently indented and end with a \]\n {2}\s+resources: \{\}\n {2}\s+\^$/);
  });

  test.each([
    ['a tab indentation', 'apiVersion: v1\nkind: Pod\nmetadata:\n\tname: x\n', /^f\.yaml:4:1: /],
    ['a duplicate key', 'apiVersion: v1\nkind: Pod\nkind: Pod\n', /^f\.yaml:3:1: YAML does not parse: Map keys must be unique/],
    ['an unterminated quote', 'apiVersion: v1\nkind: "Pod\n', /^f\.yaml:\d+:\d+: YAML does not parse: Missing closing "quote/],
    ['an alias to nothing', 'a: *nothing\n', /^f\.yaml:1: Unresolved alias/],
  ])('%s', (_name, text, message) => {
    expect(() => injectDocuments(text, policy, 'f.yaml')).toThrow(message);
  });

  test('one broken file among several yields no output at all', () => {
    expect(() => processManifests([
      { name: 'good.yaml', text: fixture('all-kinds.yaml') },
      { name: 'broken.yaml', text: fixture('broken.yaml') },
    ], policy)).toThrow(/^broken\.yaml:16:9/);
  });

  test('an alias bomb is refused, not expanded', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]`)].join('\n');
    expect(() => injectDocuments(`${bomb}\n`, policy, 'bomb.yaml')).toThrow(/^bomb\.yaml:1: /);
  });
});

describe('a second run', () => {
  test.each(['all-kinds.yaml', 'multi-doc.yaml', 'list.yaml', 'anchors.yaml', 'skips.yaml'])('changes nothing in %s', name => {
    const once = injectDocuments(fixture(name), policy).output;
    const twice = injectDocuments(once, policy);
    expect(twice.output).toBe(once);
    expect(twice.workloads.filter(w => w.patch.length > 0)).toEqual([]);
  });

  test('an earlier injection is resized when the limit changed', () => {
    const result = injectDocuments(fixture('injected-old-size.yaml'), policy);
    expect(result.workloads[0]).toMatchObject({ currentSize: '1Gi', plan: { action: 'update', size: '2Gi' } });
    const [api] = objectsOf(result.output);
    expect(shmOf(api)).toEqual({ sizeLimit: '2Gi', mountedBy: ['api'], annotation: '2Gi' });
    expect(result.output).toContain('# Injected earlier with --ratio 0.5');
  });

  test('the size before is read from the volume the plan sizes, also when the pod names it', () => {
    const renamed = fixture('injected-old-size.yaml')
      .replace('cdk8s-shm.io/size-limit: 1Gi', 'cdk8s-shm.io/size-limit: 1Gi\n        cdk8s-shm.io/volume-name: shm')
      .replace(/name: dshm/g, 'name: shm');
    const result = injectDocuments(renamed, policy);
    expect(result.workloads[0]).toMatchObject({ currentSize: '1Gi', plan: { action: 'update', size: '2Gi', volumeName: 'shm' } });
    expect(shmOf(objectsOf(result.output)[0], 'shm')).toEqual({ sizeLimit: '2Gi', mountedBy: ['api'], annotation: '2Gi' });
  });
});

describe('the policy and the per-pod annotations', () => {
  test('skips are reported with the core reason, and loud ones become notices', () => {
    const result = injectDocuments(fixture('skips.yaml'), policy, 'skips.yaml');
    expect(result.workloads.map(w => [w.name, w.plan.action, w.plan.reason ?? w.plan.size])).toEqual([
      ['opted-out', 'skip', 'opted-out'],
      ['no-limit', 'skip', 'no-memory-limit'],
      ['own-shm', 'skip', 'user-shm-unbounded'],
      ['sized', 'inject', '256Mi'],
    ]);
    expect(result.notices.map(n => `${n.line}: ${n.message}`)).toEqual([
      "18: Deployment 'no-limit': no /dev/shm: container 'app' has no memory limit, so /dev/shm cannot be sized from a limit",
      "32: Deployment 'own-shm': no /dev/shm: container 'app' already mounts volume 'shm' at /dev/shm, a memory-backed emptyDir "
      + "without sizeLimit that may grow to the node's memory (kubernetes#125852); the rule would give it 512Mi (set sizeUnboundedShm)",
    ]);
  });

  test('a resolved policy shapes every size, as in the webhook', () => {
    const result = injectDocuments(fixture('all-kinds.yaml'), resolvePolicy({ ratio: '0.25', minimum: '256Mi', maximum: '1Gi' }));
    expect(result.workloads.map(w => `${w.name}=${w.plan.size}/${w.plan.sizeSource}`)).toEqual([
      'chrome=512Mi/ratio', 'api=256Mi/ratio', 'db=1Gi/ratio', 'node-cache=256Mi/minimum', 'legacy=768Mi/ratio',
      'export=1Gi/maximum', 'nightly-report=384Mi/ratio',
    ]);
  });

  test('opt-in selection only touches pods annotated inject: "true"', () => {
    const text = fixture('all-kinds.yaml').replace('  name: chrome\n', '  name: chrome\n  annotations:\n    cdk8s-shm.io/inject: "true"\n');
    const result = injectDocuments(text, resolvePolicy({ podSelection: 'opt-in' }));
    expect(result.workloads.filter(w => w.plan.action === 'inject').map(w => w.name)).toEqual(['chrome']);
    expect(result.notices).toEqual([]); // not-opted-in is a quiet skip
  });
});

describe('helpers', () => {
  test('indentsSequences reads the document\'s own style', () => {
    expect(indentsSequences('a:\n- x\nb:\n  c:\n  - y\n')).toBe(false);
    expect(indentsSequences('a:\n  - x\n')).toBe(true);
    expect(indentsSequences('a: 1\n')).toBe(true);
  });

  test('joinFiles separates files with --- unless the next one starts with it', () => {
    expect(joinFiles(['a: 1', 'b: 2\n', '# c\n---\nc: 3\n', '  \n'])).toBe('a: 1\n---\nb: 2\n# c\n---\nc: 3\n');
  });

  test('flatObjects spreads Lists', () => {
    expect(flatObjects(fixture('list.yaml')).map(o => o.kind)).toEqual(['Deployment', 'Service', 'Job']);
  });
});
