/**
 * Planning with `planForAdmissionPolicy`: the core's plan, except for the pods the
 * MutatingAdmissionPolicy leaves alone, which the plan skips and says why. (That the policy does
 * exactly this is test/admission-policy-cel.test.ts's claim.)
 */
import { container, mount, template } from './fixtures';
import { Policy, PolicyInput, admissionPolicyDifference, planForAdmissionPolicy, planSharedMemory, planToPatch, resolvePolicy } from '../../src/core';

const policy = (input: PolicyInput = {}): Policy => resolvePolicy(input);

describe('pods the admission policy cannot size exactly are skipped, with the reason and what the core would do', () => {
  test.each<[string, any, string]>([
    ['a limit of 8Pi', template({ containers: [container('app', '8Pi')] }), "the memory limit of container 'app' (8Pi) is 8Pi or more"],
    ['a ratio with an exponent', template({ containers: [container('app', '2Gi')] }, { 'cdk8s-shm.io/ratio': '5e-1' }), 'cdk8s-shm.io/ratio ("5e-1") has an exponent'],
    ['a ratio of ten places', template({ containers: [container('app', '2Gi')] }, { 'cdk8s-shm.io/ratio': '0.1234567891' }), 'cdk8s-shm.io/ratio ("0.1234567891") has an exponent or more than 9 decimal places'],
    ['a size of 1e40', template({ containers: [container('app', '2Gi')] }, { 'cdk8s-shm.io/size': '1e40' }), 'cdk8s-shm.io/size (1e40) is 8Pi or more'],
    ['a backstep in a mount path', template({ containers: [container('app', '2Gi', { volumeMounts: [mount('data', '/data/../cache')] })] }),
      "container 'app' mounts at /data/../cache, a path with a '..' element"],
    ['U+FEFF in container names', template({ containers: [container('app', '2Gi')] }, { 'cdk8s-shm.io/containers': 'app,\ufeffapp' }), 'cdk8s-shm.io/containers holds U+0085 or U+FEFF'],
  ])('%s', (_name, pod, why) => {
    const plan = planForAdmissionPolicy(pod, policy());
    expect(plan).toMatchObject({ action: 'skip', reason: 'admission-policy-limit' });
    expect(plan.message).toContain(`the MutatingAdmissionPolicy leaves the pod alone: ${why}`);
    expect(plan.message).toMatch(/; the core would have (mounted|sized)/);
    expect(planToPatch(plan)).toEqual([]);
    // Without the delivery, the core sizes it.
    expect(planSharedMemory(pod, resolvePolicy()).action).toBe('inject');
  });

  test('a pod the core would deny is admitted unchanged, and the plan says so', () => {
    const pod = template({ containers: [container('app', undefined, { volumeMounts: [mount('data', '/a/../b')] })] });
    const plan = planForAdmissionPolicy(pod, policy({ podsWithoutLimit: 'deny' }));
    expect(plan).toMatchObject({ action: 'skip', reason: 'admission-policy-limit' });
    expect(plan.message).toContain("; the core would deny it (container 'app' has no memory limit");
  });

  test('a pod larger than the policy is known to size may be left alone', () => {
    const containers = Array.from({ length: 300 }, (_, i) => container(`c${i}`, '1Gi'));
    const plan = planForAdmissionPolicy(template({ containers }), policy());
    expect(plan.message).toContain('the MutatingAdmissionPolicy may leave the pod alone: the pod (300 containers');
    expect(admissionPolicyDifference(template({ containers }), planSharedMemory(template({ containers }), resolvePolicy()))).toMatchObject({ limit: 'cost', uncertain: true });
  });

  test('what the rule skips or leaves unchanged is no difference, whatever CEL could read', () => {
    const windows = template({ os: { name: 'windows' }, containers: [container('app', '8Pi')] });
    expect(planForAdmissionPolicy(windows, policy())).toMatchObject({ action: 'skip', reason: 'windows' });
    const sized = template({
      containers: [container('app', '2Gi', { volumeMounts: [mount('dshm', '/dev/shm'), mount('data', '/a/../b')] })],
      volumes: [{ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }],
    }, { 'cdk8s-shm.io/size-limit': '1Gi' });
    expect(planForAdmissionPolicy(sized, policy())).toMatchObject({ action: 'unchanged' });
  });

  test('fine quantities below 8Pi and ordinary forms are read exactly: no difference', () => {
    const pod = template({ containers: [container('app', '966367641600m', { volumeMounts: [mount('data', '//data/./x/')] })] }, {
      'cdk8s-shm.io/ratio': '+.25', 'cdk8s-shm.io/minimum': ' 64Mi ', 'cdk8s-shm.io/containers': 'app, other',
    });
    const plan = planForAdmissionPolicy(pod, policy());
    expect(plan).toMatchObject({ action: 'inject', size: '230Mi' });
    expect(planSharedMemory(pod, resolvePolicy())).toEqual(plan);
  });
});
