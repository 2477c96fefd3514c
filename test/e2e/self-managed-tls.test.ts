/**
 * Area 4: self-managed TLS for real. Everything SharedMemoryWebhook synthesizes is applied as it
 * is (the empty Secret, the RBAC limited by name, the Service-based configuration without a
 * caBundle). Two replicas of the bundled server start at once, each with its own ServiceAccount
 * token bound to exactly that RBAC: they agree on one CA and serving certificate through the
 * Secret, write the CA into the configuration's caBundle, and the API server then calls them by
 * Service (`name.namespace.svc`, verified against that caBundle), reached through the service
 * network. What the RBAC does not grant is denied.
 */
import { X509Certificate } from 'crypto';
import * as tls from 'tls';
import { Kube, eventually } from './support/kube';
import { serviceConnections } from './support/service-network';
import { area, count } from './support/summary';
import {
  LocalWebhook, deleteClusterScoped, exposeLocalService, mountNamespaceUnavailable, only, serverContainer, startLocalWebhook, synthWebhook,
  waitForWebhook, withUrl,
} from './support/webhook';
import { SIZE_LIMIT_ANNOTATION } from '../../src/core';

area('4 self-managed TLS');

const admin = Kube.admin();
const WEBHOOK_NS = 'e2e-tls-webhook';
const NS = 'e2e-tls';
const objects = synthWebhook({ namespace: WEBHOOK_NS, name: 'e2e-tls' });
const configuration = only(objects, 'MutatingWebhookConfiguration');
const service = only(objects, 'Service').metadata;
const secretName = only(objects, 'Secret').metadata.name;
const serviceAccount = only(objects, 'ServiceAccount').metadata.name;
const container = serverContainer(objects);
const nodeOptions = container.env.find((e: any) => e.name === 'NODE_OPTIONS').value;

const reason = mountNamespaceUnavailable();
const describeTls = reason === undefined ? describe : describe.skip;
const suffix = reason === undefined ? '' : ` [SKIPPED: ${reason}]`;

let replicas: LocalWebhook[] = [];

/** The certificate a replica presents for the Service's name. */
function presented(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: `${service.name}.${service.namespace}.svc`, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.end();
      resolve(new X509Certificate(raw));
    });
    socket.on('error', reject);
  });
}

const secretData = async () => (await admin.get('secret', secretName, WEBHOOK_NS)).data ?? {};
const decoded = (value: string | undefined) => Buffer.from(value ?? '', 'base64').toString('utf8');

