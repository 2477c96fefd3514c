import { App } from 'cdk8s';
import { examples, shmRows } from '../examples/registry';
import { podTemplateOf } from '../src/core';
import { podRuleViolations } from './support/pod-rules';
import { validateAgainstSchema } from './support/schema';

/** What each shipped example must give its workloads: pod memory limit and /dev/shm, worked out by hand. */
const EXPECTED: Record<string, Array<[RegExp, string, string]>> = {
  'pytorch-training': [[/^Job\//, '32Gi', '16Gi']],
  'postgres': [[/^StatefulSet\//, '8Gi', '2Gi']],
  'selenium-chrome': [[/^Deployment\//, '4Gi', '2Gi']],
  // 96Gi + 256Mi for the metrics sidecar; half is 49280Mi, capped by 'maximum' at 16Gi.
  'nccl-inference': [[/^Deployment\//, '98560Mi', '16Gi']],
  'plain-yaml': [
    [/^Deployment\/ray-worker$/, '16Gi', '8Gi'],
    [/^StatefulSet\/oracle-xe$/, '4Gi', '3Gi'], // the pod's own cdk8s-shm.io/size annotation
    [/^CronJob\/nightly-report$/, '2Gi', '1Gi'],
    [/^Deployment\/legacy-api$/, 'none', '64Mi (runtime default)'], // no limit: left alone
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
  for (const [pattern, limit, shm] of EXPECTED[name]) {
    const row = rows.find(r => pattern.test(r.workload));
    expect(row).toEqual(expect.objectContaining({ podMemoryLimit: limit, devShm: shm }));
  }
});

test('every container of every sized workload mounts /dev/shm from a memory-backed emptyDir', () => {
  for (const { name, objects } of synthesized.filter(s => s.name in EXPECTED)) {
    for (const object of objects) {
      const spec = podTemplateOf(object)?.template.spec as any;
      if (!spec?.volumes?.some((v: any) => v.name === 'dshm')) continue;
      expect(spec.volumes.find((v: any) => v.name === 'dshm').emptyDir.medium).toBe('Memory');
      for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
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
