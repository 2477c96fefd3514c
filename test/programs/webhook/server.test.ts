/**
 * The server in-process over real HTTPS on 127.0.0.1, called the way kube-apiserver calls it
 * (see support/harness.ts): every fixture admitted, patched, validated and reinvoked; the routes,
 * the limits, the 4xx answers, the metrics, TLS 1.2+, keep-alive and a draining close.
 */
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as tls from 'tls';
import { loadFixture, loadFixtures, podCreateReview, podResizeReview } from './support/fixtures';
import { WebhookTarget, admit, admitAndReinvoke, expectValidPods, httpsRequest } from './support/harness';
import { SERVICE_DNS, makeTls, writeTlsFiles } from './support/tls';
import { parseWebhookArgs } from '../../../src/contracts/webhook-flags';
import { planResize, resolvePolicy } from '../../../src/core';
import { createLogger } from '../../../src/programs/shared/log';
import { metricValue } from '../../../src/programs/webhook/metrics';
import { RunningServer, StartOptions, startWebhookServer } from '../../../src/programs/webhook/server';
import { container as containerWith } from '../../core/fixtures';

jest.setTimeout(60_000);

const testTls = makeTls();
const files = writeTlsFiles(testTls);
const logs: any[] = [];

async function start(argv: string[] = [], extra: Partial<StartOptions> = {}): Promise<{ server: RunningServer; target: WebhookTarget }> {
  const options = parseWebhookArgs(['--port', '0', '--tls-cert', files.certFile, '--tls-key', files.keyFile, '--log-level', 'debug', ...argv], {});
  const server = await startWebhookServer({ ...options, host: '127.0.0.1', logger: createLogger('debug', line => logs.push(JSON.parse(line))), ...extra });
  return { server, target: { port: server.port, ca: testTls.caPem } };
}

describe('the metrics port', () => {
  let server: RunningServer;
  let target: WebhookTarget;
  let metricsPort: number;
  beforeAll(async () => {
    // A free port: listen on 0, read it, let it go.
    const probe = net.createServer().listen(0, '127.0.0.1');
    await new Promise(resolve => probe.once('listening', resolve));
    metricsPort = (probe.address() as net.AddressInfo).port;
    await new Promise(resolve => probe.close(resolve));
    ({ server, target } = await start(['--metrics-port', String(metricsPort)]));
  });
  afterAll(() => server.close());

  const plain = (method: string, path: string) => new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: metricsPort, method, path }, res => {
      let text = '';
      res.on('data', chunk => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });

  test('serves GET /metrics in plain HTTP, and nothing else', async () => {
    expect(server.metricsPort).toBe(metricsPort);
    const metrics = await plain('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/^cdk8s_shm_admission_in_flight 0$/m);
    expect((await plain('GET', '/healthz')).status).toBe(404);
    expect((await plain('POST', '/mutate')).status).toBe(404);
    expect((await plain('POST', '/metrics')).status).toBe(405);
    // The HTTPS port still has it too.
    expect((await httpsRequest(target, { path: '/metrics' })).status).toBe(200);
  });

  test('the metrics port cannot be the serving port', () => {
    expect(() => parseWebhookArgs(['--port', '9090', '--metrics-port', '9090'], {})).toThrow('--metrics-port (9090) must differ from --port');
  });
});

