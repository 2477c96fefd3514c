/**
 * The minimal in-cluster client: where it finds the API server, that it reads a rotating token
 * file on every request, and that API errors carry the status and the server's message.
 */
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { FakeApiServer, TOKEN } from './support/fake-api-server';
import { KubeApiError, KubeClient, inClusterOptions } from '../../../src/programs/webhook/kube-client';

test('in a pod it goes to KUBERNETES_SERVICE_HOST:PORT (IPv6 in brackets); outside one it says so', () => {
  expect(() => inClusterOptions({})).toThrow('KUBERNETES_SERVICE_HOST and _PORT are not set: the webhook reaches the API server only from inside a cluster');
  // The CA file does not exist on a test machine, so only the address is checked here.
  expect(() => inClusterOptions({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' })).toThrow(/ca\.crt/);
});

test('reads the token file on every request (projected tokens rotate), and reports API errors with their message', async () => {
  const fake = new FakeApiServer();
  const baseUrl = await fake.start();
  const tokenFile = path.join(mkdtempSync(path.join(tmpdir(), 'cdk8s-shm-token-')), 'token');
  writeFileSync(tokenFile, 'expired-token\n');
  const client = new KubeClient({ baseUrl, tokenFile, ca: fake.ca });
  try {
    const error = await client.getSecret('cdk8s-shm', 'webhook-tls').catch(e => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect(error.status).toBe(401);
    expect(error.message).toBe('GET /api/v1/namespaces/cdk8s-shm/secrets/webhook-tls: HTTP 401: Unauthorized');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    expect((await client.getSecret('cdk8s-shm', 'webhook-tls')).kind).toBe('Secret');
    await expect(client.getSecret('cdk8s-shm', 'other')).rejects.toMatchObject({ status: 404 });
  } finally {
    client.close();
    await fake.close();
  }
});

test('refuses an API server whose certificate the CA did not sign', async () => {
  const fake = new FakeApiServer();
  const baseUrl = await fake.start();
  const client = new KubeClient({ baseUrl, token: TOKEN, ca: new FakeApiServer().ca });
  try {
    await expect(client.getSecret('cdk8s-shm', 'webhook-tls')).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  } finally {
    client.close();
    await fake.close();
  }
});
