/**
 * The LimitRange and ResourceQuota rules, for memory, as the API server applies them after the
 * mutating webhooks: what `limitFollows` asks before it grows a limit. Each row is a pod (as it
 * would be once grown), the namespace's objects, and what would refuse it.
 */
import { limitRangeRefusals, namespaceRefusals, quotaRefusals } from '../../src/core';

function c(name: string, limit?: string, request?: string, extra: object = {}): any {
  const resources: any = {};
  if (limit) resources.limits = { memory: limit };
  if (request) resources.requests = { memory: request };
  return { name, image: 'x', resources, ...extra };
}

const sidecar = (name: string, limit?: string, request?: string) => c(name, limit, request, { restartPolicy: 'Always' });

function limitRange(name: string, ...limits: object[]): any {
  return { apiVersion: 'v1', kind: 'LimitRange', metadata: { name }, spec: { limits } };
}

function quota(name: string, hard: Record<string, string>, used: Record<string, string> | undefined, spec: object = {}): any {
  return { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name }, spec: { hard, ...spec }, status: { hard, ...(used ? { used } : {}) } };
}

describe('LimitRange', () => {
  test.each([
    ['a Container max the grown limit stays under', { containers: [c('app', '1280Mi', '1280Mi')] }, [{ type: 'Container', max: { memory: '2Gi' } }], []],
    ['a Container max exactly reached', { containers: [c('app', '1280Mi', '1280Mi')] }, [{ type: 'Container', max: { memory: '1280Mi' } }], []],
    ['a Container max the grown limit passes', { containers: [c('app', '1280Mi', '512Mi')] }, [{ type: 'Container', max: { memory: '1Gi' } }],
      ["'app' limit 1280Mi is above its Container max memory 1Gi"]],
    ['limit and request both above it (a Guaranteed pod)', { containers: [c('app', '1280Mi', '1280Mi')] }, [{ type: 'Container', max: { memory: '1Gi' } }],
      ["'app' limit 1280Mi is above its Container max memory 1Gi", "'app' request 1280Mi is above its Container max memory 1Gi"]],
    ['a sidecar is a container too', { containers: [c('app', '1Gi')], initContainers: [sidecar('log', '2Gi')] }, [{ type: 'Container', max: { memory: '1Gi' } }],
      ["'log' limit 2Gi is above its Container max memory 1Gi"]],
    ['maxLimitRequestRatio: a grown limit over a kept request', { containers: [c('app', '1280Mi', '512Mi')] }, [{ type: 'Container', maxLimitRequestRatio: { memory: '2' } }],
      ["'app' limit 1280Mi is more than 2 times its request 512Mi (Container maxLimitRequestRatio)"]],
    ['maxLimitRequestRatio 2.5 exactly met', { containers: [c('app', '1280Mi', '512Mi')] }, [{ type: 'Container', maxLimitRequestRatio: { memory: '2.5' } }], []],
    ['a Pod max on the sum of the containers', { containers: [c('app', '1280Mi'), c('helper', '1Gi')] }, [{ type: 'Pod', max: { memory: '2Gi' } }],
      ['the pod limit 2304Mi is above its Pod max memory 2Gi']],
    ['a Pod max the sum fits', { containers: [c('app', '1280Mi'), c('helper', '512Mi')] }, [{ type: 'Pod', max: { memory: '2Gi' } }], []],
    ['a Pod max: an init container alone counts when larger than the rest', { containers: [c('app', '512Mi')], initContainers: [c('setup', '3Gi')] },
      [{ type: 'Pod', max: { memory: '2Gi' } }], ['the pod limit 3Gi is above its Pod max memory 2Gi']],
    ['a Pod max: an init container runs beside the sidecars started before it', { containers: [c('app', '1Gi')], initContainers: [sidecar('log', '1Gi'), c('setup', '1536Mi')] },
      [{ type: 'Pod', max: { memory: '2304Mi' } }], ['the pod limit 2560Mi is above its Pod max memory 2304Mi']],
    ['a Pod max: the pod-level limit stands for the containers', { containers: [c('app', '1Gi'), c('b', '1Gi')], resources: { limits: { memory: '1536Mi' } } },
      [{ type: 'Pod', max: { memory: '1536Mi' } }], []],
    ['no memory in the LimitRange: nothing to say', { containers: [c('app', '64Gi')] }, [{ type: 'Container', max: { cpu: '1' } }, { type: 'PersistentVolumeClaim', max: { storage: '1Gi' } }], []],
    ['a container without a limit: the API server refuses it for that, not for growth', { containers: [c('app')] }, [{ type: 'Container', max: { memory: '1Gi' } }], []],
  ])('%s', (_, spec, limits, problems) => {
    expect(limitRangeRefusals(spec, [limitRange('mem', ...limits)])).toEqual(problems.length === 0 ? [] : [{ kind: 'LimitRange', name: 'mem', problems }]);
  });

  test('each LimitRange is named on its own; unreadable objects refuse nothing', () => {
    const spec = { containers: [c('app', '2Gi', '2Gi')] };
    expect(limitRangeRefusals(spec, [
      limitRange('small', { type: 'Container', max: { memory: '1Gi' } }),
      limitRange('large', { type: 'Container', max: { memory: '4Gi' } }),
      limitRange('odd', { type: 'Container', max: { memory: 'lots' } }, null as any),
      null, 'x', { spec: { limits: 'x' } },
    ]).map(r => r.name)).toEqual(['small']);
    expect(limitRangeRefusals(null, [limitRange('small', { type: 'Container', max: { memory: '1Gi' } })])).toEqual([]);
  });
});