describe('as kube-apiserver sees it', () => {
  let server: RunningServer;
  let target: WebhookTarget;
  beforeAll(async () => ({ server, target } = await start()));
  afterAll(() => server.close());

  test('every fixture: uid echoed, the patch applies, the pod stays valid, and a second call changes nothing', async () => {
    const patchedPods: any[] = [];
    const summary: Record<string, string> = {};
    for (const { file, review } of loadFixtures()) {
      const { first } = await admitAndReinvoke(target, review);
      expect(first.allowed).toBe(true);
      summary[file] = first.ops.length > 0 ? first.patched.metadata.annotations['cdk8s-shm.io/size-limit'] : '-';
      if (first.ops.length > 0) patchedPods.push(first.patched);
    }
    expect(summary).toMatchObject({
      '04-kubewarden-resources-limits.request.json': '1536Mi',
      '10-sidecar-and-init-containers.json': '1792Mi',
      '12-existing-volumes-and-mounts.json': '1Gi',
      '13-no-memory-limits.json': '512Mi',
      '27-generate-name-no-metadata-annotations.json': '-',
      '19-already-injected.json': '1Gi',
      '01-pepr-admission-create-pod.request.json': '-',
      '16-update-operation.json': '-',
    });
    expect(patchedPods).toHaveLength(11);
    // One child process validates them all against the Kubernetes schema and the Pod rules.
    expectValidPods(patchedPods);
  });

  test('the injected pod mounts /dev/shm in every container, sidecar and init container, and keeps what it had', async () => {
    const { patched } = await admit(target, loadFixture('10-sidecar-and-init-containers.json'));
    for (const container of [...patched.spec.containers, ...patched.spec.initContainers]) {
      expect(container.volumeMounts).toEqual([{ name: 'dshm', mountPath: '/dev/shm' }]);
    }
    const existing = await admit(target, loadFixture('12-existing-volumes-and-mounts.json'));
    expect(existing.patched.spec.volumes.map((v: any) => v.name)).toEqual(['cache', 'kube-api-access-x', 'dshm']);
    expect(existing.patched.spec.containers[0].volumeMounts.map((m: any) => m.mountPath))
      .toEqual(['/cache', '/var/run/secrets/kubernetes.io/serviceaccount', '/dev/shm']);
    expect(existing.patched.metadata.annotations).toEqual({ 'example.com/owner': 'team-a', 'cdk8s-shm.io/size-limit': '1Gi' });
  });

  test('skipped pods are allowed unchanged with a warning', async () => {
    const admission = await admit(target, loadFixture('05-kubewarden-hostipc-hostpid-hostnetwork.request.json'));
    expect(admission.ops).toEqual([]);
    expect(admission.warnings).toEqual(["cdk8s-shm: no /dev/shm: the pod uses hostIPC, so /dev/shm is the node's own"]);
  });

  test('probes and metrics', async () => {
    expect(await httpsRequest(target, { path: '/healthz' })).toMatchObject({ status: 200, text: 'ok\n' });
    expect(await httpsRequest(target, { path: '/readyz' })).toMatchObject({ status: 200, text: 'ok\n' });
    const metrics = await httpsRequest(target, { path: '/metrics' });
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(metrics.text).toMatch(/^cdk8s_shm_admission_requests_total\{outcome="inject",reason=""\} [1-9]\d*$/m);
    expect(metrics.text).toMatch(/^cdk8s_shm_admission_requests_total\{outcome="skip",reason="no-memory-limit"\} [1-9]\d*$/m);
    expect(metrics.text).toMatch(/^cdk8s_shm_admission_requests_total\{outcome="ignored",reason="operation-update"\} [1-9]\d*$/m);
    expect(metrics.text).toMatch(/^cdk8s_shm_admission_duration_seconds_bucket\{le="\+Inf"\} [1-9]\d*$/m);
    expect(metrics.text).toMatch(/^cdk8s_shm_admission_duration_seconds_count [1-9]\d*$/m);
    expect(metrics.text).toMatch(/^cdk8s_shm_certificate_not_after_seconds \d{10}$/m);
    expect(metrics.text).toMatch(/^cdk8s_shm_certificate_reloads_total 0$/m);
    // Every line is a comment or `name{labels} value` (or blank, between families).
    for (const line of metrics.text.trim().split('\n').filter(l => l !== '')) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|(cdk8s_shm|process|nodejs)_\w+(\{[^}]*\})? [\d.e+-]+)$/);
    expect(metrics.text).toMatch(/^cdk8s_shm_open_connections [1-9]\d*$/m);
    expect(Number(/^process_resident_memory_bytes (\d+)$/m.exec(metrics.text)?.[1])).toBeGreaterThan(1e6);
  });

  test.each([
    ['non-JSON', 'POST', '/mutate', '{"apiVersion":', {}, 400, /not JSON/],
    ['an empty body', 'POST', '/mutate', '', {}, 400, /empty/],
    ['JSON that is not an AdmissionReview', 'POST', '/mutate', '{"kind":"Pod"}', {}, 400, /kind "Pod" is not AdmissionReview/],
    ['an envelope without request', 'POST', '/mutate', '{"apiVersion":"admission.k8s.io/v1"}', {}, 400, /no request/],
    ['a review without uid', 'POST', '/mutate', '{"request":{"operation":"CREATE"}}', {}, 400, /no uid/],
    ['another content type', 'POST', '/mutate', 'a=b', { 'Content-Type': 'application/x-www-form-urlencoded' }, 415, /not application\/json/],
    ['GET /mutate', 'GET', '/mutate', undefined, {}, 405, /use POST/],
    ['POST /metrics', 'POST', '/metrics', '{}', {}, 405, /use GET/],
    ['an unknown path', 'GET', '/admin', undefined, {}, 404, /not found/],
  ])('%s gets a 4xx', async (_, method, path, body, headers, status, text) => {
    const answer = await httpsRequest(target, { method, path, body, headers });
    expect(answer.status).toBe(status);
    expect(answer.text).toMatch(text);
  });

  test('the 4xx answers are counted', async () => {
    expect(await metricValue(server.metrics.httpErrors, { code: '400' })).toBeGreaterThanOrEqual(4);
    expect(await metricValue(server.metrics.httpErrors, { code: '415' })).toBeGreaterThanOrEqual(1);
    expect(await metricValue(server.metrics.admissionRequests, { outcome: 'bad-request', reason: '' })).toBeGreaterThanOrEqual(5);
  });

  test('a malformed request line gets a 400 from the HTTP layer, and the server carries on', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: target.port, ca: target.ca, servername: SERVICE_DNS }, () => socket.write('BLAH\r\n\r\n'));
      let text = '';
      socket.on('data', data => (text += data));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1.1 400 Bad Request/);
    expect((await httpsRequest(target, { path: '/healthz' })).status).toBe(200);
  });

  test('TLS 1.1 is refused, 1.2 and 1.3 are served', async () => {
    const handshake = (version: tls.SecureVersion) => new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: target.port, ca: target.ca, servername: SERVICE_DNS, minVersion: version, maxVersion: version }, () => {
        resolve(socket.getProtocol() ?? '');
        socket.end();
      });
      socket.on('error', reject);
    });
    await expect(handshake('TLSv1.2')).resolves.toBe('TLSv1.2');
    await expect(handshake('TLSv1.3')).resolves.toBe('TLSv1.3');
    await expect(handshake('TLSv1.1')).rejects.toThrow();
  });

  test('TLS 1.2 offers AEAD suites only: a client offering only CBC is refused, ECDHE with GCM or ChaCha20 is served', async () => {
    const handshake = (ciphers: string) => new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: target.port, ca: target.ca, servername: SERVICE_DNS, maxVersion: 'TLSv1.2', ciphers }, () => {
        resolve(socket.getCipher().standardName);
        socket.end();
      });
      socket.on('error', reject);
    });
    await expect(handshake('ECDHE-ECDSA-AES128-SHA')).rejects.toThrow(/handshake failure|no shared cipher/);
    await expect(handshake('ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA256')).rejects.toThrow(/handshake failure|no shared cipher/);
    await expect(handshake('ECDHE-ECDSA-AES128-GCM-SHA256')).resolves.toBe('TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256');
    await expect(handshake('ECDHE-ECDSA-AES256-GCM-SHA384')).resolves.toBe('TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384');
    await expect(handshake('ECDHE-ECDSA-CHACHA20-POLY1305')).resolves.toBe('TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256');
    // What a Go client (the API server) offers by default still meets one of ours.
    await expect(handshake('ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA')).resolves.toBe('TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256');
  });

  test('a client that is not TLS (plain HTTP) is disconnected at once, not left half-open', async () => {
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port: target.port, allowHalfOpen: true }, () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
      let text = '';
      socket.on('data', data => (text += data));
      // The server's FIN or reset; this client never ends its own side (allowHalfOpen).
      socket.on('end', () => resolve(text));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    // No plaintext HTTP answer on a TLS port: at most a TLS alert.
    expect(answer).not.toContain('HTTP/1.1');
    expect(await metricValue(server.metrics.tlsHandshakeFailures)).toBeGreaterThanOrEqual(1);
  });

  test('the certificate is checked as the API server checks it: under the Service name, against the caBundle', async () => {
    await expect(httpsRequest({ ...target, servername: 'other.example.com' }, { path: '/healthz' })).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    await expect(httpsRequest({ ...target, ca: makeTls('other').caPem }, { path: '/healthz' })).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  test('keep-alive: many reviews over one connection', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    agent.on('free', socket => sockets.add(socket));
    const review = loadFixture('04-kubewarden-resources-limits.request.json');
    for (let i = 0; i < 5; i++) {
      const answer = await httpsRequest(target, { method: 'POST', path: '/mutate', body: JSON.stringify(review), agent });
      expect(answer.status).toBe(200);
      expect(answer.headers.connection).toBe('keep-alive');
      expect(answer.headers['keep-alive']).toBe('timeout=120');
    }
    expect(sockets.size).toBe(1);
    agent.destroy();
  });

  test('every admission is logged as a JSON line at debug level (denials at info)', () => {
    const admissions = logs.filter(entry => entry.msg === 'admission');
    expect(admissions.length).toBeGreaterThan(10);
    expect(admissions.find(entry => entry.outcome === 'inject')).toMatchObject({ level: 'debug', uid: expect.any(String), pod: expect.any(String), size: expect.any(String) });
    expect(admissions.filter(entry => entry.level === 'info').every(entry => entry.outcome === 'deny')).toBe(true);
    expect(admissions.find(entry => entry.dryRun)).toMatchObject({ pod: 'ml/dry' });
  });
});

