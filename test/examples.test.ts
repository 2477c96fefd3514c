import * as fs from 'fs';
import * as path from 'path';
import { App } from 'cdk8s';
import { examples, exampleTable, shmRows } from '../examples/registry';
import { podTemplateOf } from '../src/core';
import { podRuleViolations } from './support/pod-rules';
import { validateAgainstSchema } from './support/schema';

/** What each shipped example must give its workloads: pod memory limit, basis and /dev/shm, worked out by hand. */
const EXPECTED: Record<string, Array<[RegExp, string, string, string]>> = {
  // the init container has no limit, so the pod has none; the trainer's own 32Gi is the basis
  'pytorch-training': [[/^Job\//, 'none', '32Gi (trainer)', '16Gi']],
  'postgres': [[/^StatefulSet\//, '8Gi', '8Gi (postgres)', '2Gi']],
  'selenium-chrome': [[/^Deployment\//, '4Gi', '4Gi (chrome)', '2Gi']],
  // pod limit 96Gi + 256Mi for the metrics sidecar; half of vllm's 96Gi is 48Gi, lowered by 'maximum' to 16Gi.
  'nccl-inference': [[/^Deployment\//, '98560Mi', '96Gi (vllm)', '16Gi']],
  'plain-yaml': [
    [/^Deployment\/ray-worker$/, '16Gi', '16Gi (ray)', '8Gi'],
    [/^StatefulSet\/oracle-xe$/, '4Gi', '4Gi (oracle)', '3Gi'], // the pod's own cdk8s-shm.io/size annotation
    [/^CronJob\/nightly-report$/, '2Gi', '2Gi (renderer)', '1Gi'],
    [/^Deployment\/legacy-api$/, 'none', '-', '64Mi (runtime default)'], // no limit: left alone
  ],
};

const all = examples();
const synthesized = all.map(example => {
  const app = new App();
  return { name: example.name, objects: example.build(app).toJson() };
});

test('the core examples are all there', () => {
  expect(all.map(e => e.name)).toEqual(expect.arrayContaining(Object.keys(EXPECTED)));
});

test.each(Object.keys(EXPECTED))('%s: pod memory limit and /dev/shm of every workload', name => {
  const { objects } = synthesized.find(s => s.name === name)!;
  const rows = shmRows(objects);
  expect(rows).toHaveLength(EXPECTED[name].length);
  for (const [pattern, limit, basis, shm] of EXPECTED[name]) {
    const row = rows.find(r => pattern.test(r.workload));
    expect(row).toEqual(expect.objectContaining({ podMemoryLimit: limit, basis, devShm: shm }));
  }
});

test("the README shows the table 'npm run examples' prints", () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const table = exampleTable(synthesized.map(s => ({ name: s.name, objects: s.objects })));
  expect(readme).toContain(table.split('\n').map(line => `    ${line}`).join('\n'));
});

test('every container of every sized workload mounts /dev/shm from a memory-backed emptyDir', () => {
  for (const { name, objects } of synthesized.filter(s => s.name in EXPECTED)) {
    for (const object of objects) {
      const spec = podTemplateOf(object)?.template.spec as any;
      if (!spec?.volumes?.some((v: any) => v.name === 'dshm')) continue;
      expect(spec.volumes.find((v: any) => v.name === 'dshm').emptyDir.medium).toBe('Memory');
      // every app container and sidecar; plain init containers too unless the example leaves them out
      const initToo = name !== 'pytorch-training';
      for (const c of [...spec.containers, ...(spec.initContainers ?? []).filter((i: any) => initToo || i.restartPolicy === 'Always')]) {
        expect({ example: name, container: c.name, mounts: c.volumeMounts })
          .toEqual(expect.objectContaining({ mounts: expect.arrayContaining([{ name: 'dshm', mountPath: '/dev/shm' }]) }));
      }
    }
  }
});

test('every synthesized object of every example validates against the Kubernetes schema and Pod rules', () => {
  const objects = synthesized.flatMap(s => s.objects);
  const results = validateAgainstSchema(objects);
  const failures = results.flatMap((r, i) => r.ok ? [] : [`${objects[i].kind}/${objects[i].metadata?.name}: ${r.error}`]);
  expect(failures).toEqual([]);
  for (const object of objects) {
    const spec = podTemplateOf(object)?.template.spec;
    if (spec) expect({ object: object.metadata.name, problems: podRuleViolations(spec) }).toEqual({ object: object.metadata.name, problems: [] });
  }
});
