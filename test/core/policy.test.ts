import { Policy, PolicyError, PolicyInput, Rational, resolvePolicy, tryParseRatio, tryParseSize } from '../../src/core';

const Mi = 2n ** 20n;
const Gi = 2n ** 30n;

function expectRatio(actual: Rational, num: bigint, den: bigint): void {
  expect(actual.den > 0n).toBe(true);
  expect(actual.num * den).toBe(num * actual.den);
}

/** The PolicyError thrown by resolvePolicy, or a failed test. */
function policyError(input: PolicyInput, subject?: string): PolicyError {
  try {
    resolvePolicy(input, subject);
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).name).toBe('PolicyError');
    return error as PolicyError;
  }
  throw new Error(`resolvePolicy(${JSON.stringify(input)}) did not throw`);
}

describe('resolvePolicy: defaults', () => {
  test.each<[string, PolicyInput | undefined]>([['no argument', undefined], ['empty input', {}]])('%s', (_name, input) => {
    const policy: Policy = resolvePolicy(input);
    expectRatio(policy.ratio, 1n, 2n);
    expect(policy).toMatchObject({
      volumeName: 'dshm',
      includeInitContainers: true,
      podSelection: 'opt-out',
      podsWithoutLimit: 'skip',
    });
    expect(policy.size).toBeUndefined();
    expect(policy.minimum).toBeUndefined();
    expect(policy.maximum).toBeUndefined();
    expect(policy.fixedSize).toBeUndefined();
    expect(policy.containers).toBeUndefined();
  });
});

describe('resolvePolicy: valid settings', () => {
  test.each<[string | number, bigint, bigint]>([
    ['0.25', 1n, 4n],
    [0.25, 1n, 4n],
    [1, 1n, 1n],
    ['1', 1n, 1n],
    ['1.0', 1n, 1n],
    ['.5', 1n, 2n],
    ['5e-1', 1n, 2n],
    [0.001, 1n, 1000n],
    ['0.000000001', 1n, 1000000000n],
  ])('ratio %p', (ratio, num, den) => {
    expectRatio(resolvePolicy({ ratio }).ratio, num, den);
  });

  test.each<[string | number, bigint]>([
    ['1Gi', Gi],
    ['1536Mi', 1536n * Mi],
    ['1G', 1000000000n],
    [1048576, Mi],
    ['1.5', 1n], // rounded down to whole bytes
    ['0.1Gi', 107374182n],
  ])('size %p', (size, bytes) => {
    expect(resolvePolicy({ size }).size).toBe(bytes);
  });

  test('minimum, maximum and fixedSize are whole bytes', () => {
    const policy = resolvePolicy({ minimum: '256Mi', maximum: '2Gi', podsWithoutLimit: 'fixed', fixedSize: '512Mi' });
    expect(policy.minimum).toBe(256n * Mi);
    expect(policy.maximum).toBe(2n * Gi);
    expect(policy.fixedSize).toBe(512n * Mi);
    expect(policy.podsWithoutLimit).toBe('fixed');
  });

  test('minimum may equal maximum', () => {
    const policy = resolvePolicy({ minimum: '1Gi', maximum: '1024Mi' });
    expect(policy.minimum).toBe(Gi);
    expect(policy.maximum).toBe(Gi);
  });

  test.each<[string, PolicyInput]>([
    ['a maximum of exactly the runtime\'s 64Mi', { maximum: '64Mi' }],
    ['a maximum of 67108864 bytes', { maximum: '67108864' }],
    ['a maximum below 64Mi with a minimum, which says a smaller /dev/shm is meant', { minimum: '16Mi', maximum: '32Mi' }],
    ['an exact size below 64Mi: asked for', { size: '32Mi' }],
    ['a minimum below 64Mi: asked for', { minimum: '16Mi' }],
    ['a fixed size below 64Mi: asked for', { podsWithoutLimit: 'fixed', fixedSize: '32Mi' }],
  ])('never below the runtime\'s 64Mi unless asked: %s is taken', (_name, input) => {
    expect(() => resolvePolicy(input)).not.toThrow();
  });

  test.each(['a', '1', 'shm', 'dev-shm', 'shm-1', 'a'.repeat(63)])('volumeName %j', volumeName => {
    expect(resolvePolicy({ volumeName }).volumeName).toBe(volumeName);
  });

  test('containers are copied', () => {
    const containers = ['app', 'sidecar'];
    const policy = resolvePolicy({ containers });
    expect(policy.containers).toEqual(['app', 'sidecar']);
    containers.push('later');
    expect(policy.containers).toEqual(['app', 'sidecar']);
  });

  test.each<[PolicyInput, Partial<Policy>]>([
    [{ podSelection: 'opt-in' }, { podSelection: 'opt-in' }],
    [{ podSelection: 'opt-out' }, { podSelection: 'opt-out' }],
    [{ podsWithoutLimit: 'deny' }, { podsWithoutLimit: 'deny' }],
    [{ podsWithoutLimit: 'fixed', fixedSize: '1Gi' }, { podsWithoutLimit: 'fixed', fixedSize: Gi }],
    [{ includeInitContainers: false }, { includeInitContainers: false }],
  ])('%p', (input, expected) => {
    expect(resolvePolicy(input)).toMatchObject(expected);
  });
});