describeTls(`self-managed TLS against the real API server${suffix}`, () => {
  beforeAll(async () => {
    await admin.namespace(NS);
    // As a user would: kubectl apply of everything the construct synthesized.
    await admin.apply(objects);
    count({ objects: objects.length });
    expect(await secretData()).toEqual({});
    // Two replicas at once, each with its own bound token, as two pods of the Deployment.
    replicas = await Promise.all([1, 2].map(async () => startLocalWebhook(admin.cluster, {
      args: container.args,
      nodeOptions,
      serviceAccount: { token: await admin.token(WEBHOOK_NS, serviceAccount), caPem: admin.cluster.caPem },
    })));
  });

  afterAll(async () => {
    await admin.kubectl(['delete', 'mutatingwebhookconfiguration', 'e2e-tls-by-url', '--ignore-not-found']);
    await deleteClusterScoped(admin, objects);
    exposeLocalService(admin.cluster, service, undefined);
    await Promise.all(replicas.map(r => r.stop()));
  });

  test('the two replicas agree on one certificate, stored in the Secret: one wrote it, the other adopted it', async () => {
    const data = await secretData();
    expect(Object.keys(data).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    const stored = new X509Certificate(decoded(data['tls.crt']));
    const [first, second] = await Promise.all(replicas.map(r => presented(r.port)));
    expect(first.fingerprint256).toBe(stored.fingerprint256);
    expect(second.fingerprint256).toBe(stored.fingerprint256);
    expect(stored.checkIssued(new X509Certificate(decoded(data['ca.crt'])))).toBe(true);
    const writes = replicas.flatMap(r => r.logs.filter(e => e.msg === 'self-managed TLS: wrote a new certificate'));
    expect(writes).toHaveLength(1);
    // The type the construct created the Secret with stays (the API server keeps `type` immutable).
    expect((await admin.get('secret', secretName, WEBHOOK_NS)).type).toBe(only(objects, 'Secret').type);
  });

  test('the caBundle of the configuration is the Secret\'s CA', async () => {
    const data = await secretData();
    const stored = await eventually('the caBundle written', async () => {
      const current = await admin.get('mutatingwebhookconfiguration', configuration.metadata.name);
      return current.webhooks.every((w: any) => w.clientConfig.caBundle) ? current : undefined;
    });
    for (const webhook of stored.webhooks) expect(webhook.clientConfig.caBundle).toBe(data['ca.crt']);
    // Nothing else of the configuration changed.
    const { caBundle: _ignored, ...clientConfig } = stored.webhooks[0].clientConfig;
    expect(clientConfig).toEqual(configuration.webhooks[0].clientConfig);
  });

  test('the API server calls the webhook by its Service, trusting the caBundle, whichever replica answers', async () => {
    // Only what comes after the Service is routed counts: the controller manager keeps creating
    // pods for workloads earlier areas applied, and they call this webhook as soon as its caBundle
    // is written, while the Service has no endpoint yet.
    const routedSince = new Date().toISOString();
    for (const replica of replicas) {
      exposeLocalService(admin.cluster, service, replica.port);
      // Until this replica answers (the API server may still hold a connection to the other one).
      const before = replica.logs.filter(e => e.msg === 'admission').length;
      await eventually('this replica called', async () => {
        await waitForWebhook(admin, NS);
        return replica.logs.filter(e => e.msg === 'admission').length > before ? true : undefined;
      });
      const pod = await admin.json(['create', '-n', NS, '-f', '-'], {
        input: JSON.stringify({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { generateName: 'by-service-' },
          spec: { containers: [{ name: 'main', image: 'registry.example.com/app:1.0.0', resources: { limits: { memory: '2Gi' } } }] },
        }),
      });
      expect(pod.metadata.annotations[SIZE_LIMIT_ANNOTATION]).toBeDefined();
      count({ pods: 1 });
    }
    const routed = serviceConnections(admin.cluster.serviceLogFile)
      .filter(c => c.authority === `${service.name}.${service.namespace}.svc:443` && c.at >= routedSince);
    expect(routed.length).toBeGreaterThan(0);
    expect(routed.every(c => c.routed)).toBe(true);
  });

  test('the ServiceAccount may do what the construct grants and nothing else', async () => {
    const webhook = await admin.asServiceAccount(WEBHOOK_NS, serviceAccount);
    const allowed = async (args: string[]) => webhook.can(args[0], args[1], { namespace: args[2] });
    expect(await allowed(['get', `secret/${secretName}`, WEBHOOK_NS])).toBe(true);
    expect(await allowed(['update', `secret/${secretName}`, WEBHOOK_NS])).toBe(true);
    expect(await allowed(['get', `mutatingwebhookconfiguration/${configuration.metadata.name}`])).toBe(true);
    expect(await allowed(['patch', `mutatingwebhookconfiguration/${configuration.metadata.name}`])).toBe(true);
    for (const denied of [
      ['get', 'secret/other', WEBHOOK_NS], ['list', 'secrets', WEBHOOK_NS], ['create', 'secrets', WEBHOOK_NS], ['delete', `secret/${secretName}`, WEBHOOK_NS],
      ['get', `secret/${secretName}`, NS], ['patch', 'mutatingwebhookconfiguration/other'], ['update', `mutatingwebhookconfiguration/${configuration.metadata.name}`],
      ['delete', `mutatingwebhookconfiguration/${configuration.metadata.name}`], ['create', 'mutatingwebhookconfigurations'], ['list', 'pods', NS],
    ]) expect({ denied, allowed: await allowed(denied) }).toEqual({ denied, allowed: false });

    // And the API server refuses the real requests, not just the question.
    await admin.kubectl(['create', 'secret', 'generic', 'other', '-n', WEBHOOK_NS, '--from-literal=k=v']);
    const other = await webhook.kubectl(['get', 'secret', 'other', '-n', WEBHOOK_NS], { allowFailure: true });
    expect(other.stderr).toContain(`secrets "other" is forbidden: User "system:serviceaccount:${WEBHOOK_NS}:${serviceAccount}" cannot get resource "secrets"`);
    await admin.apply([{ ...configuration, metadata: { name: 'e2e-tls-other' }, webhooks: [{ ...configuration.webhooks[0], namespaceSelector: { matchLabels: { never: 'true' } } }] }]);
    const patch = await webhook.kubectl(['patch', 'mutatingwebhookconfiguration', 'e2e-tls-other', '--type=json',
      '-p', '[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Fail"}]'], { allowFailure: true });
    expect(patch.stderr).toContain('mutatingwebhookconfigurations.admissionregistration.k8s.io "e2e-tls-other" is forbidden');
    await admin.kubectl(['delete', 'mutatingwebhookconfiguration', 'e2e-tls-other']);
  });

  test('the admission policies hold: the ServiceAccount may change caBundle and nothing else, the code ConfigMap only a configuration owner', async () => {
    const name = configuration.metadata.name;
    const webhook = await admin.asServiceAccount(WEBHOOK_NS, serviceAccount);
    // RBAC grants the patch; the ValidatingAdmissionPolicy refuses everything but caBundle.
    const rules = await webhook.kubectl(['patch', 'mutatingwebhookconfiguration', name, '--type=json',
      '-p', '[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Fail"}]'], { allowFailure: true });
    expect(rules.stderr).toContain(`may change only clientConfig.caBundle in MutatingWebhookConfiguration ${name}`);
    const label = await webhook.kubectl(['label', 'mutatingwebhookconfiguration', name, 'stolen=true'], { allowFailure: true });
    expect(label.stderr).toContain('may not change the labels, annotations, owners or finalizers');
    const caBundle = (await admin.get('mutatingwebhookconfiguration', name)).webhooks[0].clientConfig.caBundle;
    const same = await webhook.kubectl(['patch', 'mutatingwebhookconfiguration', name, '--type=json',
      '-p', JSON.stringify([{ op: 'replace', path: '/webhooks/0/clientConfig/caBundle', value: caBundle }])], { allowFailure: true });
    expect(same.stderr).not.toContain('forbidden');
    expect(same.status).toBe(0);

    // Someone who may edit ConfigMaps in the namespace, but not the configuration, may not change the server code.
    const code = only(objects, 'ConfigMap');
    await admin.apply([
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'editor', namespace: WEBHOOK_NS } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'editor', namespace: WEBHOOK_NS }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'update', 'patch'] }] },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'editor', namespace: WEBHOOK_NS }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'editor' }, subjects: [{ kind: 'ServiceAccount', name: 'editor', namespace: WEBHOOK_NS }] },
    ]);
    const editor = await admin.asServiceAccount(WEBHOOK_NS, 'editor');
    const tamper = await editor.kubectl(['patch', 'configmap', code.metadata.name, '-n', WEBHOOK_NS, '--type=merge', '-p', '{"data":{"extra":"x"}}'], { allowFailure: true });
    expect(tamper.stderr).toContain(`ConfigMap ${WEBHOOK_NS}/${code.metadata.name} is the code of webhook ${name}`);
    const owner = await admin.kubectl(['patch', 'configmap', code.metadata.name, '-n', WEBHOOK_NS, '--type=merge', '-p', '{"data":{"extra":"x"}}'], { allowFailure: true });
    expect(owner.status).toBe(0);
    count({ objects: 3 });
  });

  test('a url-based registration cannot use the self-managed certificate: it has no IP SAN for 127.0.0.1', async () => {
    const data = await secretData();
    const cert = new X509Certificate(decoded(data['tls.crt']));
    expect(cert.subjectAltName).not.toContain('IP Address:127.0.0.1');
    expect(cert.subjectAltName).toContain(`DNS:${service.name}.${service.namespace}.svc`);
    const byUrl = withUrl({ ...configuration, metadata: { name: 'e2e-tls-by-url' } }, replicas[0].port);
    for (const webhook of byUrl.webhooks) {
      webhook.clientConfig.caBundle = data['ca.crt'];
      webhook.failurePolicy = 'Fail';
      webhook.namespaceSelector = { matchLabels: { 'e2e.cdk8s-shm.io/by-url': 'true' } };
    }
    await admin.namespace('e2e-tls-by-url', { 'e2e.cdk8s-shm.io/by-url': 'true' });
    await admin.apply([byUrl]);
    const refused = await eventually('the url-based webhook called', async () => {
      const run = await admin.kubectl(['create', '-n', 'e2e-tls-by-url', '--dry-run=server', '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i', resources: { limits: { memory: '1Gi' } } }] } }),
        allowFailure: true,
      });
      if (run.status === 0) return undefined; // the configuration has not reached the admission plugin yet
      // Anything else first (a namespace still settling) is retried, and named if it stays.
      if (!run.stderr.includes('failed calling webhook')) throw new Error(run.stderr.trim());
      return run;
    });
    expect(refused.stderr).toContain('x509: cannot validate certificate for 127.0.0.1 because it doesn\'t contain any IP SANs');
  });
});
