/**
 * Never below the runtime's 64Mi: one rule of the core (setting-rules.ts) for every way in. A
 * maximum below 64Mi (`1Mi`, or `64M` written for `64Mi`) could only give pods a /dev/shm smaller
 * than the one they have without cdk8s-shm, so it is refused where it is given, with a message that
 * says so: construct props, CLI and webhook flags, the webhook's environment, pod annotations (the
 * pod is left alone, and `check` fails: test/unhonoured-annotations.test.ts) and Helm values
 * (test/chart/setting-rules.test.ts). With a minimum, a smaller /dev/shm is what was asked for.
 */
import { Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { SharedMemory, SharedMemoryAdmissionPolicy, SharedMemoryWebhook } from '../src';
import { parseWebhookArgs } from '../src/contracts/webhook-flags';
import { planSharedMemory, resolvePolicy } from '../src/core';
import { cli } from './programs/cli/support';
import { SharedMemoryDeployment } from 'cdk8s-shm-plus-28';

const REFUSED = "is below the runtime's own 64Mi /dev/shm, so it could only give pods less than they have without cdk8s-shm: "
  + 'set it to 64Mi or more, or set';
const APP: kplus.ContainerProps = { name: 'app', image: 'example/app:1.0', resources: { memory: { limit: Size.gibibytes(1) } } };
/** 64M: 64,000,000 bytes, about 61Mi. */
const SIXTY_FOUR_MEGABYTES = Size.kibibytes(62_500);

describe.each<[string, (maximum: Size, minimum?: Size) => void]>([
  ['SharedMemory.addTo', (maximum, minimum) => SharedMemory.addTo(new kplus.Deployment(Testing.chart(), 'web', { containers: [APP] }), { maximum, minimum })],
  ['SharedMemory.applyToChart', (maximum, minimum) => SharedMemory.applyToChart(Testing.chart(), { maximum, minimum })],
  ['SharedMemoryDeployment', (maximum, minimum) => new SharedMemoryDeployment(Testing.chart(), 'web', { containers: [APP], sharedMemory: { maximum, minimum } })],
  ['SharedMemoryWebhook', (maximum, minimum) => new SharedMemoryWebhook(Testing.chart(), 'webhook', { maximum, minimum })],
  ['SharedMemoryAdmissionPolicy', (maximum, minimum) => new SharedMemoryAdmissionPolicy(Testing.chart(), 'policy', { maximum, minimum })],
])('%s', (_name, build) => {
  test('refuses a maximum below 64Mi, naming the prop', () => {
    expect(() => build(Size.mebibytes(1))).toThrow(`'maximum' (1Mi) ${REFUSED} 'minimum' too to accept less`);
    expect(() => build(SIXTY_FOUR_MEGABYTES)).toThrow(`'maximum' (62500Ki) ${REFUSED}`);
  });

  test('takes 64Mi, and a smaller maximum with a minimum', () => {
    expect(() => build(Size.mebibytes(64))).not.toThrow();
    expect(() => build(Size.mebibytes(32), Size.mebibytes(16))).not.toThrow();
  });
});

describe('the command line', () => {
  test.each(['inject', 'plan', 'check'])('%s refuses --maximum 64M with exit 2, naming the flag', async command => {
    const { code, stderr } = await cli([command, '--maximum', '64M'], '');
    expect(code).toBe(2);
    expect(stderr).toContain(`--maximum (64M) ${REFUSED} --minimum too to accept less`);
  });

  test('the webhook refuses it at start, from a flag or its environment variable', () => {
    expect(() => parseWebhookArgs(['--maximum=1Mi'], {})).toThrow(`--maximum (1Mi) ${REFUSED} --minimum too`);
    expect(() => parseWebhookArgs([], { CDK8S_SHM_MAXIMUM: '64M' })).toThrow(`CDK8S_SHM_MAXIMUM (64M) ${REFUSED} --minimum too`);
    expect(parseWebhookArgs(['--maximum=32Mi', '--minimum=16Mi'], {}).policy).toEqual({ maximum: '32Mi', minimum: '16Mi' });
  });
});

describe('a pod annotation', () => {
  const pod = (annotations: Record<string, string>) => ({
    metadata: { annotations },
    spec: { containers: [{ name: 'app', image: 'x', resources: { limits: { memory: '1Gi' } } }] },
  });

  test('a maximum below 64Mi leaves the pod as it is, and says why', () => {
    const plan = planSharedMemory(pod({ 'cdk8s-shm.io/maximum': '64M' }), resolvePolicy());
    expect(plan).toMatchObject({ action: 'skip', reason: 'invalid-annotation' });
    expect(plan.message).toContain(`'cdk8s-shm.io/maximum' (64M) ${REFUSED} the policy's 'minimum' too`);
    expect(plan.unhonoured).toEqual([{ annotations: ['cdk8s-shm.io/maximum'], message: plan.message }]);
  });

  test("with the way in's minimum, a smaller maximum is what was asked for", () => {
    const plan = planSharedMemory(pod({ 'cdk8s-shm.io/maximum': '32Mi' }), resolvePolicy({ minimum: '16Mi' }));
    expect(plan).toMatchObject({ action: 'inject', size: '32Mi' });
  });
});
