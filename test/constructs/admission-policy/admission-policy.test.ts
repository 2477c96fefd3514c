/**
 * What SharedMemoryAdmissionPolicy synthesizes: the policies of a pod's creation and of its resize, their bindings and match
 * constraints, the rule as named CEL variables, and the props it refuses. That the CEL is the
 * core's rule, run by the API server's own code, is test/conformance/admission-policy-cel.test.ts's
 * (`npm run conformance`: it builds that code with Go).
 */
import { Chart, Size, Testing } from 'cdk8s';
import { NamespaceSelection, PodSelection, PodsWithoutLimit, SharedMemoryAdmissionPolicy } from '../../../src';
import { synthAdmissionPolicy } from '../../support/admission-policy';

describe('what SharedMemoryAdmissionPolicy synthesizes', () => {
  test('a MutatingAdmissionPolicy and two ValidatingAdmissionPolicies (denials, warnings), each with its binding, then those of a resize', () => {
    const objects = synthAdmissionPolicy({ excludedNamespaces: ['monitoring'], namespaceSelection: NamespaceSelection.OPT_IN });
    expect(objects.map(o => `${o.kind}/${o.metadata.name}`)).toEqual([
      'MutatingAdmissionPolicy/cdk8s-shm', 'MutatingAdmissionPolicyBinding/cdk8s-shm',
      'ValidatingAdmissionPolicy/cdk8s-shm-without-limit', 'ValidatingAdmissionPolicyBinding/cdk8s-shm-without-limit',
      'ValidatingAdmissionPolicy/cdk8s-shm-warnings', 'ValidatingAdmissionPolicyBinding/cdk8s-shm-warnings',
      'ValidatingAdmissionPolicy/cdk8s-shm-resize-warnings', 'ValidatingAdmissionPolicyBinding/cdk8s-shm-resize-warnings',
      'ValidatingAdmissionPolicy/cdk8s-shm-unsafe-shrink', 'ValidatingAdmissionPolicyBinding/cdk8s-shm-unsafe-shrink',
      'MutatingAdmissionPolicy/cdk8s-shm-harden', 'MutatingAdmissionPolicyBinding/cdk8s-shm-harden',
    ]);
    const [mutating, binding, validating, validatingBinding, warnings, warningsBinding] = objects;
    expect(mutating.spec).toMatchObject({
      failurePolicy: 'Ignore',
      reinvocationPolicy: 'IfNeeded',
      matchConstraints: {
        namespaceSelector: {
          matchExpressions: [
            { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'monitoring'] },
            { key: 'cdk8s-shm.io/inject', operator: 'In', values: ['enabled'] },
          ],
        },
        resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }],
      },
    });
    expect(mutating.spec.mutations.map((m: any) => m.patchType)).toEqual(['JSONPatch']);
    expect(binding.spec).toEqual({ policyName: 'cdk8s-shm' });
    expect(validating.spec.failurePolicy).toBe('Ignore');
    expect(validating.spec.variables).toEqual(mutating.spec.variables);
    expect(validatingBinding.spec).toEqual({ policyName: 'cdk8s-shm-without-limit', validationActions: ['Deny'] });
    // The warnings never refuse a pod: the client sees them, the pod is admitted.
    expect(warningsBinding.spec).toEqual({ policyName: 'cdk8s-shm-warnings', validationActions: ['Warn'] });
    expect(warnings.spec.failurePolicy).toBe('Ignore');
    expect(warnings.spec.matchConstraints).toEqual(mutating.spec.matchConstraints);
    expect(warnings.spec.variables.slice(0, mutating.spec.variables.length)).toEqual(mutating.spec.variables);
    expect(warnings.spec.validations.map((v: any) => v.messageExpression).join('\n')).toContain("is not one of cdk8s-shm's; it is ignored");
  });

  test('every step of the rule is a named variable that says what it is', () => {
    const [mutating] = synthAdmissionPolicy();
    const variables: Array<{ name: string; expression: string }> = mutating.spec.variables;
    expect(variables.map(v => v.name)).toEqual(expect.arrayContaining(['annotations', 'targets', 'basis', 'podLimit', 'share', 'decision', 'size', 'annotationEdits']));
    for (const v of variables) expect(v.expression).toMatch(/^\/\/ [A-Z].*\n/);
  });

  test('pods the rule skips whatever they hold are left alone by match conditions, before any variable', () => {
    const conditions = (props = {}) => synthAdmissionPolicy(props)[0].spec.matchConditions;
    expect(conditions().map((c: any) => c.name)).toEqual(['not-a-mirror-pod', 'not-limit-follows', 'selected-pod', 'has-runtime-shm', 'may-be-sized']);
    // Where a pod without any limit may still be sized or denied, the condition lets every pod through to the rule.
    const maybeSized = (props = {}) => conditions(props).find((c: any) => c.name === 'may-be-sized').expression.split('\n')[1];
    expect(maybeSized()).toMatch(/^'skip' != 'skip' \|\| '' != '' \|\| /);
    expect(maybeSized({ podsWithoutLimit: PodsWithoutLimit.deny() })).toMatch(/^'deny' != 'skip' \|\| /);
    expect(maybeSized({ podsWithoutLimit: PodsWithoutLimit.fixedSize(Size.gibibytes(1)) })).toMatch(/^'fixed' != 'skip' \|\| /);
  });

  test('the CEL carries the settings as given, in one variable; the selection is in a match condition', () => {
    const [mutating] = synthAdmissionPolicy({ ratio: 0.25, maximum: Size.gibibytes(8), podSelection: PodSelection.OPT_IN });
    const expression = (name: string) => mutating.spec.variables.find((v: any) => v.name === name).expression;
    expect(expression('policy')).toMatch(/\n\{'ratio': '0.25', 'size': '', 'minimum': '', 'maximum': '8Gi', 'containers': '', /);
    expect(mutating.spec.matchConditions.find((c: any) => c.name === 'selected-pod').expression).toMatch(/\.orValue\('opt-in' == 'opt-in' \? '' : 'true'\) == 'true'$/);
    const [plain] = synthAdmissionPolicy();
    expect(plain.spec.variables.find((v: any) => v.name === 'policy').expression).toMatch(/\{'ratio': '', 'size': '', 'minimum': '', 'maximum': '', /);
  });

  test('a resize has policies of its own, which match pods/resize only: warnings and refusal always, the new sizeLimit with resizeVolumes', () => {
    const names = (props = {}) => synthAdmissionPolicy(props).map(o => `${o.kind}/${o.metadata.name}`).slice(6, -2);
    expect(names()).toEqual([
      'ValidatingAdmissionPolicy/cdk8s-shm-resize-warnings', 'ValidatingAdmissionPolicyBinding/cdk8s-shm-resize-warnings',
      'ValidatingAdmissionPolicy/cdk8s-shm-unsafe-shrink', 'ValidatingAdmissionPolicyBinding/cdk8s-shm-unsafe-shrink',
    ]);
    const objects = synthAdmissionPolicy({ resizeVolumes: true, denyUnsafeShrink: true });
    expect(objects.map(o => `${o.kind}/${o.metadata.name}`).slice(6, 8)).toEqual(['MutatingAdmissionPolicy/cdk8s-shm-resize', 'MutatingAdmissionPolicyBinding/cdk8s-shm-resize']);
    const [creation, ...rest] = objects;
    const resize = rest.filter(o => /resize|unsafe-shrink/.test(o.metadata.name));
    for (const o of resize.filter(r => !r.kind.endsWith('Binding'))) {
      expect(o.spec.matchConstraints.resourceRules).toEqual([{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['pods/resize'], scope: 'Namespaced' }]);
      expect(o.spec.matchConstraints.namespaceSelector).toEqual(creation.spec.matchConstraints.namespaceSelector);
      expect(o.spec.failurePolicy).toBe('Ignore');
      // The rule's variables, written once, then the resize's: no name is used twice.
      expect(o.spec.variables.slice(0, creation.spec.variables.length)).toEqual(creation.spec.variables);
      expect(new Set(o.spec.variables.map((v: any) => v.name)).size).toBe(o.spec.variables.length);
    }
    const bindings = Object.fromEntries(resize.filter(o => o.kind.endsWith('Binding')).map(o => [o.metadata.name, o.spec.validationActions]));
    expect(bindings).toEqual({ 'cdk8s-shm-resize': undefined, 'cdk8s-shm-resize-warnings': ['Warn'], 'cdk8s-shm-unsafe-shrink': ['Deny'] });
    // A pod's creation evaluates none of it: its policies are the same with or without the resize's settings.
    expect(objects.slice(0, 6).map(o => o.spec.matchConditions)).toEqual(synthAdmissionPolicy().slice(0, 6).map(o => o.spec.matchConditions));
  });

  test('hardenMount: the mounts of ours get bindMountOptions, and the warnings policy looks at every pod to say when they are missing', () => {
    const [mutating, , , , warnings] = synthAdmissionPolicy({ hardenMount: true });
    expect(mutating.spec.variables.find((v: any) => v.name === 'policy').expression).toContain("'hardenMount': 'true'");
    expect(mutating.spec.variables.find((v: any) => v.name === 'hardenEdits').expression).toContain("['nosuid', 'nodev', 'noexec']");
    // Never in the sizing's JSON patch: an API server whose pods lack the field would refuse the pod (its strict decoding).
    expect(mutating.spec.mutations[0].jsonPatch.expression).not.toContain('bindMountOptions');
    // A policy of its own, an apply configuration, so that such an API server fails it alone; with the prop, for every pod.
    const objects = synthAdmissionPolicy({ hardenMount: true });
    const [harden, hardenBinding] = objects.slice(-2);
    expect([harden.kind, harden.metadata.name, hardenBinding.spec]).toEqual(['MutatingAdmissionPolicy', 'cdk8s-shm-harden', { policyName: 'cdk8s-shm-harden' }]);
    expect(harden.spec.mutations[0].applyConfiguration.expression).toContain('bindMountOptions: e[1]');
    expect(harden.spec.matchConditions.slice(0, -1)).toEqual(mutating.spec.matchConditions);
    expect(harden.spec.matchConditions.slice(-1)[0].expression).toMatch(/\ntrue \|\| 'cdk8s-shm.io\/harden-mount' in /);
    expect(harden.spec.reinvocationPolicy).toBe('IfNeeded');
    // Without the prop, only pods with the annotation reach its variables.
    const plain = synthAdmissionPolicy().slice(-2)[0];
    expect(plain.spec.matchConditions.slice(-1)[0].expression).toMatch(/\nfalse \|\| 'cdk8s-shm.io\/harden-mount' in object.metadata.\?annotations.orValue\(\{\}\)$/);
    expect(warnings.spec.matchConditions.find((c: any) => c.name === 'annotations-read').expression).toContain('\n(true || ');
    expect(warnings.spec.validations.map((v: any) => v.messageExpression)).toContain(
      "'/dev/shm nosuid,nodev,noexec needs VolumeBindMountOptions (1.37+); without it the API server drops them'");
    // Without it, the warnings policy still looks only at pods with annotations of ours.
    expect(synthAdmissionPolicy()[4].spec.matchConditions.find((c: any) => c.name === 'annotations-read').expression).not.toContain('(true || ');
  });

  test('hardenMount says at synthesis, once, that it needs an API server of 1.37+', () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const app = Testing.app();
      new SharedMemoryAdmissionPolicy(new Chart(app, 'cluster'), 'policy', { hardenMount: true });
      new SharedMemoryAdmissionPolicy(new Chart(app, 'plain'), 'policy', {});
      app.synthYaml();
      app.synthYaml();
      expect(warn.mock.calls.map(c => c[0])).toEqual([
        "[cluster/policy] Warning: 'hardenMount' (harden_mount in Python) of SharedMemoryAdmissionPolicy 'policy' asks for volumeMounts[].bindMountOptions, "
        + 'which need an API server of Kubernetes 1.37+ with the gate VolumeBindMountOptions: elsewhere the pods are sized without them, '
        + "and each one's creation warns that they are missing",
      ]);
    } finally {
      warn.mockRestore();
    }
  });

  test('bad props are refused with the prop, its value and the fix', () => {
    expect(() => synthAdmissionPolicy({ ratio: 2 })).toThrow("'ratio' (2) must be greater than 0 and at most 1 in SharedMemoryAdmissionPolicy 'policy'");
    expect(() => synthAdmissionPolicy({ ratio: 0.1234567891 })).toThrow("'ratio' (0.1234567891) must be a decimal of at most 9 places, without an exponent, in SharedMemoryAdmissionPolicy 'policy'");
    expect(() => synthAdmissionPolicy({ ratio: 1e-7 })).toThrow("'ratio' (1e-7) must be a decimal of at most 9 places");
    expect(() => synthAdmissionPolicy({ maximum: Size.tebibytes(8192) })).toThrow("'maximum' (8Pi) must be below 8Pi in SharedMemoryAdmissionPolicy 'policy', which reads no larger quantity exactly");
    expect(() => synthAdmissionPolicy({ minimum: Size.gibibytes(2), maximum: Size.gibibytes(1) })).toThrow("'minimum' (2Gi) must not exceed 'maximum' (1Gi)");
    expect(() => synthAdmissionPolicy({ name: 'Bad' })).toThrow("'name' (\"Bad\") of SharedMemoryAdmissionPolicy 'policy' must be a DNS-1123 subdomain");
    expect(() => synthAdmissionPolicy({ excludedNamespaces: ['Not A Namespace'] })).toThrow("'excludedNamespaces' (excluded_namespaces in Python) of SharedMemoryAdmissionPolicy 'policy' holds");
    expect(() => synthAdmissionPolicy({ limitFollows: true })).toThrow("'limitFollows' (limit_follows in Python) of SharedMemoryAdmissionPolicy 'policy' cannot be true: "
      + "a MutatingAdmissionPolicy cannot read the namespace's LimitRange and ResourceQuota, so it never grows limits (it leaves pods that ask for it alone); "
      + 'use SharedMemoryWebhook, or set it on the workloads with SharedMemory.addTo() (add_to in Python)');
    expect(synthAdmissionPolicy({ limitFollows: false }).length).toBeGreaterThan(0);
    expect(() => synthAdmissionPolicy({ labels: { 'app.kubernetes.io/name': 'x' } })).toThrow('may not set app.kubernetes.io/name');
  });

  test('the construct is exported for every jsii language', () => {
    expect(typeof SharedMemoryAdmissionPolicy).toBe('function');
  });
});
