/**
 * `kubectl get pods -A -o yaml | cdk8s-shm check` (and `plan`): live pods, with their status. A pod
 * keeps the /dev/shm it was mounted with; after an in-place resize its limits in force (the
 * status' container resources) may no longer give that size.
 */
import { stringify } from 'yaml';
import { cli } from './support';
import { applyOperations, planLivePod, planSharedMemory, planToPatch, podWithLimitsInForce, resolvePolicy } from '../../../src/core';
import { EXIT_CHANGES, EXIT_OK } from '../../../src/programs/cli/main';
import { container, podObject } from '../../core/fixtures';

/** A pod the webhook sized with `limit`, now running with `inForce` (the status after a resize), as the API returns it. */
function livePod(name: string, limit: string, inForce: string, annotations: Record<string, string> = {}, specLimit = inForce): any {
  const pod = podObject(name, { containers: [container('app', limit)] }, { namespace: 'shop', ...(Object.keys(annotations).length ? { annotations } : {}) });
  const sized = applyOperations(structuredClone(pod), planToPatch(planSharedMemory(pod, resolvePolicy({}))));
  sized.spec.containers[0].resources.limits.memory = specLimit;
  sized.status = {
    phase: 'Running',
    containerStatuses: [{ name: 'app', ready: true, allocatedResources: { memory: specLimit }, resources: { limits: { memory: inForce } } }],
  };
  return sized;
}

/** `kubectl get pods -A -o yaml`: a v1 List. */
const list = (...items: any[]) => stringify({ apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } });

describe('the core reads a live pod', () => {
  test('the limits in force are the status resources; a pod without status is no live pod', () => {
    const pod = livePod('p', '2Gi', '1Gi', {}, '3Gi');
    expect((podWithLimitsInForce(pod) as any).spec.containers[0].resources.limits.memory).toBe('1Gi');
    expect(planLivePod(pod, resolvePolicy({}))).toMatchObject({ action: 'follow', current: '1Gi', rule: '512Mi' });
    const manifest = structuredClone(pod);
    delete manifest.status;
    expect(planLivePod(manifest, resolvePolicy({}))).toBeUndefined();
  });
});

describe('check', () => {
  test('fails, by name, on the pods whose /dev/shm no longer matches their limits, and says what to do', async () => {
    const input = list(livePod('same', '2Gi', '2Gi'), livePod('grown', '1Gi', '4Gi'), livePod('shrunk', '2Gi', '1Gi'));
    const { code, stdout } = await cli(['check'], input);
    expect(code).toBe(EXIT_CHANGES);
    const lines = stdout.split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/Pod 'grown' in namespace 'shop': \/dev\/shm 512Mi no longer matches its limits: the rule gives 2Gi; it changes when the pod is recreated$/));
    expect(lines).toContainEqual(expect.stringMatching(/Pod 'shrunk' in namespace 'shop': \/dev\/shm 1Gi no longer matches its limits: the rule gives 512Mi; .*\/dev\/shm 1Gi is at or above the 1Gi limit of container 'app': shared memory alone can OOM-kill it$/));
    expect(stdout).not.toContain("'same'");
    expect(stdout).toContain('2 of 3 workloads are running pods whose /dev/shm no longer matches their limits: recreate them');
    expect(stdout).not.toContain('cdk8s-shm inject');
  });

  test('passes when every running pod matches its limits; a pending resize is judged by the limits in force', async () => {
    expect(await cli(['check'], list(livePod('same', '2Gi', '2Gi')))).toMatchObject({ code: EXIT_OK });
    // spec asks 4Gi, the kubelet has not applied it yet: the 2Gi in force still match /dev/shm 1Gi.
    expect((await cli(['check'], list(livePod('pending', '2Gi', '2Gi', {}, '4Gi')))).code).toBe(EXIT_OK);
  });

  test('a limitFollows pod keeps its size: no failure', async () => {
    const pod = podObject('lf', { containers: [container('app', '1Gi')] }, { namespace: 'shop', annotations: { 'cdk8s-shm.io/limit-follows': 'true' } });
    const sized = applyOperations(structuredClone(pod), planToPatch(planSharedMemory(pod, resolvePolicy({}))));
    sized.spec.containers[0].resources.limits.memory = '4Gi';
    sized.status = { phase: 'Running', containerStatuses: [{ name: 'app', resources: { limits: { memory: '4Gi' } } }] };
    const { code, stdout } = await cli(['check'], list(sized));
    expect(stdout).toContain('ok: 1 workload checked');
    expect(code).toBe(EXIT_OK);
  });
});

describe('plan', () => {
  test('shows the current size and the rule side by side, as running pods', async () => {
    const { code, stdout } = await cli(['plan'], list(livePod('same', '2Gi', '2Gi'), livePod('grown', '1Gi', '4Gi')));
    expect(code).toBe(EXIT_OK);
    expect(stdout).toMatch(/^Pod\/same\s+shop\s+2Gi\s+2Gi \(app\)\s+1Gi\s+running\s+\/dev\/shm 1Gi matches its limits$/m);
    expect(stdout).toMatch(/^Pod\/grown\s+shop\s+4Gi\s+4Gi \(app\)\s+512Mi -> 2Gi\s+running\s+\/dev\/shm 512Mi no longer matches its limits: the rule gives 2Gi/m);
    expect(stdout).toContain('2 workloads: 2 running (1 whose /dev/shm no longer matches its limits)');
  });

  test('--output json carries both sizes', async () => {
    const { stdout } = await cli(['plan', '-o', 'json'], list(livePod('shrunk', '2Gi', '1Gi')));
    const [report] = JSON.parse(stdout);
    expect(report.running).toEqual({
      action: 'follow',
      currentShmSize: '1Gi',
      ruleShmSize: '512Mi',
      matches: false,
      message: expect.stringContaining('no longer matches'),
      atOrAboveWriter: { container: "container 'app'", limit: '1Gi' },
    });
    expect(report.patch).toEqual([]);
  });

  test('inject leaves a running pod as it is', async () => {
    const input = list(livePod('shrunk', '2Gi', '1Gi'));
    const { code, stdout } = await cli(['inject'], input);
    expect(code).toBe(EXIT_OK);
    expect(stdout).toBe(input);
  });
});
