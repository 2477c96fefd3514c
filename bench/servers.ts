/**
 * The servers under test, each in its own `node` process: the shipped webhook bundle and the floor.
 * Starting them, timing the first answer, reading their resident memory, stopping them.
 */
import { ChildProcess, spawn } from 'child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'fs';
import * as https from 'https';
import * as net from 'net';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { createCertificateAuthority, issueServingCertificate } from '../src/programs/webhook/x509';

export const ROOT = path.join(__dirname, '..');
export const WEBHOOK_BUNDLE = path.join(ROOT, 'lib', 'bundle', 'webhook.js');
export const FLOOR_SERVER = path.join(__dirname, 'floor-server.js');
/** Gitignored scratch space for certificates, logs and the results file. */
export const SCRATCH = path.join(ROOT, '.tmp', 'bench');

export type ServerKind = 'webhook' | 'floor';

export interface Tls {
  readonly certFile: string;
  readonly keyFile: string;
  /** What the certificate and key are, for the report. */
  readonly description: string;
}

/**
 * One serving certificate for both servers, made by the project's own x509.ts (ECDSA P-256, what
 * the self-managed mode issues), so both do the same TLS work.
 */
export function makeTls(): Tls {
  mkdirSync(SCRATCH, { recursive: true });
  const ca = createCertificateAuthority({ commonName: 'cdk8s-shm-bench-ca', validityMs: 24 * 3600 * 1000 });
  const serving = issueServingCertificate(ca, { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validityMs: 24 * 3600 * 1000 });
  const certFile = path.join(SCRATCH, 'tls.crt');
  const keyFile = path.join(SCRATCH, 'tls.key');
  writeFileSync(certFile, serving.certPem);
  writeFileSync(keyFile, serving.keyPem, { mode: 0o600 });
  return { certFile, keyFile, description: 'ECDSA P-256 (src/programs/webhook/x509.ts), TLS 1.2+' };
}

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const port = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  readonly kind: ServerKind;
  readonly port: number;
  readonly child: ChildProcess;
  /** Milliseconds from spawn() to the first 200 answer to a POST /mutate. */
  readonly firstAnswerMs: number;
  stop(): Promise<void>;
}

/**
 * Starts a server and waits for its first answered admission request. The webhook runs exactly as
 * shipped, with default flags (log level info, so each injected pod costs it a log line).
 */
/** How to run a server differently from the default, for experiments. */
export interface StartVariant {
  /** Options for `node` itself, before the script. */
  readonly nodeArgs?: string[];
  /** Flags after the standard ones. */
  readonly args?: string[];
  /** Another script (an experimental build of the bundle). */
  readonly script?: string;
  /**
   * Where stdout (the webhook's JSON log lines) goes. `pipe`: a pipe drained by a separate `cat`
   * process, as a container runtime's shim drains a container's stdout; `file`: a log file under
   * .tmp/bench; `null`: /dev/null.
   * @default 'pipe'
   */
  readonly stdout?: 'pipe' | 'file' | 'null';
}

export async function startServer(kind: ServerKind, tls: Tls, probeBody: string, variant: StartVariant = {}): Promise<ServerProcess> {
  const port = await freePort();
  const stdoutMode = variant.stdout ?? 'pipe';
  // The drain starts first, so that the server's clock starts with the server.
  const drain = stdoutMode === 'pipe' ? spawn('cat', [], { stdio: ['pipe', 'ignore', 'ignore'] }) : undefined;
  const logFd = stdoutMode === 'pipe' ? undefined : openSync(stdoutMode === 'null' ? '/dev/null' : path.join(SCRATCH, `${kind}-${port}.log`), 'w');
  const started = performance.now();
  const script = variant.script ?? (kind === 'webhook' ? WEBHOOK_BUNDLE : FLOOR_SERVER);
  const args = [...(variant.nodeArgs ?? []), script, '--port', String(port), '--tls-cert', tls.certFile, '--tls-key', tls.keyFile, ...(variant.args ?? [])];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', drain ? drain.stdin! : logFd!, 'pipe'],
  });
  if (logFd !== undefined) closeSync(logFd);
  child.once('exit', () => drain?.stdin!.end());
  let stderr = '';
  child.stderr!.on('data', chunk => { stderr += chunk; });
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()));
  try {
    await waitForAnswer(port, probeBody, () => child.exitCode !== null, 10_000);
  } catch (error) {
    child.kill('SIGKILL');
    drain?.kill();
    throw new Error(`${kind} did not answer: ${(error as Error).message}\n${stderr}`);
  }
  const firstAnswerMs = performance.now() - started;
  return {
    kind,
    port,
    child,
    firstAnswerMs,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Posts the review on a fresh connection every 2 ms until one is answered with 200. */
async function waitForAnswer(port: number, body: string, dead: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = '';
  while (performance.now() < deadline) {
    if (dead()) throw new Error('the process exited');
    try {
      const status = await post(port, body);
      if (status === 200) return;
      last = `HTTP ${status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise(resolve => setTimeout(resolve, 2));
  }
  throw new Error(`no answer within ${timeoutMs} ms (last: ${last})`);
}

/** One POST /mutate on a new connection; resolves with the status once the body is read. */
export function post(port: number, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/mutate',
      agent: false,
      rejectUnauthorized: false,
      timeout: 5_000,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    }, res => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/** One POST /mutate, returning the parsed answer. */
export function postForJson(port: number, body: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/mutate',
      agent: false,
      rejectUnauthorized: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    }, res => {
      const chunks: Buffer[] = [];
      res.on('data', chunk => chunks.push(chunk));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (error) {
          reject(error);
        }
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Resident set size now and its high-water mark, in MiB, from /proc/<pid>/status. */
export function residentMemory(pid: number): { rssMiB: number; hwmMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) / 1024 : NaN;
  };
  return { rssMiB: field('VmRSS'), hwmMiB: field('VmHWM') };
}

/** Samples a process's RSS every `intervalMs` until stopped; returns the largest sample. */
export function sampleResidentMemory(pid: number, intervalMs = 50): { stop(): number } {
  let peak = 0;
  const take = () => {
    try {
      peak = Math.max(peak, residentMemory(pid).rssMiB);
    } catch {
      // the process is gone; keep what we saw
    }
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return peak;
    },
  };
}