describe('ResourceQuota', () => {
  const grown = { containers: [c('app', '1280Mi', '1280Mi')] };
  test.each([
    ['room for the grown pod', grown, quota('team', { 'limits.memory': '8Gi', 'requests.memory': '8Gi' }, { 'limits.memory': '6Gi', 'requests.memory': '6Gi' }), []],
    ['exactly the room left', grown, quota('team', { 'limits.memory': '8Gi' }, { 'limits.memory': '6912Mi' }), []],
    ['limits.memory over', grown, quota('team', { 'limits.memory': '8Gi' }, { 'limits.memory': '7Gi' }), ['limits.memory would reach 8448Mi of its 8Gi (7Gi used)']],
    ['requests.memory over, and memory (which counts requests)', grown, quota('team', { 'requests.memory': '8Gi', 'memory': '8Gi' }, { 'requests.memory': '7Gi', 'memory': '7Gi' }),
      ['requests.memory would reach 8448Mi of its 8Gi (7Gi used)', 'memory would reach 8448Mi of its 8Gi (7Gi used)']],
    ['a request kept below its limit (Burstable) counts as the request', { containers: [c('app', '1280Mi', '512Mi')] },
      quota('team', { 'requests.memory': '8Gi' }, { 'requests.memory': '7Gi' }), []],
    ['overhead counts', { containers: [c('app', '1Gi', '1Gi')], overhead: { memory: '256Mi' } },
      quota('team', { 'requests.memory': '8Gi' }, { 'requests.memory': '7000Mi' }), ['requests.memory would reach 8280Mi of its 8Gi (7000Mi used)']],
    ['usage not counted yet: the API server refuses every pod', grown, quota('new', { 'limits.memory': '8Gi' }, undefined), ['its limits.memory usage is not counted yet']],
    ['a quota without memory', grown, quota('pods', { 'pods': '10', 'requests.cpu': '4' }, { pods: '9' }), []],
    ['a Terminating quota and a pod without a deadline', grown, quota('jobs', { 'limits.memory': '1Gi' }, { 'limits.memory': '0' }, { scopes: ['Terminating'] }), []],
    ['a Terminating quota and a pod with one', { ...grown, activeDeadlineSeconds: 60 }, quota('jobs', { 'limits.memory': '1Gi' }, { 'limits.memory': '0' }, { scopes: ['Terminating'] }),
      ['limits.memory would reach 1280Mi of its 1Gi (0 used)']],
    ['a NotTerminating quota', grown, quota('svc', { 'limits.memory': '1Gi' }, { 'limits.memory': '0' }, { scopes: ['NotTerminating', 'NotBestEffort'] }),
      ['limits.memory would reach 1280Mi of its 1Gi (0 used)']],
    ['a BestEffort quota never counts a pod with a limit', grown, quota('be', { pods: '1' }, { pods: '0' }, { scopes: ['BestEffort'] }), []],
    ['a PriorityClass In the pod is not in', { ...grown, priorityClassName: 'low' },
      quota('high', { 'limits.memory': '1Gi' }, { 'limits.memory': '0' }, { scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['high'] }] } }), []],
    ['a PriorityClass In the pod is in', { ...grown, priorityClassName: 'high' },
      quota('high', { 'limits.memory': '1Gi' }, { 'limits.memory': '0' }, { scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['high'] }] } }),
      ['limits.memory would reach 1280Mi of its 1Gi (0 used)']],
    ['a PriorityClass NotIn and a pod without a class', grown,
      quota('nothigh', { 'limits.memory': '1Gi' }, { 'limits.memory': '0' }, { scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'NotIn', values: ['high'] }] } }),
      ['limits.memory would reach 1280Mi of its 1Gi (0 used)']],
    ['CrossNamespacePodAffinity and a pod without such affinity', grown,
      quota('xns', { 'limits.memory': '1Gi' }, { 'limits.memory': '0' }, { scopeSelector: { matchExpressions: [{ scopeName: 'CrossNamespacePodAffinity', operator: 'Exists' }] } }), []],
    ['CrossNamespacePodAffinity and a pod with it',
      { ...grown, affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, podAffinityTerm: { topologyKey: 'k', namespaceSelector: {} } }] } } },
      quota('xns', { 'limits.memory': '1Gi' }, { 'limits.memory': '0' }, { scopeSelector: { matchExpressions: [{ scopeName: 'CrossNamespacePodAffinity', operator: 'Exists' }] } }),
      ['limits.memory would reach 1280Mi of its 1Gi (0 used)']],
    ['a scope this version does not know is counted (the safe side)', grown, quota('future', { 'limits.memory': '1Gi' }, { 'limits.memory': '0' }, { scopes: ['SomethingNew'] }),
      ['limits.memory would reach 1280Mi of its 1Gi (0 used)']],
  ])('%s', (_, spec, q, problems) => {
    expect(quotaRefusals(spec, [q])).toEqual(problems.length === 0 ? [] : [{ kind: 'ResourceQuota', name: q.metadata.name, problems }]);
  });
});

