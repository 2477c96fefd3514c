/**
 * `reviewAdmission` on its own, with no HTTP: the envelope rules, the outcome for every frozen
 * fixture, and the promise that it decides only through the core and never throws.
 */
import * as fc from 'fast-check';
import { applyPatch, deepClone } from 'fast-json-patch';
import { loadFixture, loadFixtures, withPod } from './support/fixtures';
import { SIZE_LIMIT_ANNOTATION, planSharedMemory, planToPatch, resolvePolicy } from '../../../src/core';
import { MAX_WARNING_LENGTH, formatWarning, reviewAdmission } from '../../../src/programs/webhook/review';

const policy = resolvePolicy({});

function decodePatch(result: ReturnType<typeof reviewAdmission>): any[] {
  const patch = result.review?.response.patch;
  return patch === undefined ? [] : JSON.parse(Buffer.from(patch, 'base64').toString('utf8'));
}

describe('every fixture', () => {
  // file → [outcome, reason, size]
  const expected: Record<string, [string, string, string?]> = {
    '01-pepr-admission-create-pod.request.json': ['skip', 'no-memory-limit'],
    '02-kubewarden-volumes-initcontainers-hostpath.request.json': ['skip', 'no-memory-limit'],
    '03-kubewarden-ephemeral-container.request.json': ['skip', 'no-memory-limit'],
    // the larger writer of 3Gi and 2Gi
    '04-kubewarden-resources-limits.request.json': ['inject', '', '1536Mi'],
    '05-kubewarden-hostipc-hostpid-hostnetwork.request.json': ['skip', 'host-ipc'],
    '06-eks-pod-identity-admissionreview-envelope.json': ['skip', 'no-memory-limit'],
    // trainer 3584Mi is the largest writer (metrics 256Mi, sidecar 256Mi; the 512Mi init container runs before them)
    '10-sidecar-and-init-containers.json': ['inject', '', '1792Mi'],
    '11-pod-level-resources.json': ['inject', '', '4Gi'],
    '12-existing-volumes-and-mounts.json': ['inject', '', '1Gi'],
    // 'app' has no limit, 'side' has 1Gi: sized from 'side', with a warning about 'app'
    '13-no-memory-limits.json': ['inject', '', '512Mi'],
    '14-opt-in-annotated.json': ['inject', '', '512Mi'],
    '15-opted-out.json': ['skip', 'opted-out'],
    '16-update-operation.json': ['ignored', 'operation-update'],
    '17-dry-run.json': ['inject', '', '2Gi'],
    '18-windows.json': ['skip', 'windows'],
    '19-already-injected.json': ['update', '', '1Gi'],
    // the pod's own memory-backed emptyDir without sizeLimit: left alone by default
    '20-user-shm-mount.json': ['skip', 'user-shm-unbounded'],
    // the largest writer is ceil(966367641.6) bytes, halved, rounded down to whole MiB.
    '21-odd-quantities.json': ['inject', '', '460Mi'],
    '22-malformed-containers.json': ['skip', 'invalid-pod'],
    '23-unknown-fields.json': ['inject', '', '512Mi'],
    '24-mirror-pod.json': ['skip', 'mirror-pod'], // the core's skip: never planned into a patch
    '25-invalid-annotation.json': ['skip', 'invalid-annotation'],
    '26-size-annotation.json': ['inject', '', '3Gi'],
    // half of 100Mi is below the runtime's 64Mi, which the pod keeps
    '27-generate-name-no-metadata-annotations.json': ['skip', 'below-runtime-default'],
  };

  test('the table covers every fixture', () => {
    expect(loadFixtures().map(f => f.file).sort()).toEqual(Object.keys(expected).sort());
  });

  test.each(loadFixtures().map(f => [f.file, f.review]))('%s', (file, review) => {
    const [outcome, reason, size] = expected[file];
    const result = reviewAdmission(review, policy);
    expect(result.httpStatus).toBe(200);
    expect({ outcome: result.outcome, reason: result.reason, size: result.plan?.size }).toEqual({ outcome, reason, size });
    const response = result.review!.response;
    expect(response.uid).toBe(review.request.uid);
    expect(response.allowed).toBe(true);
    for (const warning of response.warnings ?? []) expect(warning.length).toBeLessThanOrEqual(MAX_WARNING_LENGTH);

    // The decision is the core's, operation for operation.
    if (outcome !== 'ignored') {
      expect(decodePatch(result)).toEqual(planToPatch(planSharedMemory(review.request.object, policy), ''));
    }
    if (outcome === 'inject' || outcome === 'update') {
      const patched = applyPatch(deepClone(review.request.object), decodePatch(result), true, false).newDocument;
      expect(patched.metadata.annotations[SIZE_LIMIT_ANNOTATION]).toBe(size);
      expect(patched.spec.volumes.find((v: any) => v.name === 'dshm')).toEqual({ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: size } });
      // Reinvocation: the patched pod needs nothing more.
      const again = reviewAdmission(withPod(review, patched), policy);
      expect(again.outcome).toBe('unchanged');
      expect(again.review!.response.patch).toBeUndefined();
    } else {
      expect(response.patch).toBeUndefined();
      expect(response.patchType).toBeUndefined();
    }
  });
});

