import { PodMemoryLimit, podMemoryLimit } from '../../src/core';

const Mi = 2n ** 20n;
const Gi = 2n ** 30n;

/** An app container; `memory` undefined means no limit. */
function app(name: string, memory?: string | number): Record<string, unknown> {
  return { name, image: 'busybox', ...(memory === undefined ? {} : { resources: { limits: { memory } } }) };
}
/** A plain init container. */
function init(name: string, memory?: string | number): Record<string, unknown> {
  return app(name, memory);
}
/** A sidecar: an init container with restartPolicy Always. */
function sidecar(name: string, memory?: string | number): Record<string, unknown> {
  return { ...app(name, memory), restartPolicy: 'Always' };
}

function limited(bytes: bigint, source: 'pod' | 'containers', overheadBytes = 0n): PodMemoryLimit {
  return { kind: 'limited', bytes, source, overheadBytes };
}

describe('podMemoryLimit: limited pods', () => {
  const cases: Array<[string, unknown, PodMemoryLimit]> = [
    ['one container', { containers: [app('a', '1Gi')] }, limited(Gi, 'containers')],
    ['app containers are summed', { containers: [app('a', '1Gi'), app('b', '512Mi')] }, limited(1536n * Mi, 'containers')],
    ['numbers are quantities', { containers: [app('a', 1073741824)] }, limited(Gi, 'containers')],
    ['limits are rounded up to whole bytes', { containers: [app('a', '966367641600m')] }, limited(966367642n, 'containers')],
    ['a fraction of a byte is one byte', { containers: [app('a', '0.5')] }, limited(1n, 'containers')],
    ['requests do not count', { containers: [{ name: 'a', resources: { requests: { memory: '8Gi' }, limits: { memory: '1Gi' } } }] }, limited(Gi, 'containers')],
    ['pod-level limit wins over containers', {
      resources: { limits: { memory: '4Gi' } },
      containers: [app('a', '1Gi'), app('b', '8Gi')],
    }, limited(4n * Gi, 'pod')],
    ['pod-level limit applies to containers without limits', {
      resources: { limits: { memory: '4Gi' } },
      containers: [app('a'), app('b')],
      initContainers: [sidecar('s')],
    }, limited(4n * Gi, 'pod')],
    ['sidecars are added to the app containers', {
      containers: [app('a', '1Gi')],
      initContainers: [sidecar('s', '256Mi')],
    }, limited(1280n * Mi, 'containers')],
    ['several sidecars are all added', {
      containers: [app('a', '100Mi')],
      initContainers: [sidecar('s1', '1Gi'), sidecar('s2', '2Gi')],
    }, limited(3172n * Mi, 'containers')],
    ['a small plain init container does not matter', {
      containers: [app('a', '1Gi')],
      initContainers: [init('i', '512Mi')],
    }, limited(Gi, 'containers')],
    ['a big plain init container dominates', {
      containers: [app('a', '1Gi')],
      initContainers: [init('i', '3Gi')],
    }, limited(3n * Gi, 'containers')],
    ['the plain init containers are maxed, not summed', {
      containers: [app('a', '1Gi')],
      initContainers: [init('i1', '2Gi'), init('i2', '3Gi'), init('i3', '2Gi')],
    }, limited(3n * Gi, 'containers')],
    // init after a sidecar: 2Gi + 256Mi = 2304Mi beats app + sidecar = 1280Mi
    ['a big plain init container after a sidecar dominates, sidecar included', {
      containers: [app('a', '1Gi')],
      initContainers: [sidecar('s', '256Mi'), init('i', '2Gi')],
    }, limited(2304n * Mi, 'containers')],
    // the same init before the sidecar runs alone: 2Gi beats 1280Mi, without the sidecar
    ['a big plain init container before a sidecar runs alone', {
      containers: [app('a', '1Gi')],
      initContainers: [init('i', '2Gi'), sidecar('s', '256Mi')],
    }, limited(2n * Gi, 'containers')],
    // init after a sidecar: 512Mi + 1Gi = 1536Mi loses to app + sidecar = 2Gi
    ['a plain init container after a sidecar that does not dominate', {
      containers: [app('a', '1Gi')],
      initContainers: [sidecar('s', '1Gi'), init('i', '512Mi')],
    }, limited(2n * Gi, 'containers')],
    // only the sidecars declared before it run beside an init container: 3Gi + 100Mi = 3172Mi
    // beats app + both sidecars = 1Gi + 100Mi + 200Mi = 1324Mi; counting s2 too would give 3372Mi
    ['only sidecars declared before a plain init container count', {
      containers: [app('a', '1Gi')],
      initContainers: [sidecar('s1', '100Mi'), init('i', '3Gi'), sidecar('s2', '200Mi')],
    }, limited(3172n * Mi, 'containers')],
    ['restartPolicy Always on an app container changes nothing', {
      containers: [{ ...app('a', '1Gi'), restartPolicy: 'Always' }],
      initContainers: [init('i', '2Gi')],
    }, limited(2n * Gi, 'containers')],
    ['init restartPolicy other than Always is a plain init container', {
      containers: [app('a', '1Gi')],
      initContainers: [{ ...init('i', '512Mi'), restartPolicy: 'OnFailure' }],
    }, limited(Gi, 'containers')],
    ['overhead is added to a container-derived limit', {
      containers: [app('a', '1Gi')],
      overhead: { memory: '128Mi' },
    }, limited(1152n * Mi, 'containers', 128n * Mi)],
    ['overhead is added to a pod-level limit', {
      resources: { limits: { memory: '2Gi' } },
      containers: [app('a', '1Gi')],
      overhead: { memory: '250Mi' },
    }, limited(2298n * Mi, 'pod', 250n * Mi)],
    ['overhead is added after the init-container maximum', {
      containers: [app('a', '1Gi')],
      initContainers: [init('i', '3Gi')],
      overhead: { memory: '1Gi' },
    }, limited(4n * Gi, 'containers', Gi)],
    ['null lists and fields are absent', {
      containers: [app('a', '1Gi')], initContainers: null, resources: null, overhead: null,
    }, limited(Gi, 'containers')],
  ];
  test.each(cases)('%s', (_name, spec, expected) => {
    expect(podMemoryLimit(spec)).toEqual(expected);
  });
});

