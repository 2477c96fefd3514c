/**
 * A node agent and a business Deployment sharing memory across pods: platform agents
 * (service routing, security) that used to be baked into every business image now run once per
 * node, and the business process still talks to them through POSIX shared memory in /dev/shm.
 *
 * The agent's CSI node plugin publishes the domain into the business pods, so their namespace
 * keeps Pod Security `restricted`.
 */
import { App, Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { podspec, SharedMemoryAgent, SharedMemoryDomain } from 'cdk8s-shm';

export default function nodeAgentExample(app: App): Chart {
  const chart = new Chart(app, 'node-agent');

  // One agent pod per labeled node, with a 512Mi tmpfs domain mounted at /dev/shm.
  const agent = new SharedMemoryAgent(chart, 'routing-agent', {
    domain: SharedMemoryDomain.tmpfs({ size: Size.mebibytes(512) }),
    containers: [{
      name: 'agent',
      image: 'registry.example.com/platform/routing-agent:3.2.1',
      resources: {
        cpu: { request: podspec.Cpu.millis(100), limit: podspec.Cpu.millis(500) },
        memory: { request: Size.mebibytes(256), limit: Size.mebibytes(256) },
      },
    }],
  });

  // The business namespace stays at the strictest Pod Security level.
  const restricted = {
    'pod-security.kubernetes.io/enforce': 'restricted',
    'pod-security.kubernetes.io/warn': 'restricted',
    'pod-security.kubernetes.io/audit': 'restricted',
  };
  new kplus.Namespace(chart, 'shop', { metadata: { name: 'shop', labels: restricted } });
  const web = new kplus.Deployment(chart, 'web', {
    metadata: { namespace: 'shop' },
    replicas: 3,
    containers: [{
      name: 'web',
      image: 'registry.example.com/shop/web:5.0.0',
      portNumber: 8080,
      securityContext: {
        capabilities: { drop: [kplus.Capability.ALL] },
        seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
      },
      resources: { memory: { request: Size.gibibytes(1), limit: Size.gibibytes(1) } },
    }],
  });
  // Mounts the domain at /dev/shm and makes shop's pods (ServiceAccount default) tenants of the plugin.
  agent.share(web);
  return chart;
}