describe('body size limit', () => {
  let server: RunningServer;
  let target: WebhookTarget;
  beforeAll(async () => ({ server, target } = await start(['--max-body-bytes', '2048'])));
  afterAll(() => server.close());

  test('a body over the limit gets 413, declared or streamed, and the connection is closed', async () => {
    const big = JSON.stringify({ request: { uid: 'x', padding: 'x'.repeat(4096) } });
    const declared = await httpsRequest(target, { method: 'POST', path: '/mutate', body: big });
    expect(declared.status).toBe(413);
    expect(declared.headers.connection).toBe('close');
    // Chunked: no Content-Length, so only counting the bytes can catch it.
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1',
        port: target.port,
        servername: SERVICE_DNS,
        ca: target.ca,
        method: 'POST',
        path: '/mutate',
        agent: false,
        headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
      }, res => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 4; i++) req.write(big.slice(i * 1024, (i + 1) * 1024));
      req.end(big.slice(4096));
    });
    expect(streamed).toBe(413);
    expect(await metricValue(server.metrics.httpErrors, { code: '413' })).toBe(2);
  });

  test('a body under the limit is reviewed', async () => {
    const review = loadFixture('12-existing-volumes-and-mounts.json');
    expect(JSON.stringify(review).length).toBeLessThan(2048);
    expect((await admit(target, review)).ops.length).toBeGreaterThan(0);
  });
});

