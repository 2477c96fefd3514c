/**
 * Self-managed TLS against a fake of the two API endpoints it uses: the first start writes the
 * Secret and the caBundle; later replicas adopt; racing replicas resolve through 409 Conflict to
 * one certificate; renewal before expiry, polling replicas reloading, CA rotation keeping the old
 * CA trusted, repair of a wiped Secret or caBundle, and the errors RBAC or a missing Secret cause.
 * Then the whole server in self-managed mode, called over HTTPS verified with the caBundle.
 */
import * as crypto from 'crypto';
import { FakeApiServer, TOKEN } from './support/fake-api-server';
import { loadFixture } from './support/fixtures';
import { admit, httpsRequest } from './support/harness';
import { parseWebhookArgs } from '../../../src/contracts/webhook-flags';
import { createLogger } from '../../../src/programs/shared/log';
import { KubeClient } from '../../../src/programs/webhook/kube-client';
import { metricValue } from '../../../src/programs/webhook/metrics';
import { SelfManagedTls, SelfManagedTlsOptions, serviceDnsNames } from '../../../src/programs/webhook/self-managed-tls';
import { startWebhookServer } from '../../../src/programs/webhook/server';
import { splitPemCertificates } from '../../../src/programs/webhook/x509';

jest.setTimeout(60_000);

const DAY = 24 * 3600 * 1000;
const SERVICE = { name: 'cdk8s-shm-webhook', namespace: 'cdk8s-shm' };
const quiet = createLogger('error', () => undefined);

let fake: FakeApiServer;
let baseUrl: string;
const clients: KubeClient[] = [];
beforeEach(async () => {
  fake = new FakeApiServer();
  baseUrl = await fake.start();
});
afterEach(async () => {
  clients.splice(0).forEach(client => client.close());
  await fake.close();
});

/** A replica's TLS manager with its own clock. */
function replica(extra: Partial<SelfManagedTlsOptions> = {}) {
  const clock = { now: new Date() };
  const reloads: string[] = [];
  const client = new KubeClient({ baseUrl, token: TOKEN, ca: fake.ca });
  clients.push(client);
  const tls = new SelfManagedTls({
    client,
    secret: { namespace: 'cdk8s-shm', name: 'webhook-tls' },
    webhookConfiguration: 'cdk8s-shm',
    service: SERVICE,
    log: quiet,
    onMaterial: material => reloads.push(material.cert),
    caValidityMs: 100 * DAY,
    servingValidityMs: 10 * DAY,
    renewBeforeMs: 2 * DAY,
    bootstrapTimeoutMs: 1_000,
    now: () => clock.now,
    ...extra,
  });
  return { tls, clock, reloads };
}

const stored = (key: string) => Buffer.from(fake.secret.data[key] ?? '', 'base64').toString();

test('the first start writes CA and serving certificate into the Secret and the CA into every webhook', async () => {
  const { tls } = replica();
  const material = await tls.bootstrap();

  expect(fake.count('PUT', 200)).toBe(1);
  // What it read stays: the type (immutable in the API server) and the labels.
  expect(fake.secret.type).toBe('Opaque');
  expect(fake.secret.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'cdk8s-shm-webhook' });
  expect(stored('tls.crt')).toBe(material.cert);
  expect(stored('tls.key')).toBe(material.key);
  const ca = new crypto.X509Certificate(stored('ca.crt'));
  const cert = new crypto.X509Certificate(material.cert);
  expect(ca.ca).toBe(true);
  expect(cert.checkIssued(ca) && cert.verify(ca.publicKey)).toBe(true);
  for (const name of serviceDnsNames(SERVICE)) expect(cert.checkHost(name, { subject: 'never' })).toBe(name);
  expect(serviceDnsNames(SERVICE)).toEqual(['cdk8s-shm-webhook', 'cdk8s-shm-webhook.cdk8s-shm', 'cdk8s-shm-webhook.cdk8s-shm.svc', 'cdk8s-shm-webhook.cdk8s-shm.svc.cluster.local']);
  expect(fake.caBundles()).toEqual([stored('ca.crt'), stored('ca.crt')]);
  expect(tls.secretResourceVersion).toBe(fake.secret.metadata.resourceVersion);
  // Only the verbs RBAC grants: get/update on the Secret, get/patch on the configuration.
  expect(new Set(fake.calls.map(c => c.method))).toEqual(new Set(['GET', 'PUT', 'PATCH']));
});

test('a replica starting later adopts the stored certificate without writing', async () => {
  const first = await replica().tls.bootstrap();
  const second = await replica().tls.bootstrap();
  expect(second).toEqual(first);
  expect(fake.count('PUT')).toBe(1);
  expect(fake.count('PATCH')).toBe(1); // the caBundle was already right
});