describe('podMemoryLimit: unlimited pods', () => {
  const cases: Array<[string, unknown, string[]]> = [
    ['no container has a limit', { containers: [app('a'), app('b')] }, ['a', 'b']],
    ['one app container lacks a limit', { containers: [app('a', '1Gi'), app('b')] }, ['b']],
    ['a zero limit counts as none', { containers: [app('a', '0'), app('b', '1Gi')] }, ['a']],
    ['a zero limit in another unit counts as none', { containers: [app('a', '0Gi')] }, ['a']],
    ['a number zero counts as none', { containers: [app('a', 0)] }, ['a']],
    ['only requests', { containers: [{ name: 'a', resources: { requests: { memory: '1Gi' } } }] }, ['a']],
    ['a sidecar without a limit', { containers: [app('a', '1Gi')], initContainers: [sidecar('s')] }, ['s']],
    ['a plain init container without a limit', { containers: [app('a', '1Gi')], initContainers: [init('i')] }, ['i']],
    ['spec order, app containers first', {
      containers: [app('a'), app('b', '1Gi'), app('c')],
      initContainers: [init('i'), sidecar('s', '1Gi')],
    }, ['a', 'c', 'i']],
    ['overhead does not make a limit', { containers: [app('a')], overhead: { memory: '128Mi' } }, ['a']],
    ['a pod-level zero limit is no limit', { resources: { limits: { memory: '0' } }, containers: [app('a')] }, ['a']],
    ['unnamed containers are numbered', { containers: [{ image: 'x' }, app('b', '1Gi')] }, ['#0']],
    ['resources that are not objects are no limit', { containers: [{ name: 'a', resources: 'lots' }, { name: 'b', resources: { limits: [] } }] }, ['a', 'b']],
  ];
  test.each(cases)('%s', (_name, spec, missing) => {
    expect(podMemoryLimit(spec)).toEqual({ kind: 'unlimited', containersWithoutLimit: missing });
  });
});

