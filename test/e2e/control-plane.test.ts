/**
 * The control plane itself is what the other suites claim it is: the pinned release, client
 * certificate and ServiceAccount token authentication, RBAC, the admission plugins, controllers
 * that make Pods, all in a network namespace of the run's own whose only addresses are its
 * loopback and the node's, and nothing listening anywhere else.
 */
import * as fs from 'fs';
import { controlPlane, kubeVersion } from './support/control-plane';
import { Kube, eventually, runAsync } from './support/kube';
import { NETWORK } from './support/network-namespace';
import { listeningAddresses } from './support/processes';
import { area, count } from './support/summary';

area('0 control plane');

const admin = Kube.admin();
const NS = 'e2e-control-plane';

beforeAll(async () => {
  await admin.namespace(NS, { 'pod-security.kubernetes.io/enforce': 'restricted' });
});

test('the API server and kubectl are the release pinned in e2e/kube/go.mod', async () => {
  const version = await admin.json(['version']);
  expect(version.serverVersion.gitVersion).toBe(kubeVersion());
  expect(version.clientVersion.gitVersion).toBe(kubeVersion());
  expect(Number(version.serverVersion.minor)).toBeGreaterThanOrEqual(36);
});

test('the admin is authenticated by its client certificate, a ServiceAccount by its token', async () => {
  const self = await admin.json(['auth', 'whoami']);
  expect(self.status.userInfo.username).toBe('cdk8s-shm-e2e-admin');
  expect(self.status.userInfo.groups).toContain('system:masters');

  await admin.kubectl(['create', 'serviceaccount', 'nobody', '-n', NS]);
  const nobody = await admin.asServiceAccount(NS, 'nobody');
  const who = await nobody.json(['auth', 'whoami']);
  expect(who.status.userInfo.username).toBe(`system:serviceaccount:${NS}:nobody`);
  // A bound token carries the ServiceAccount's identity and nothing else.
  expect(who.status.userInfo.groups).toEqual(expect.arrayContaining(['system:serviceaccounts', `system:serviceaccounts:${NS}`, 'system:authenticated']));
});

test('RBAC decides: a ServiceAccount without a role may not read Secrets', async () => {
  const nobody = await admin.asServiceAccount(NS, 'nobody');
  expect(await nobody.can('get', 'secrets', { namespace: NS })).toBe(false);
  const denied = await nobody.kubectl(['get', 'secrets', '-n', NS], { allowFailure: true });
  expect(denied.status).not.toBe(0);
  expect(denied.stderr).toContain('Forbidden');
  expect(await admin.can('get', 'secrets', { namespace: NS })).toBe(true);
});

test('Pod Security admission enforces the namespace label', async () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'privileged', namespace: NS },
    spec: { containers: [{ name: 'c', image: 'busybox:1.36.1', securityContext: { privileged: true } }] },
  };
  const refused = await admin.kubectl(['create', '-f', '-'], { input: JSON.stringify(pod), allowFailure: true });
  expect(refused.status).not.toBe(0);
  expect(refused.stderr).toContain('violates PodSecurity "restricted:latest"');
  const plugins = fs.readFileSync(controlPlane().logs['kube-apiserver'], 'utf8');
  expect(plugins).toMatch(/Loaded \d+ mutating admission controller\(s\) successfully in the following order: [^\n]*MutatingAdmissionWebhook/);
});

test('the controller manager turns a Deployment into a Pod (Pending: the real node\'s taint keeps it off)', async () => {
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: NS },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{ name: 'web', image: 'nginx:1.27', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
        },
      },
    },
  };
  await admin.create([deployment]);
  count({ objects: 1 });
  const pod = await eventually('a Pod of Deployment web', async () => (await admin.list('pods', NS, 'app=web'))[0]);
  expect(pod.status.phase).toBe('Pending');
  expect(pod.metadata.ownerReferences[0].kind).toBe('ReplicaSet');
  count({ pods: 1 });
});

test('the run has a network namespace of its own: its loopback, and the node\'s address on the pods\' bridge', async () => {
  const ours = fs.readlinkSync('/proc/self/ns/net');
  expect(fs.statSync(`/run/netns/${process.env.CDK8S_SHM_E2E_NETNS}`).ino).toBe(fs.statSync('/proc/self/ns/net').ino);
  const addresses = (await runAsync('ip', ['-o', '-4', 'addr', 'show'])).stdout.split('\n').filter(Boolean).map(line => line.split(/\s+/)[3]);
  expect(addresses.sort()).toEqual([`${NETWORK.nodeIp}/${NETWORK.podCidr.split('/')[1]}`, '127.0.0.1/8'].sort());
  expect(ours).toMatch(/^net:\[\d+\]$/);
});

test('every process of the run listens on its namespace\'s loopback or the node\'s address, nowhere else', () => {
  const listening = listeningAddresses(controlPlane().dir);
  // etcd (client and peer), kube-apiserver, the service network, the kubelet, kube-proxy.
  expect(listening.length).toBeGreaterThanOrEqual(6);
  for (const socket of listening) {
    // The API server binds every address of the namespace: pods reach it on the node's.
    const allowed = socket.process === 'kube-apiserver' ? ['0.0.0.0', '0:0:0:0:0:0:0:0'] : ['127.0.0.1', NETWORK.nodeIp];
    expect(allowed).toContain(socket.address);
  }
  expect(listening.filter(s => s.process === 'kubelet').map(s => s.address)).toContain(NETWORK.nodeIp);
});