test('replicas racing on an empty Secret: one write wins, the other gets 409 and adopts the winner', async () => {
  fake.holdSecretGets = 3;
  const [a, b, c] = await Promise.all([replica().tls.bootstrap(), replica().tls.bootstrap(), replica().tls.bootstrap()]);
  expect(fake.count('PUT', 200)).toBe(1);
  expect(fake.count('PUT', 409)).toBe(2);
  expect(b).toEqual(a);
  expect(c).toEqual(a);
  expect(stored('tls.crt')).toBe(a.cert);
  expect(fake.caBundles()[0]).toBe(stored('ca.crt'));
});

test('renewal before expiry: the serving certificate is reissued by the same CA, and polling replicas reload', async () => {
  const a = replica();
  const b = replica();
  const first = await a.tls.bootstrap();
  await b.tls.bootstrap();
  const caBefore = stored('ca.crt');

  a.clock.now = new Date(Date.now() + 5 * DAY);
  await a.tls.sync();
  expect(fake.count('PUT', 200)).toBe(1); // not due yet

  a.clock.now = new Date(Date.now() + 8.5 * DAY); // within 2 days of the 10-day expiry
  await a.tls.sync();
  expect(fake.count('PUT', 200)).toBe(2);
  const renewed = a.tls.material!;
  expect(renewed.cert).not.toBe(first.cert);
  expect(a.reloads).toEqual([renewed.cert]);
  expect(stored('ca.crt')).toBe(caBefore);
  expect(new crypto.X509Certificate(renewed.cert).checkIssued(new crypto.X509Certificate(caBefore))).toBe(true);

  // B never wrote: its next poll finds the new certificate and reloads.
  await b.tls.sync();
  expect(b.reloads).toEqual([renewed.cert]);
  expect(fake.count('PUT', 200)).toBe(2);
});

test('CA rotation: a new CA near the old one\'s expiry, with the old CA kept in the bundle while it is valid', async () => {
  const a = replica();
  await a.tls.bootstrap();
  const oldCa = stored('ca.crt');
  a.clock.now = new Date(Date.now() + 95 * DAY); // the CA has less than a serving validity left
  await a.tls.sync();
  const bundle = splitPemCertificates(stored('ca.crt'));
  expect(bundle).toHaveLength(2);
  expect(bundle[1]).toBe(oldCa);
  expect(new crypto.X509Certificate(a.tls.material!.cert).checkIssued(new crypto.X509Certificate(bundle[0]))).toBe(true);
  expect(fake.caBundles()).toEqual([stored('ca.crt'), stored('ca.crt')]);
});

test('a wiped or corrupted Secret and a reset caBundle are repaired on the next poll', async () => {
  const a = replica();
  await a.tls.bootstrap();
  fake.writeSecretData({ 'tls.crt': Buffer.from('garbage').toString('base64'), 'tls.key': '', 'ca.crt': fake.secret.data['ca.crt'], 'ca.key': fake.secret.data['ca.key'] });
  fake.configuration.webhooks[1].clientConfig.caBundle = undefined;
  await a.tls.sync();
  const cert = new crypto.X509Certificate(stored('tls.crt'));
  expect(cert.checkIssued(new crypto.X509Certificate(stored('ca.crt')))).toBe(true);
  expect(a.tls.material!.cert).toBe(stored('tls.crt'));
  expect(fake.caBundles()).toEqual([stored('ca.crt'), stored('ca.crt')]);
});

test('a certificate for another Service is replaced', async () => {
  await replica({ service: { name: 'old-name', namespace: 'cdk8s-shm' } }).tls.bootstrap();
  const { tls } = replica();
  const material = await tls.bootstrap();
  expect(new crypto.X509Certificate(material.cert).checkHost('cdk8s-shm-webhook.cdk8s-shm.svc', { subject: 'never' })).toBeDefined();
  expect(fake.count('PUT', 200)).toBe(2);
});

test.each([
  [404, 'NotFound', /the Secret cdk8s-shm\/webhook-tls must exist: the SharedMemoryWebhook construct creates it/],
  [403, 'Forbidden', /RBAC: the service account needs get\/update on Secret cdk8s-shm\/webhook-tls and get\/patch on MutatingWebhookConfiguration cdk8s-shm/],
])('HTTP %i from the API server: start-up fails after retrying, saying what to fix', async (status, reason, message) => {
  fake.failWith = { status, reason };
  await expect(replica().tls.bootstrap()).rejects.toThrow(message);
  expect(fake.count('GET')).toBeGreaterThan(1); // it retried
});

