/**
 * SharedMemoryAgent.share() takes any construct that renders a pod template: a cdk8s-plus
 * workload, an L1 object, a construct whose default child is one (as every cdk8s-plus version's
 * workloads are), or an ApiObject; and refuses, when it is called, a construct that renders no
 * workload, naming it.
 */
import { ApiObject, Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { agentContainer, expectValid, one } from './support';
import { SharedMemoryAgent } from '../../../src';

let warn: jest.SpyInstance;
beforeEach(() => {
  warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
});
afterEach(() => warn.mockRestore());

const DOMAIN_VOLUME = { name: 'node-agent-shm', csi: { driver: 'node-agent.cdk8s-shm.io', volumeAttributes: { domain: 'node-agent' } } };

function deploymentProps(name: string) {
  return {
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'example/app:1.0' }] } },
    },
  };
}

/** What a higher-level construct of any library looks like to cdk8s: its ApiObject is its default child. */
class Wrapped extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new ApiObject(this, 'Resource', { apiVersion: 'apps/v1', kind: 'Deployment', ...deploymentProps('wrapped') });
  }
}

describe('share() of every kind of construct', () => {
  test('a cdk8s-plus Deployment, an L1 KubeDeployment, a wrapper construct and an ApiObject all get the domain', () => {
    const chart = Testing.chart();
    const agent = new SharedMemoryAgent(chart, 'node-agent', { containers: [agentContainer] });
    agent.share(new kplus.Deployment(chart, 'plus', { containers: [{ name: 'app', image: 'example/app:1.0' }] }));
    agent.share(new kplus.k8s.KubeDeployment(chart, 'l1', deploymentProps('l1') as kplus.k8s.KubeDeploymentProps));
    agent.share(new Wrapped(chart, 'wrapped'));
    agent.share(new ApiObject(chart, 'raw', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'raw' }, spec: { containers: [{ name: 'app', image: 'x' }] } }));
    const objects = Testing.synth(chart);
    expectValid(objects);
    const business = objects.filter(o => ['Deployment', 'Pod'].includes(o.kind));
    expect(business).toHaveLength(4);
    for (const o of business) {
      const pod = o.kind === 'Pod' ? o.spec : o.spec.template.spec;
      expect({ name: o.metadata.name, volumes: pod.volumes, mounts: pod.containers[0].volumeMounts })
        .toEqual({ name: o.metadata.name, volumes: [DOMAIN_VOLUME], mounts: [{ name: 'node-agent-shm', mountPath: '/dev/shm' }] });
      expect(pod.nodeSelector['cdk8s-shm.io/node-agent']).toBe('true');
    }
  });

  test('the same workload through its construct or through its ApiObject is one workload', () => {
    const chart = Testing.chart();
    const agent = new SharedMemoryAgent(chart, 'node-agent', { containers: [agentContainer] });
    const web = new kplus.Deployment(chart, 'web', { containers: [{ name: 'app', image: 'example/app:1.0' }] });
    agent.share(web);
    expect(() => agent.share(ApiObject.of(web))).toThrow("is already shared with SharedMemoryAgent 'node-agent': call share() once, with all options");
  });
});

describe('share() refuses, when called, what renders no pod template', () => {
  function agentIn(chart: Chart): SharedMemoryAgent {
    return new SharedMemoryAgent(chart, 'node-agent', { containers: [agentContainer] });
  }

  test('a construct without an ApiObject', () => {
    const chart = Testing.chart();
    const agent = agentIn(chart);
    const group = new Construct(chart, 'group');
    new ApiObject(group, 'inner', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [] } });
    expect(() => agent.share(group)).toThrow(
      "share() of SharedMemoryAgent 'node-agent' needs a construct that renders a Kubernetes workload, but 'test/group' has no ApiObject "
      + "(neither is one, nor has one as its default child 'Resource'): pass the workload itself, such as a cdk8s-plus Deployment, "
      + 'an L1 KubeDeployment or an ApiObject (for an Include, one of its apiObjects)');
  });

  test.each([
    ['a ConfigMap of cdk8s-plus', (chart: Chart) => new kplus.ConfigMap(chart, 'config'), "'test/config' is v1 ConfigMap"],
    ['a Service ApiObject', (chart: Chart) => new ApiObject(chart, 'svc', { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } }), "'test/svc' is v1 Service"],
    ['a custom resource named Deployment', (chart: Chart) => new ApiObject(chart, 'crd', { apiVersion: 'example.com/v1', kind: 'Deployment', metadata: { name: 'd' } }),
      "'test/crd' is example.com/v1 Deployment"],
  ])('%s', (_label, make, what) => {
    const chart = Testing.chart();
    const agent = agentIn(chart);
    expect(() => agent.share(make(chart))).toThrow(`share() of SharedMemoryAgent 'node-agent' needs a workload with a pod template, but ${what}: `
      + 'pass a Pod, PodTemplate, ReplicationController, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob (the built-in kinds)');
  });

  test('the agent\'s own objects, the plugin\'s DaemonSet among them', () => {
    const chart = Testing.chart();
    const agent = agentIn(chart);
    expect(() => agent.share(agent.daemonSet)).toThrow("SharedMemoryAgent 'node-agent' cannot share with its own DaemonSet 'DaemonSet': share() connects business workloads");
    const plugin = chart.node.findAll().find(c => ApiObject.isApiObject(c) && c.name === 'node-agent-csi' && c.kind === 'DaemonSet')!;
    expect(() => agent.share(plugin)).toThrow("SharedMemoryAgent 'node-agent' cannot share with its own DaemonSet");
    expect(one(Testing.synth(chart), 'DaemonSet', 'node-agent').spec.template.spec.volumes).toEqual([DOMAIN_VOLUME]);
  });

  test('a value that is no construct (JavaScript callers)', () => {
    const agent = agentIn(Testing.chart());
    expect(() => agent.share({ kind: 'Deployment' } as any)).toThrow("share() of SharedMemoryAgent 'node-agent' needs a construct (a workload), got object");
    expect(() => agent.share(undefined as any)).toThrow('got undefined');
  });
});