describe('podMemoryLimit: invalid specs', () => {
  const cases: Array<[string, unknown, string[]]> = [
    ['null spec', null, ['spec is not an object']],
    ['undefined spec', undefined, ['spec is not an object']],
    ['number spec', 42, ['spec is not an object']],
    ['string spec', 'spec', ['spec is not an object']],
    ['array spec', [app('a', '1Gi')], ['spec is not an object']],
    ['no containers', {}, ['spec.containers is empty']],
    ['empty containers', { containers: [] }, ['spec.containers is empty']],
    ['only init containers', { initContainers: [init('i', '1Gi')] }, ['spec.containers is empty']],
    ['containers is a string', { containers: 'app' }, ['spec.containers is not a list']],
    ['containers is an object', { containers: { name: 'a' } }, ['spec.containers is not a list']],
    ['initContainers is a number', { containers: [app('a', '1Gi')], initContainers: 1 }, ['spec.initContainers is not a list']],
    ['a container is null', { containers: [app('a', '1Gi'), null] }, ['spec.containers[1] is not an object']],
    ['an init container is an array', { containers: [app('a', '1Gi')], initContainers: [[]] }, ['spec.initContainers[0] is not an object']],
    ['a bad quantity', { containers: [app('a', '1GB')] }, [
      'spec.containers[0].resources.limits.memory: "1GB" has an invalid suffix "GB" (suffixes are case-sensitive: did you mean "Gi"?): expected a number with an optional suffix: Ki, Mi, Gi, Ti, Pi, Ei, n, u, m, k, M, G, T, P, E, or an exponent like 1e9',
    ]],
    ['a negative limit', { containers: [app('a', '-1Gi')] }, ['spec.containers[0].resources.limits.memory (-1Gi) is negative']],
    ['a negative number limit', { containers: [app('a', -5)] }, ['spec.containers[0].resources.limits.memory (-5) is negative']],
    ['a limit that is an object', { containers: [app('a', {} as unknown as string)] }, ['spec.containers[0].resources.limits.memory is not a quantity']],
    ['a limit that is a boolean', { containers: [app('a', true as unknown as string)] }, ['spec.containers[0].resources.limits.memory is not a quantity']],
    ['a NaN limit', { containers: [app('a', NaN)] }, ['spec.containers[0].resources.limits.memory: quantity must be a finite number, got NaN']],
    ['a bad init container limit', { containers: [app('a', '1Gi')], initContainers: [sidecar('s', 'lots')] }, [
      'spec.initContainers[0].resources.limits.memory: "lots" is not a valid quantity: expected a number with an optional suffix: Ki, Mi, Gi, Ti, Pi, Ei, n, u, m, k, M, G, T, P, E, or an exponent like 1e9',
    ]],
    ['a bad pod-level limit', { resources: { limits: { memory: [] } }, containers: [app('a', '1Gi')] }, ['spec.resources.limits.memory is not a quantity']],
    ['a negative overhead', { containers: [app('a', '1Gi')], overhead: { memory: '-1Mi' } }, ['spec.overhead.memory (-1Mi) is negative']],
    ['every problem is listed', {
      containers: [app('a', '-1'), null],
      initContainers: 'x',
      overhead: { memory: {} },
    }, [
      'spec.containers[0].resources.limits.memory (-1) is negative',
      'spec.containers[1] is not an object',
      'spec.initContainers is not a list',
      'spec.overhead.memory is not a quantity',
    ]],
  ];
  test.each(cases)('%s', (_name, spec, problems) => {
    expect(podMemoryLimit(spec)).toEqual({ kind: 'invalid', problems });
  });
});
