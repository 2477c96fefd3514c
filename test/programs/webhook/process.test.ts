/**
 * The real process: the webhook bundled by scripts/bundle.mjs itself (into a private directory), spawned
 * with node, stopped with SIGTERM while a request is in flight, and given new certificate files
 * the way the kubelet swaps a Secret volume. Waits are on log lines and answers, never on sleeps.
 */
import { spawnSync } from 'child_process';
import { X509Certificate } from 'crypto';
import { mkdirSync, mkdtempSync, renameSync, statSync, symlinkSync, writeFileSync } from 'fs';
import * as https from 'https';
import { tmpdir } from 'os';
import * as path from 'path';
import { loadFixture } from './support/fixtures';
import { httpsRequest } from './support/harness';
import { SERVICE_DNS } from './support/tls';
import { bundleWebhook, killAll, startWebhookProcess } from './support/webhook-process';
import { createCertificateAuthority, issueServingCertificate } from '../../../src/programs/webhook/x509';

jest.setTimeout(120_000);

const root = path.join(__dirname, '..', '..', '..');
const work = mkdtempSync(path.join(tmpdir(), 'cdk8s-shm-process-'));
const ca = createCertificateAuthority({ commonName: 'process-test-ca', validityMs: 24 * 3600_000 });
const issue = () => issueServingCertificate(ca, { commonName: SERVICE_DNS, dnsNames: [SERVICE_DNS], validityMs: 3600_000 });
const serialOf = (pem: string) => new X509Certificate(pem).serialNumber;
let bundle: string;

beforeAll(async () => {
  bundle = await bundleWebhook();
});
afterAll(killAll);

/** The real process; the certificate flags given here win over the helper's own files. */
async function startWebhook(args: string[]) {
  const webhook = await startWebhookProcess(args);
  return { ...webhook, exited: webhook.exited.then(status => status.code) };
}

test('the bundle is one file under 1 MiB, so a ConfigMap can hold it', () => {
  expect(statSync(bundle).size).toBeLessThan(1024 * 1024);
});

test('--help prints the usage and exits 0, from the bundle and from the TypeScript entry', () => {
  const fromBundle = spawnSync(process.execPath, [bundle, '--help'], { encoding: 'utf8' });
  expect(fromBundle.status).toBe(0);
  expect(fromBundle.stdout).toMatch(/^Usage: cdk8s-shm webhook \[flags\]/);
  const fromSource = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/programs/webhook/main.ts', '--help'], {
    cwd: root, encoding: 'utf8', env: { ...process.env, TS_NODE_PROJECT: 'test/tsconfig.json' },
  });
  expect(fromSource.stderr).toBe('');
  expect(fromSource.stdout).toBe(fromBundle.stdout);
  expect(fromSource.status).toBe(0);
});

test('bad flags exit 2 with the reason; a certificate that cannot load exits 1', () => {
  const bad = spawnSync(process.execPath, [bundle, '--ratio', '7'], { encoding: 'utf8' });
  expect(bad.status).toBe(2);
  expect(bad.stderr).toBe('cdk8s-shm webhook: --ratio (7) must be greater than 0 and at most 1\n');
  const fromEnv = spawnSync(process.execPath, [bundle], { encoding: 'utf8', env: { ...process.env, CDK8S_SHM_POD_SELECTION: 'some' } });
  expect(fromEnv.status).toBe(2);
  expect(fromEnv.stderr).toContain('CDK8S_SHM_POD_SELECTION (some) must be one of opt-out, opt-in');
  const missing = spawnSync(process.execPath, [bundle, '--port', '0', '--tls-cert', path.join(work, 'none.crt'), '--tls-key', path.join(work, 'none.key')], { encoding: 'utf8' });
  expect(missing.status).toBe(1);
  expect(JSON.parse(missing.stdout.trim().split('\n').pop()!)).toMatchObject({ level: 'error', msg: 'cannot start', error: { message: expect.stringContaining('cannot load the serving certificate') } });
});