describe('resolvePolicy: invalid settings are rejected with the setting and the value', () => {
  const cases: Array<[PolicyInput, string]> = [
    [{ ratio: 0 }, "'ratio' (0) must be greater than 0 and at most 1"],
    [{ ratio: '0' }, "'ratio' (0) must be greater than 0 and at most 1"],
    [{ ratio: '0.0' }, "'ratio' (0) must be greater than 0 and at most 1"],
    [{ ratio: 1.5 }, "'ratio' (1.5) must be greater than 0 and at most 1"],
    [{ ratio: '1.0000001' }, "'ratio' (1.0000001) must be greater than 0 and at most 1"],
    [{ ratio: 2 }, "'ratio' (2) must be greater than 0 and at most 1"],
    [{ ratio: -0.5 }, "'ratio' (-0.5) must be greater than 0 and at most 1"],
    [{ ratio: 'half' }, "'ratio' (half) is not a decimal number: write a share like 0.5"],
    [{ ratio: '50%' }, "'ratio' (50%) is not a decimal number: write a share like 0.5"],
    [{ ratio: '' }, "'ratio' () is not a decimal number: write a share like 0.5"],
    [{ ratio: NaN }, "'ratio' (NaN) is not a decimal number: write a share like 0.5"],
    [{ ratio: Infinity }, "'ratio' (Infinity) is not a decimal number: write a share like 0.5"],
    [{ ratio: null as unknown as string }, "'ratio' must be a decimal number, got object"],
    [{ size: 0 }, "'size' (0) must be at least one byte"],
    [{ size: '0.5' }, "'size' (0.5) must be at least one byte"],
    [{ size: '-1Gi' }, "'size' (-1Gi) must be at least one byte"],
    [{ size: '1GB' }, "'size' (1GB) is invalid: \"1GB\" has an invalid suffix \"GB\""],
    [{ size: true as unknown as string }, "'size' must be a quantity such as 1Gi, got boolean"],
    [{ minimum: 'lots' }, "'minimum' (lots) is invalid: \"lots\" is not a valid quantity"],
    [{ maximum: '0' }, "'maximum' (0) must be at least one byte"],
    [{ fixedSize: '1 Gi', podsWithoutLimit: 'fixed' }, "'fixedSize' (1 Gi) is invalid: \"1 Gi\" has an invalid suffix \" Gi\" (no spaces are allowed)"],
    [{ size: '1Gi', ratio: '0.5' }, "'size' (1Gi) and 'ratio' (0.5) cannot both be set: 'size' is exact, 'ratio' shapes a size derived from a memory limit"],
    [{ size: '1Gi', minimum: '512Mi' }, "'size' (1Gi) and 'minimum' (512Mi) cannot both be set"],
    [{ size: '1Gi', maximum: '2Gi' }, "'size' (1Gi) and 'maximum' (2Gi) cannot both be set"],
    [{ minimum: '2Gi', maximum: '1Gi' }, "'minimum' (2Gi) must not exceed 'maximum' (1Gi)"],
    [{ minimum: '1025Mi', maximum: '1Gi' }, "'minimum' (1025Mi) must not exceed 'maximum' (1Gi)"],
    [{ minimum: '1073741825', maximum: '1Gi' }, "'minimum' (1073741825) must not exceed 'maximum' (1Gi)"],
    [{ maximum: '64M' }, "'maximum' (64M) is below the runtime's own 64Mi /dev/shm, so it could only give pods less than they have without cdk8s-shm: "
      + "set it to 64Mi or more, or set 'minimum' too to accept less"],
    [{ maximum: '1Mi' }, "'maximum' (1Mi) is below the runtime's own 64Mi /dev/shm"],
    [{ maximum: '67108863' }, "'maximum' (67108863) is below the runtime's own 64Mi /dev/shm"],
    [{ ratio: '0.25', maximum: '32Mi' }, "'maximum' (32Mi) is below the runtime's own 64Mi /dev/shm"],
    [{ volumeName: 'Dshm' }, "'volumeName' (\"Dshm\") must be a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters"],
    [{ volumeName: 'dshm_x' }, "'volumeName' (\"dshm_x\") must be a DNS-1123 label"],
    [{ volumeName: 'd.shm' }, "'volumeName' (\"d.shm\") must be a DNS-1123 label"],
    [{ volumeName: '-dshm' }, "'volumeName' (\"-dshm\") must be a DNS-1123 label"],
    [{ volumeName: 'dshm-' }, "'volumeName' (\"dshm-\") must be a DNS-1123 label"],
    [{ volumeName: '' }, "'volumeName' (\"\") must be a DNS-1123 label"],
    [{ volumeName: 'a'.repeat(64) }, `'volumeName' ("${'a'.repeat(64)}") must be a DNS-1123 label`],
    [{ volumeName: 7 as unknown as string }, "'volumeName' (7) must be a DNS-1123 label"],
    [{ containers: [] }, "'containers' is empty: leave it out to mount /dev/shm in every container"],
    [{ containers: [''] }, "'containers' must be a list of container names, got [\"\"]"],
    [{ containers: ['app', 3 as unknown as string] }, "'containers' must be a list of container names, got [\"app\",3]"],
    [{ containers: 'app' as unknown as string[] }, "'containers' must be a list of container names, got \"app\""],
    [{ podSelection: 'all' as never }, "'podSelection' (all) must be one of opt-out, opt-in"],
    [{ podsWithoutLimit: 'allow' as never }, "'podsWithoutLimit' (allow) must be one of skip, deny, fixed"],
    [{ podsWithoutLimit: 'fixed' }, "'fixedSize' is required when 'podsWithoutLimit' is 'fixed'"],
    [{ podsWithoutLimit: 'skip', fixedSize: '1Gi' }, "'fixedSize' (1Gi) is only used when 'podsWithoutLimit' is 'fixed' (it is 'skip')"],
  ];
  test.each(cases)('%p', (input, message) => {
    expect(policyError(input).message).toContain(message);
  });

  test('the error names the settings it is about, the one it leads with first', () => {
    expect(policyError({ maximum: '64M' }).settings).toEqual(['maximum', 'minimum']);
    expect(policyError({ size: '1Gi', ratio: '0.5' }).settings).toEqual(['size', 'ratio']);
    expect(policyError({ ratio: 'half' }).settings).toEqual(['ratio']);
  });

  test('the subject is named at the end of the message', () => {
    expect(policyError({ ratio: 2 }, "SharedMemory for Deployment 'web'").message)
      .toBe("'ratio' (2) must be greater than 0 and at most 1 in SharedMemory for Deployment 'web'");
    expect(policyError({ ratio: 2 }).message).toBe("'ratio' (2) must be greater than 0 and at most 1");
  });
});

describe('tryParseRatio and tryParseSize return a message instead of throwing', () => {
  test.each<[unknown, string]>([
    [undefined, "'r' must be a decimal number, got undefined"],
    [{}, "'r' must be a decimal number, got object"],
    ['1.5', "'r' (1.5) must be greater than 0 and at most 1"],
  ])('tryParseRatio(%p)', (value, message) => {
    expect(tryParseRatio(value, "'r'")).toBe(message);
  });

  test.each<[unknown, string]>([
    [undefined, "'s' must be a quantity such as 1Gi, got undefined"],
    [[], "'s' must be a quantity such as 1Gi, got object"],
    ['0', "'s' (0) must be at least one byte"],
  ])('tryParseSize(%p)', (value, message) => {
    expect(tryParseSize(value, "'s'")).toBe(message);
  });

  test('valid values come back parsed', () => {
    expectRatio(tryParseRatio('0.75', 'r') as Rational, 3n, 4n);
    expect(tryParseSize('2Gi', 's')).toBe(2n * Gi);
  });
});