describe('numbers as the API server reads them', () => {
  // kube-apiserver reads a quantity written as a JSON number from its text, exactly; a double makes
  // 9007199254740995 into 9007199254740996, and the size capped at that limit one byte too large.
  const review = (memory: string) => JSON.stringify(podCreateReview({
    metadata: { name: 'big', annotations: { 'cdk8s-shm.io/size': '9007199254740996' } },
    spec: { containers: [{ name: 'app', image: 'app', resources: { limits: { memory: 'MEMORY' } } }] },
  })).replace('"MEMORY"', memory);
  const sizeLimitOf = async (target: WebhookTarget, body: string) => {
    const answer = await httpsRequest(target, { method: 'POST', path: '/mutate', body });
    expect(answer.status).toBe(200);
    const ops = JSON.parse(Buffer.from(JSON.parse(answer.text).response.patch, 'base64').toString('utf8'));
    return ops.find((op: any) => op.path === '/spec/volumes').value[0].emptyDir.sizeLimit;
  };

  test.each([
    ['an integer above 2^53', '9007199254740995', '9007199254740995'],
    ['the same with an exponent', '9007199254740995e0', '9007199254740995'],
    ['a fraction of a byte more (the kubelet rounds a limit up)', '9007199254740994.0000001', '9007199254740995'],
    ['a string, as the API server itself writes quantities', '"9007199254740995"', '9007199254740995'],
  ])('%s: the size is capped at the exact limit', async (_, memory, expected) => {
    const { server, target } = await start();
    try {
      expect(await sizeLimitOf(target, review(memory))).toBe(expected);
    } finally {
      await server.close();
    }
  });
});