describe('warnings', () => {
  test('skipped pods get one, naming the reason', () => {
    const response = reviewAdmission(loadFixture('13-no-memory-limits.json'), resolvePolicy({ containers: ['app'] })).review!.response;
    expect(response.warnings).toEqual(["cdk8s-shm: no /dev/shm: container 'app' has no memory limit, so /dev/shm cannot be sized from a limit"]);
  });

  test('a pod sized from one container names the container without a limit', () => {
    const response = reviewAdmission(loadFixture('13-no-memory-limits.json'), policy).review!.response;
    expect(response.warnings).toEqual(["cdk8s-shm: container 'app' has no memory limit; the /dev/shm pages it writes are not bounded"]);
  });

  test('a pod below the runtime default is skipped quietly: it keeps what it had', () => {
    const result = reviewAdmission(loadFixture('27-generate-name-no-metadata-annotations.json'), policy);
    expect(result.outcome).toBe('skip');
    expect(result.review!.response.warnings).toBeUndefined();
  });

  test('a pod that opted out, an UPDATE, a mirror pod and a plain injection get none', () => {
    for (const file of ['15-opted-out.json', '16-update-operation.json', '24-mirror-pod.json', '04-kubewarden-resources-limits.request.json']) {
      expect(reviewAdmission(loadFixture(file), policy).review!.response.warnings).toBeUndefined();
    }
  });

  test('policy decisions are reported: a size below the runtime default, a fixed size for a pod without a limit', () => {
    expect(reviewAdmission(loadFixture('27-generate-name-no-metadata-annotations.json'), resolvePolicy({ minimum: '16Mi' })).review!.response.warnings)
      .toEqual(["cdk8s-shm: /dev/shm 50Mi is smaller than the runtime's default 64Mi"]);
    const fixed = reviewAdmission(loadFixture('13-no-memory-limits.json'), resolvePolicy({ podsWithoutLimit: 'fixed', fixedSize: '256Mi', containers: ['app'] }));
    expect(fixed.outcome).toBe('inject');
    expect(fixed.plan?.size).toBe('256Mi');
    expect(fixed.review!.response.warnings).toEqual(["cdk8s-shm: container 'app' has no memory limit; /dev/shm pages are charged to no bound"]);
  });

  test('not-opted-in pods are quiet in opt-in mode, and opted-in pods are injected', () => {
    const optIn = resolvePolicy({ podSelection: 'opt-in' });
    const skipped = reviewAdmission(loadFixture('04-kubewarden-resources-limits.request.json'), optIn);
    expect([skipped.outcome, skipped.reason, skipped.review!.response.warnings]).toEqual(['skip', 'not-opted-in', undefined]);
    expect(reviewAdmission(loadFixture('14-opt-in-annotated.json'), optIn).outcome).toBe('inject');
  });

  test('formatWarning keeps every warning printable and under 120 characters, counted in bytes', () => {
    fc.assert(fc.property(fc.fullUnicodeString({ maxLength: 400 }), text => {
      const warning = formatWarning(text);
      // Under 120 however counted: UTF-8 bytes (Go's len) >= UTF-16 units >= code points.
      expect(Buffer.byteLength(warning)).toBeLessThanOrEqual(MAX_WARNING_LENGTH);
      expect(/[\u0000-\u001f\u007f-\u009f]/.test(warning)).toBe(false);
      expect(warning.startsWith('cdk8s-shm: ')).toBe(true);
    }));
    expect(formatWarning('x'.repeat(200))).toBe(`cdk8s-shm: ${'x'.repeat(105)}...`);
    // A four-byte character is never split, and never counted as one.
    expect(formatWarning('💥'.repeat(60))).toBe(`cdk8s-shm: ${'💥'.repeat(26)}...`);
  });
});