test('pods admitted since the quotas were read count as used, where the quota counts them', () => {
  const grown = { containers: [c('app', '1280Mi', '1280Mi')] };
  const team = quota('team', { 'limits.memory': '4Gi' }, { 'limits.memory': '1Gi' });
  expect(quotaRefusals(grown, [team], [grown])).toEqual([]);
  expect(quotaRefusals(grown, [team], [grown, grown])).toEqual([{ kind: 'ResourceQuota', name: 'team', problems: ['limits.memory would reach 4864Mi of its 4Gi (3584Mi used)'] }]);
  // A Terminating quota does not count a pod without a deadline, admitted or not.
  const jobs = quota('jobs', { 'limits.memory': '2Gi' }, { 'limits.memory': '0' }, { scopes: ['Terminating'] });
  const job = { ...grown, activeDeadlineSeconds: 60 };
  expect(quotaRefusals(job, [jobs], [grown, grown, null])).toEqual([]);
  expect(quotaRefusals(job, [jobs], [job])).toHaveLength(1);
});

test('namespaceRefusals: LimitRanges first, then quotas', () => {
  const spec = { containers: [c('app', '2Gi', '2Gi')] };
  expect(namespaceRefusals(spec, [limitRange('lr', { type: 'Container', max: { memory: '1Gi' } })], [quota('q', { 'limits.memory': '1Gi' }, { 'limits.memory': '0' })])
    .map(r => `${r.kind}/${r.name}`)).toEqual(['LimitRange/lr', 'ResourceQuota/q']);
});