describe('policy flags', () => {
  test('deny for pods without a memory limit: refused with a clear message', async () => {
    const { server, target } = await start(['--pods-without-limit', 'deny']);
    try {
      const admission = await admit(target, loadFixture('01-pepr-admission-create-pod.request.json'));
      expect(admission.allowed).toBe(false);
      expect(admission.response.status).toEqual({ code: 403, reason: 'Forbidden', message: expect.stringContaining('has no memory limit: set a memory limit') });
    } finally {
      await server.close();
    }
  });

  test('opt-in with a ratio, a maximum and a volume name', async () => {
    const { server, target } = await start(['--pod-selection', 'opt-in', '--ratio', '0.25', '--maximum', '128Mi', '--volume-name', 'shm']);
    try {
      expect((await admit(target, loadFixture('04-kubewarden-resources-limits.request.json'))).ops).toEqual([]);
      const { first } = await admitAndReinvoke(target, loadFixture('14-opt-in-annotated.json'));
      expect(first.patched.spec.volumes).toEqual([{ name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: '128Mi' } }]);
      expectValidPods([first.patched]);
    } finally {
      await server.close();
    }
  });
});

describe('a resize (UPDATE of pods/resize), as the API server sends it', () => {
  /** A pod the server sized at creation: the stored pod a resize starts from. */
  async function created(target: WebhookTarget, limit: string, annotations: Record<string, string> = {}): Promise<any> {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns', annotations }, spec: { containers: [containerWith('app', limit)] } };
    return (await admit(target, podCreateReview(pod))).patched;
  }
  const withLimit = (pod: any, limit: string) => {
    const copy = structuredClone(pod);
    copy.spec.containers[0].resources.limits.memory = limit;
    return copy;
  };
  const sizeLimitOf = (pod: any) => pod.spec.volumes.find((v: any) => v.name === 'dshm').emptyDir.sizeLimit;

  test('--resize-volumes: the sizeLimit follows the plan, a reinvocation changes nothing, and the metrics count it', async () => {
    const { server, target } = await start(['--resize-volumes=true']);
    try {
      const stored = await created(target, '1Gi');
      expect(sizeLimitOf(stored)).toBe('512Mi');
      for (const [limit, expected] of [['3Gi', '1536Mi'], ['768Mi', '384Mi']]) {
        const resized = withLimit(stored, limit);
        const review = podResizeReview(stored, resized);
        const { first, second } = await admitAndReinvoke(target, review);
        expect(first.allowed).toBe(true);
        expect(sizeLimitOf(first.patched)).toBe(planResize(stored, resized, resolvePolicy({ resizeVolumes: true })).rule);
        expect(sizeLimitOf(first.patched)).toBe(expected);
        expect(first.warnings).toEqual([`cdk8s-shm: /dev/shm follows the resize: 512Mi -> ${expected}`]);
        expect(second.warnings).toEqual([]);
        expectValidPods([first.patched]);
      }
      expect(await metricValue(server.metrics.admissionRequests, { outcome: 'resize', reason: 'follow' })).toBe(2);
    } finally {
      await server.close();
    }
  });

  test('without it: the resize passes unchanged with a warning; --deny-unsafe-shrink refuses a dangerous shrink with why and what to do', async () => {
    const { server, target } = await start(['--deny-unsafe-shrink=true']);
    try {
      const stored = await created(target, '2Gi');
      const grown = await admit(target, podResizeReview(stored, withLimit(stored, '4Gi')));
      expect(grown).toMatchObject({ allowed: true, ops: [] });
      expect(grown.warnings).toEqual(['cdk8s-shm: /dev/shm stays 1Gi until the pod is recreated; the rule gives 2Gi under the new limits']);
      const shrunk = await admit(target, podResizeReview(stored, withLimit(stored, '1Gi')));
      expect(shrunk.allowed).toBe(false);
      expect(shrunk.response.status).toEqual({
        code: 403,
        reason: 'Forbidden',
        message: expect.stringMatching(
          /^cdk8s-shm: the resize lowers the memory limit of container 'app' to 1Gi, at or below its \/dev\/shm of 1Gi, .* Keep the limit above 1Gi, /),
      });
      expect(await metricValue(server.metrics.admissionRequests, { outcome: 'deny', reason: 'unsafe-shrink' })).toBe(1);
      expect(logs).toContainEqual(expect.objectContaining({ msg: 'admission', outcome: 'deny', reason: 'unsafe-shrink', pod: 'ns/p' }));
    } finally {
      await server.close();
    }
  });
});