describe('deny for pods without a memory limit', () => {
  test('answers allowed: false with a 403 status that says what to do', () => {
    const result = reviewAdmission(loadFixture('13-no-memory-limits.json'), resolvePolicy({ podsWithoutLimit: 'deny', containers: ['app'] }));
    expect(result.outcome).toBe('deny');
    expect(result.reason).toBe('no-memory-limit');
    expect(result.review!.response).toEqual({
      uid: '00000000-0000-4000-8000-000000000013',
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: "cdk8s-shm: container 'app' has no memory limit: set a memory limit so /dev/shm can be sized from it" },
    });
  });
});

describe('the envelope', () => {
  const review = loadFixture('04-kubewarden-resources-limits.request.json');

  test('without apiVersion and kind it is read as v1 (fixture 06 is such an envelope)', () => {
    const { apiVersion, kind, ...bare } = review;
    expect([apiVersion, kind]).toEqual(['admission.k8s.io/v1', 'AdmissionReview']);
    const result = reviewAdmission(bare, policy);
    expect(result.review?.apiVersion).toBe('admission.k8s.io/v1');
    expect(result.outcome).toBe('inject');
    expect(reviewAdmission(loadFixture('06-eks-pod-identity-admissionreview-envelope.json'), policy).review?.apiVersion).toBe('admission.k8s.io/v1');
  });

  test('v1beta1 gets its own version back (the shape is the same)', () => {
    expect(reviewAdmission({ ...review, apiVersion: 'admission.k8s.io/v1beta1' }, policy).review?.apiVersion).toBe('admission.k8s.io/v1beta1');
  });

  test.each([
    ['not an object', [1, 2]],
    ['null', null],
    ['a string', 'AdmissionReview'],
    ['another apiVersion', { ...review, apiVersion: 'admission.k8s.io/v2' }],
    ['another kind', { ...review, kind: 'TokenReview' }],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }],
    ['a request without uid', { ...review, request: { ...review.request, uid: undefined } }],
    ['an empty uid', { ...review, request: { ...review.request, uid: '' } }],
    ['a numeric uid', { ...review, request: { ...review.request, uid: 42 } }],
  ])('%s is a bad request (there is no uid to answer)', (_, body) => {
    const result = reviewAdmission(body, policy);
    expect(result.httpStatus).toBe(400);
    expect(result.outcome).toBe('bad-request');
    expect(result.review).toBeUndefined();
    expect(result.error).toMatch(/\w/);
  });

  test('UPDATE, DELETE, CONNECT and subresources pass untouched and quietly', () => {
    for (const [change, reason] of [
      [{ operation: 'UPDATE' }, 'operation-update'],
      [{ operation: 'DELETE' }, 'operation-delete'],
      [{ operation: 'CONNECT' }, 'operation-connect'],
      [{ subResource: 'ephemeralcontainers', operation: 'UPDATE' }, 'subresource'],
      [{ kind: { group: '', version: 'v1', kind: 'Binding' }, subResource: 'binding' }, 'not-a-pod'],
      [{ kind: { group: 'apps', version: 'v1', kind: 'Deployment' } }, 'not-a-pod'],
      [{ kind: undefined, resource: { group: '', version: 'v1', resource: 'services' } }, 'not-a-pod'],
    ] as const) {
      const result = reviewAdmission({ ...review, request: { ...review.request, ...change } }, policy);
      expect({ outcome: result.outcome, reason: result.reason }).toEqual({ outcome: 'ignored', reason });
      expect(result.review!.response).toEqual({ uid: review.request.uid, allowed: true });
    }
  });

  test('an unknown or missing operation passes untouched, with a warning', () => {
    for (const operation of ['PATCH', undefined, 7]) {
      const result = reviewAdmission({ ...review, request: { ...review.request, operation } }, policy);
      expect(result.reason).toBe('operation-unknown');
      expect(result.review!.response.allowed).toBe(true);
      expect(result.review!.response.patch).toBeUndefined();
      expect(result.review!.response.warnings).toHaveLength(1);
    }
  });

  test('a kind-less request for a pod is still reviewed (resource says pods)', () => {
    const result = reviewAdmission({ ...review, request: { ...review.request, kind: undefined } }, policy);
    expect(result.outcome).toBe('inject');
  });

  test('dryRun is answered exactly like the real request', () => {
    const dry = loadFixture('17-dry-run.json');
    const real = { ...dry, request: { ...dry.request, dryRun: false } };
    expect(reviewAdmission(dry, policy).review).toEqual(reviewAdmission(real, policy).review);
    expect(reviewAdmission(dry, policy).dryRun).toBe(true);
  });

  test('a CREATE without an object, or with a non-object, is allowed with a warning', () => {
    for (const object of [undefined, null, 'pod', [], { metadata: 'x', spec: {} }]) {
      const result = reviewAdmission({ ...review, request: { ...review.request, object } }, policy);
      expect({ outcome: result.outcome, reason: result.reason }).toEqual({ outcome: 'skip', reason: 'invalid-pod' });
      expect(result.review!.response.allowed).toBe(true);
      expect(result.review!.response.warnings).toHaveLength(1);
    }
  });
});

