/**
 * The real webhook process for the process, fuzz and fault suites: src/programs/webhook/main.ts bundled by
 * scripts/bundle.mjs into a private directory (so the suites test the current source, not a stale
 * lib/bundle), spawned with node on port 0 over real TLS, its JSON log lines collected, its RSS
 * read from /proc, and requests sent over keep-alive connections the way kube-apiserver sends them.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { X509Certificate } from 'crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, symlinkSync, writeFileSync } from 'fs';
import * as https from 'https';
import { tmpdir } from 'os';
import * as path from 'path';
import { LogEntry, followJsonLog } from './json-log';
import { SERVICE_DNS } from './tls';
import { IssuedCertificate, createCertificateAuthority, issueServingCertificate } from '../../../../src/programs/webhook/x509';

const root = path.join(__dirname, '..', '..', '..', '..');

export const work = mkdtempSync(path.join(tmpdir(), 'cdk8s-shm-reliability-'));

let bundled: Promise<string> | undefined;

/** Bundles the webhook once per test file. */
export function bundleWebhook(): Promise<string> {
  bundled ??= (async () => {
    const result = spawnSync(process.execPath, [path.join(root, 'scripts', 'bundle.mjs'), '--outdir', work], { cwd: root, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`scripts/bundle.mjs failed: ${result.stderr}`);
    return path.join(work, 'webhook.js');
  })();
  return bundled;
}

export const ca: IssuedCertificate = createCertificateAuthority({ commonName: 'reliability-ca', validityMs: 24 * 3600_000 });

export function issue(): IssuedCertificate {
  return issueServingCertificate(ca, { commonName: SERVICE_DNS, dnsNames: [SERVICE_DNS, 'localhost'], ipAddresses: ['127.0.0.1'], validityMs: 3600_000 });
}

/**
 * A certificate volume laid out the way the kubelet mounts a Secret: `..<version>/` directories,
 * `..data` pointing at the current one, `tls.crt` and `tls.key` pointing through `..data`.
 * `rotate()` swaps `..data` atomically, as the kubelet does when cert-manager renews the Secret.
 */
export class CertificateVolume {
  readonly dir = mkdtempSync(path.join(work, 'tls-'));
  readonly certFile = path.join(this.dir, 'tls.crt');
  readonly keyFile = path.join(this.dir, 'tls.key');
  private version = 0;

  constructor() {
    this.rotate();
    symlinkSync('..data/tls.crt', this.certFile);
    symlinkSync('..data/tls.key', this.keyFile);
  }

  /** Writes a new certificate and key and points `..data` at them. @returns the new serial */
  rotate(serving: IssuedCertificate = issue()): string {
    const name = `..version_${++this.version}`;
    mkdirSync(path.join(this.dir, name));
    writeFileSync(path.join(this.dir, name, 'tls.crt'), serving.certPem);
    writeFileSync(path.join(this.dir, name, 'tls.key'), serving.keyPem);
    symlinkSync(name, path.join(this.dir, '..data_tmp'));
    renameSync(path.join(this.dir, '..data_tmp'), path.join(this.dir, '..data'));
    return new X509Certificate(serving.certPem).serialNumber;
  }
}


export interface WebhookProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly volume: CertificateVolume;
  /** Every log line so far (only the last 20,000 are kept, with a count of the rest). */
  readonly logs: LogEntry[];
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly alive: () => boolean;
  waitForLog(predicate: (entry: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry>;
  /** Resident set size in bytes, from /proc/<pid>/status. */
  rss(): number;
  /** Open file descriptors (sockets, files, pipes), from /proc/<pid>/fd. */
  fds(): number;
  stop(): Promise<void>;
}

const running: ChildProcess[] = [];

/** Kills the processes this file started and that are still running. Call from afterAll. */
export function killAll(): void {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

export async function startWebhookProcess(args: string[] = [], nodeArgs: string[] = []): Promise<WebhookProcess> {
  const bundle = await bundleWebhook();
  const volume = new CertificateVolume();
  const child = spawn(process.execPath, [...nodeArgs, bundle, '--port', '0', '--tls-cert', volume.certFile, '--tls-key', volume.keyFile, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  const { logs, stderr, exited, waitForLog } = followJsonLog(child);
  const listening = await waitForLog(entry => entry.msg === 'listening');
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    port: listening.port,
    volume,
    logs,
    stderr,
    exited,
    alive,
    waitForLog,
    rss: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status);
      return kb ? Number(kb[1]) * 1024 : NaN;
    },
    fds: () => readdirSync(`/proc/${child.pid}/fd`).length,
    stop: async () => {
      if (alive()) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** Serial number of the certificate the server presented. */
  readonly serial?: string;
}

export interface SendOptions {
  readonly method?: string;
  readonly path?: string;
  readonly body?: Buffer | string;
  /** Replaces the default `Content-Type: application/json` and `Content-Length`. */
  readonly headers?: Record<string, string>;
  /** `false` for a connection of its own. */
  readonly agent?: https.Agent | false;
  readonly timeoutMs?: number;
  /** Send the body in this many pieces, `delayMs` apart: a slow sender. */
  readonly pieces?: number;
  readonly delayMs?: number;
  /** The source address of a connection of its own (`agent: false`). */
  readonly localAddress?: string;
}

/** A keep-alive agent like the API server's webhook client: a few connections, reused. */
export function keepAliveAgent(maxSockets: number, localAddress?: string): https.Agent {
  return new https.Agent({ keepAlive: true, maxSockets, ca: ca.certPem, servername: SERVICE_DNS, localAddress });
}

/** One HTTPS request to the webhook. Rejects on a socket error or a timeout. */
export function send(port: number, options: SendOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // `partial` on an error says whether the response had begun: a connection closed before any
    // response byte is a request the server never took; one closed after is a lost answer.
    let responded = false;
    const fail = (error: Error) => reject(Object.assign(error, { partial: responded }));
    const body = options.body === undefined ? undefined : Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body);
    const req = https.request({
      host: '127.0.0.1',
      port,
      servername: SERVICE_DNS,
      ca: ca.certPem,
      method: options.method ?? (body ? 'POST' : 'GET'),
      path: options.path ?? (body ? '/mutate' : '/healthz'),
      agent: options.agent ?? false,
      localAddress: options.localAddress,
      // Given headers replace the defaults, so that a test can send no Content-Length (chunked) or an odd one.
      headers: options.headers ?? (body !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': String(body.length) } : {}),
      timeout: options.timeoutMs ?? 60_000,
    }, res => {
      responded = true;
      const chunks: Buffer[] = [];
      const peer = (res.socket as import('tls').TLSSocket).getPeerCertificate?.();
      res.on('data', chunk => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), serial: peer?.serialNumber }));
      res.on('error', error => fail(error));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', fail);
    if (!body) {
      req.end();
      return;
    }
    const pieces = options.pieces ?? 1;
    if (pieces <= 1) {
      req.end(body);
      return;
    }
    const size = Math.ceil(body.length / pieces);
    let offset = 0;
    const next = () => {
      if (req.destroyed) return;
      const chunk = body.subarray(offset, offset + size);
      offset += size;
      if (offset >= body.length) {req.end(chunk);} else {
        req.write(chunk);
        setTimeout(next, options.delayMs ?? 50);
      }
    };
    next();
  });
}

/** Runs `task` over `items` with at most `concurrency` at a time. */
export async function pool<T>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index], index);
    }
  });
  await Promise.all(workers);
}