describe('start and close', () => {
  test('a certificate that does not load is a clear start-up error', async () => {
    const mismatched = writeTlsFiles({ ...makeTls('a'), keyPem: makeTls('b').keyPem });
    await expect(startWebhookServer({ ...parseWebhookArgs(['--port', '0', '--tls-cert', mismatched.certFile, '--tls-key', mismatched.keyFile], {}), logger: createLogger('error', () => undefined) }))
      .rejects.toThrow(/cannot load the serving certificate from --tls-cert .*tls.crt and --tls-key .*tls.key: .*key values mismatch/);
    await expect(startWebhookServer({ ...parseWebhookArgs(['--port', '0', '--tls-cert', '/nonexistent/tls.crt'], {}), logger: createLogger('error', () => undefined) }))
      .rejects.toThrow(/ENOENT/);
  });

  test('close() finishes the request in flight, answers it with Connection: close, and refuses new connections', async () => {
    const { server, target } = await start();
    const review = JSON.stringify(loadFixture('04-kubewarden-resources-limits.request.json'));
    const half = Math.floor(review.length / 2);
    let sentHalf!: () => void;
    const halfSent = new Promise<void>(resolve => (sentHalf = resolve));
    let req!: http.ClientRequest;
    const answer = new Promise<{ status: number; connection?: string; body: string }>((resolve, reject) => {
      req = https.request({
        host: '127.0.0.1',
        port: target.port,
        servername: SERVICE_DNS,
        ca: target.ca,
        method: 'POST',
        path: '/mutate',
        agent: false,
        headers: { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(review)) },
      }, res => {
        let body = '';
        res.on('data', chunk => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
      });
      req.on('error', reject);
      req.write(review.slice(0, half), () => sentHalf());
    });
    await halfSent;
    // Wait until the server has the request (its in-flight gauge says so), then close.
    while (await metricValue(server.metrics.inFlight) !== 1) await new Promise(resolve => setImmediate(resolve));
    const closed = server.close();
    // Refused, or (a connection caught in the listener's backlog as it closes) reset before any byte.
    await expect(httpsRequest(target, { path: '/healthz' })).rejects.toMatchObject({ code: expect.stringMatching(/^(ECONNREFUSED|ECONNRESET)$/) });
    req.end(review.slice(half));
    const response = await answer;
    expect(response.status).toBe(200);
    expect(response.connection).toBe('close');
    expect(JSON.parse(response.body).response.uid).toBe('1299d386-525b-4032-98ae-1949f69f9cfc');
    await closed;
  });

  test('close() does not wait for idle keep-alive connections', async () => {
    const { server, target } = await start();
    const agent = new https.Agent({ keepAlive: true });
    expect((await httpsRequest(target, { path: '/healthz', agent })).status).toBe(200);
    await server.close(); // resolves although the agent still holds an open connection
    agent.destroy();
  });
});