describe('robustness', () => {
  const review = loadFixture('10-sidecar-and-init-containers.json');

  test('never throws, always echoes the uid and allows whatever pod it is given', () => {
    fc.assert(fc.property(fc.anything(), object => {
      const result = reviewAdmission({ ...review, request: { ...review.request, object } }, policy);
      expect(result.httpStatus).toBe(200);
      expect(result.review!.response.uid).toBe(review.request.uid);
      expect(result.review!.response.allowed).toBe(true);
    }), { numRuns: 300 });
  });

  test('mangled specs: any subtree of a real pod replaced with junk is allowed, and a patch applies', () => {
    const pod = review.request.object;
    const paths: string[][] = [];
    const walk = (node: any, path: string[]) => {
      if (node && typeof node === 'object') {
        for (const key of Object.keys(node)) {
          paths.push([...path, key]);
          walk(node[key], [...path, key]);
        }
      }
    };
    walk(pod, []);
    fc.assert(fc.property(fc.constantFrom(...paths), fc.jsonValue(), (path, junk) => {
      const mangled = deepClone(pod);
      let node = mangled;
      for (const key of path.slice(0, -1)) node = node[key];
      node[path[path.length - 1]] = junk;
      const result = reviewAdmission({ ...review, request: { ...review.request, object: mangled } }, policy);
      expect(result.review!.response.allowed).toBe(true);
      if (result.review!.response.patch) applyPatch(deepClone(mangled), decodePatch(result), true, false);
    }), { numRuns: 500 });
  });
});