/** The whole server in self-managed mode, against the fake API server. */
function startSelfManaged(pollIntervalMs: number) {
  const options = parseWebhookArgs(['--port', '0', '--tls-mode', 'self-managed', '--tls-secret', 'cdk8s-shm/webhook-tls',
    '--webhook-configuration', 'cdk8s-shm', '--service', 'cdk8s-shm-webhook.cdk8s-shm'], {});
  return startWebhookServer({
    ...options,
    host: '127.0.0.1',
    logger: quiet,
    kube: { baseUrl, token: TOKEN, ca: fake.ca },
    selfManaged: { pollIntervalMs, caValidityMs: 100 * DAY, servingValidityMs: 10 * DAY, renewBeforeMs: 2 * DAY },
  });
}

/** The webhook configuration is not there yet (applied after the Deployment); returns what brings it back. */
function hideConfiguration(): () => void {
  const name = fake.configurationName;
  const saved = fake.configuration;
  fake.configuration = { ...saved, metadata: { ...saved.metadata, name: 'not-yet' } };
  (fake as any).configurationName = 'not-yet';
  return () => {
    (fake as any).configurationName = name;
    fake.configuration = saved;
  };
}

test('a missing webhook configuration does not stop the server; the caBundle is written once it exists', async () => {
  const restore = hideConfiguration();
  const a = replica();
  await a.tls.bootstrap();
  restore();
  await a.tls.sync();
  expect(fake.caBundles()).toEqual([stored('ca.crt'), stored('ca.crt')]);
});

test('caBundlePublished: false until the configuration holds our CA, true once it does', async () => {
  const restore = hideConfiguration();
  const a = replica();
  await a.tls.bootstrap();
  expect(a.tls.caBundlePublished).toBe(false);
  restore();
  await a.tls.sync();
  expect(a.tls.caBundlePublished).toBe(true);
  // Someone resets it: not published until the next round writes it again.
  for (const webhook of fake.configuration.webhooks) delete webhook.clientConfig.caBundle;
  await a.tls.sync();
  expect(a.tls.caBundlePublished).toBe(true);
  expect(fake.caBundles()).toEqual([stored('ca.crt'), stored('ca.crt')]);
});

test('the server is not ready until the API server can trust it, then ready without a restart', async () => {
  const restore = hideConfiguration();
  const server = await startSelfManaged(60_000);
  try {
    const target = { port: server.port, ca: stored('ca.crt'), servername: 'cdk8s-shm-webhook.cdk8s-shm.svc' };
    expect(await httpsRequest(target, { path: '/readyz' })).toMatchObject({ status: 503, text: 'waiting for the caBundle to be published\n' });
    // Alive all the same: liveness must not restart it for this.
    expect((await httpsRequest(target, { path: '/healthz' })).status).toBe(200);
    restore();
    // It retries within seconds while unpublished, not at the 60 s poll.
    const started = Date.now();
    while ((await httpsRequest(target, { path: '/readyz' })).status !== 200) {
      expect(Date.now() - started).toBeLessThan(15_000);
      await new Promise(resolve => setTimeout(resolve, 100));
    }
    expect(fake.caBundles()).toEqual([stored('ca.crt'), stored('ca.crt')]);
  } finally {
    await server.close();
  }
});

test('the server in self-managed mode: trusted through the caBundle, and reloading what another replica renews', async () => {
  const server = await startSelfManaged(100);
  try {
    const target = { port: server.port, ca: fake.caBundles()[0], servername: 'cdk8s-shm-webhook.cdk8s-shm.svc' };
    const admission = await admit(target, loadFixture('04-kubewarden-resources-limits.request.json'));
    expect(admission.ops.length).toBeGreaterThan(0);
    const before = (await httpsRequest(target, { path: '/healthz' })).peerCertificate!.serialNumber;

    // Another replica renews the certificate (it renews earlier than the server would, so that
    // the real clock, which the handshake checks, needs no moving).
    const other = replica({ servingValidityMs: 20 * DAY, renewBeforeMs: 10.5 * DAY });
    await other.tls.sync();
    const renewedSerial = new crypto.X509Certificate(stored('tls.crt')).serialNumber;
    expect(renewedSerial).not.toBe(before);

    // The server's poll picks it up; wait for the handshake to show it.
    let serial = before;
    while (serial !== renewedSerial) {
      await new Promise(resolve => setTimeout(resolve, 50));
      serial = (await httpsRequest(target, { path: '/healthz' })).peerCertificate!.serialNumber;
    }
    expect(await metricValue(server.metrics.certificateReloads)).toBe(1);
    expect((await admit(target, loadFixture('10-sidecar-and-init-containers.json'))).allowed).toBe(true);
  } finally {
    await server.close();
  }
});
