/**
 * The frozen AdmissionReview fixtures in test/fixtures/admission (see its README for sources and
 * licence). Upstream files that hold only the `request` are wrapped in a v1 envelope here, as the
 * README says; full envelopes are returned as they are.
 */
import { readFileSync, readdirSync } from 'fs';
import * as path from 'path';

export const FIXTURE_DIR = path.join(__dirname, '..', '..', '..', 'fixtures', 'admission');

export interface Fixture {
  readonly file: string;
  readonly review: any;
}

export function loadFixtures(): Fixture[] {
  return readdirSync(FIXTURE_DIR).filter(file => file.endsWith('.json')).sort().map(file => ({ file, review: loadFixture(file) }));
}

export function loadFixture(file: string): any {
  const content = JSON.parse(readFileSync(path.join(FIXTURE_DIR, file), 'utf8'));
  return file.endsWith('.request.json') ? { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: content } : content;
}

/** A copy of `review` with its pod replaced and a new uid, as the API server's reinvocation sends it. */
export function withPod(review: any, pod: unknown, uid = `${review.request.uid}-again`): any {
  return { ...review, request: { ...review.request, uid, object: pod } };
}

/** A v1 AdmissionReview of a Pod CREATE, as the API server sends it for `pod`. */
export function podCreateReview(pod: unknown, uid = 'u1', namespace?: string): any {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      ...(namespace !== undefined ? { namespace } : {}),
      operation: 'CREATE',
      object: pod,
    },
  };
}

/** The review the API server sends for `kubectl patch pod --subresource resize`: the whole pod, as resized and as stored. */
export function podResizeReview(stored: any, resized: any, uid = 'r1'): any {
  const review = podCreateReview(resized, uid, 'ns');
  return { ...review, request: { ...review.request, name: 'p', operation: 'UPDATE', subResource: 'resize', oldObject: stored } };
}