test('SIGTERM: stops accepting, finishes the request in flight, exits 0', async () => {
  const serving = issue();
  const dir = mkdtempSync(path.join(work, 'sigterm-'));
  writeFileSync(path.join(dir, 'tls.crt'), serving.certPem);
  writeFileSync(path.join(dir, 'tls.key'), serving.keyPem);
  const webhook = await startWebhook(['--tls-cert', path.join(dir, 'tls.crt'), '--tls-key', path.join(dir, 'tls.key')]);
  const target = { port: webhook.port, ca: ca.certPem };

  const review = JSON.stringify(loadFixture('10-sidecar-and-init-containers.json'));
  const half = Math.floor(review.length / 2);
  let req!: ReturnType<typeof https.request>;
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req = https.request({
      host: '127.0.0.1',
      port: webhook.port,
      servername: SERVICE_DNS,
      ca: ca.certPem,
      method: 'POST',
      path: '/mutate',
      agent: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(review)) },
    }, res => {
      let body = '';
      res.on('data', chunk => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
  req.write(review.slice(0, half));
  // The server has the request when its in-flight gauge says so.
  while (!/^cdk8s_shm_admission_in_flight 1$/m.test((await httpsRequest(target, { path: '/metrics' })).text));

  webhook.child.kill('SIGTERM');
  await webhook.waitForLog(entry => entry.msg === 'draining: no new connections; finishing requests in flight');
  // Refused, or (a connection caught in the listener's backlog as it closes) reset before any byte.
  await expect(httpsRequest(target, { path: '/healthz' })).rejects.toMatchObject({ code: expect.stringMatching(/^(ECONNREFUSED|ECONNRESET)$/) });
  req.end(review.slice(half));

  const response = await answer;
  expect(response.status).toBe(200);
  const body = JSON.parse(response.body);
  expect(body.response.uid).toBe('00000000-0000-4000-8000-000000000010');
  expect(body.response.patchType).toBe('JSONPatch');
  expect(await webhook.exited).toBe(0);
  expect(webhook.logs.map(entry => entry.msg)).toEqual(expect.arrayContaining(['shutting down', 'stopped']));
  expect(webhook.logs.find(entry => entry.msg === 'shutting down')?.signal).toBe('SIGTERM');
});

test('certificate files swapped the way the kubelet updates a Secret volume are served without a restart', async () => {
  // The kubelet's layout: ..<timestamp>/ holds the files, ..data points at it, tls.crt -> ..data/tls.crt.
  const dir = mkdtempSync(path.join(work, 'volume-'));
  const writeVersion = (name: string, cert: string, key: string) => {
    mkdirSync(path.join(dir, name));
    writeFileSync(path.join(dir, name, 'tls.crt'), cert);
    writeFileSync(path.join(dir, name, 'tls.key'), key);
  };
  const point = (name: string) => {
    symlinkSync(name, path.join(dir, '..data_tmp'));
    renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  };
  const first = issue();
  writeVersion('..2026_01', first.certPem, first.keyPem);
  point('..2026_01');
  symlinkSync('..data/tls.crt', path.join(dir, 'tls.crt'));
  symlinkSync('..data/tls.key', path.join(dir, 'tls.key'));

  const webhook = await startWebhook(['--tls-cert', path.join(dir, 'tls.crt'), '--tls-key', path.join(dir, 'tls.key'), '--log-level', 'debug']);
  const target = { port: webhook.port, ca: ca.certPem };
  const serial = async () => (await httpsRequest(target, { path: '/healthz' })).peerCertificate!.serialNumber;
  expect(await serial()).toBe(serialOf(first.certPem));

  // cert-manager renewed: the kubelet writes a new directory and swaps ..data atomically.
  const second = issue();
  writeVersion('..2026_02', second.certPem, second.keyPem);
  point('..2026_02');
  await webhook.waitForLog(entry => entry.msg === 'reloaded the serving certificate' && entry.serial === serialOf(second.certPem));
  expect(await serial()).toBe(serialOf(second.certPem));

  // A key that does not match the certificate (someone copying files by hand) is not taken.
  const third = issue();
  const mismatched = issue();
  writeVersion('..2026_03', third.certPem, mismatched.keyPem);
  point('..2026_03');
  await webhook.waitForLog(entry => entry.msg === 'certificate files changed but do not load; keeping the current certificate');
  expect(await serial()).toBe(serialOf(second.certPem));
  const fourth = issue();
  writeVersion('..2026_04', fourth.certPem, fourth.keyPem);
  point('..2026_04');
  await webhook.waitForLog(entry => entry.msg === 'reloaded the serving certificate' && entry.serial === serialOf(fourth.certPem));
  expect(await serial()).toBe(serialOf(fourth.certPem));

  const metrics = (await httpsRequest(target, { path: '/metrics' })).text;
  expect(metrics).toMatch(/^cdk8s_shm_certificate_reloads_total 2$/m);
  expect(metrics).toMatch(/^cdk8s_shm_certificate_reload_failures_total 1$/m);
  webhook.child.kill('SIGTERM');
  expect(await webhook.exited).toBe(0);
});

test('plain certificate files rewritten in place (no symlinks) are reloaded too', async () => {
  const dir = mkdtempSync(path.join(work, 'plain-'));
  const certFile = path.join(dir, 'tls.crt');
  const keyFile = path.join(dir, 'tls.key');
  const first = issue();
  writeFileSync(certFile, first.certPem);
  writeFileSync(keyFile, first.keyPem);
  const webhook = await startWebhook(['--tls-cert', certFile, '--tls-key', keyFile]);
  const target = { port: webhook.port, ca: ca.certPem };

  // Certificate first, key second: for a moment the pair does not match, and must not be served.
  const second = issue();
  writeFileSync(certFile, second.certPem);
  writeFileSync(keyFile, second.keyPem);
  await webhook.waitForLog(entry => entry.msg === 'reloaded the serving certificate' && entry.serial === serialOf(second.certPem));
  expect((await httpsRequest(target, { path: '/healthz' })).peerCertificate!.serialNumber).toBe(serialOf(second.certPem));
  webhook.child.kill('SIGINT');
  expect(await webhook.exited).toBe(0);
  expect(webhook.logs.find(entry => entry.msg === 'shutting down')?.signal).toBe('SIGINT');
});
