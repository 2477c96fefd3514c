/**
 * The long-running processes of an e2e run (the control plane's, then the node's): started with
 * their output in a log file of the run directory, recorded by pid (processes.ts), waited for
 * until ready, and stopped in the reverse order of their start.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { recordPid } from './processes';

export interface LaunchOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** `pipe`: stdout stays readable (`firstLine`); stderr still goes to the log. @default 'log' */
  readonly stdout?: 'log' | 'pipe';
  /** @default the group's directory */
  readonly cwd?: string;
}

interface Started {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

export class ProcessGroup {
  /** Process name -> its log file. */
  readonly logs: Record<string, string> = {};
  private readonly started: Started[] = [];

  /**
   * @param dir the run directory (logs and the pid record go there)
   * @param baseEnv what every process gets besides PATH and `env`
   */
  constructor(readonly dir: string, private readonly baseEnv: NodeJS.ProcessEnv = {}) {}

  /** The pids of the processes started so far. */
  get pids(): Set<number | undefined> {
    return new Set(this.started.map(p => p.child.pid));
  }

  launch(name: string, command: string, args: readonly string[], options: LaunchOptions = {}): ChildProcess {
    this.logs[name] = path.join(this.dir, `${name}.log`);
    const out = fs.openSync(this.logs[name], 'a');
    const child = spawn(command, args, {
      cwd: options.cwd ?? this.dir,
      stdio: ['ignore', options.stdout === 'pipe' ? 'pipe' : out, out],
      env: { PATH: process.env.PATH, HOME: this.dir, ...this.baseEnv, ...options.env },
    });
    fs.closeSync(out);
    recordPid(this.dir, child.pid, name);
    const exited = new Promise<void>(resolve => child.once('exit', () => resolve()));
    this.started.push({ name, child, exited });
    return child;
  }

  /**
   * Waits until `ready()`; fails with the end of every log if a process of the group exits or
   * time runs out.
   */
  async waitFor(name: string, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const dead = this.started.find(p => p.child.exitCode !== null || p.child.signalCode !== null);
      const problem = dead
        ? `${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}) while waiting for ${name}`
        : Date.now() > deadline ? `${name} was not ready within ${timeoutMs / 1000} s` : undefined;
      if (problem) throw new Error(`${problem}\n${this.tails()}`);
      if (await ready().catch(() => false)) return;
      await sleep(250);
    }
  }

  /** The last lines of every log. */
  tails(lines = 25): string {
    return Object.entries(this.logs)
      .map(([process, file]) => `--- ${process} (last lines) ---\n${readOr(file, '').split('\n').slice(-lines).join('\n')}`)
      .join('\n');
  }

  /** Stops one process by name (SIGTERM, SIGKILL after `graceMs`). */
  async stop(name: string, graceMs = 10_000): Promise<void> {
    for (const process of this.started.filter(p => p.name === name)) await stopProcess(process, graceMs);
  }

  /** Stops every process, the last started first. */
  async stopAll(graceMs = 10_000): Promise<void> {
    for (const process of [...this.started].reverse()) await stopProcess(process, graceMs);
  }
}

async function stopProcess({ child, exited }: Started, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** The first line a process prints on stdout. */
export function firstLine(child: ChildProcess, name: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`${name} printed nothing within ${timeoutMs / 1000} s`)), timeoutMs);
    child.stdout!.on('data', chunk => {
      text += chunk;
      if (text.includes('\n')) {
        clearTimeout(timer);
        resolve(text.split('\n')[0].trim());
      }
    });
    child.once('exit', code => reject(new Error(`${name} exited (${code}) before printing its port`)));
  });
}

/** Runs a program to its end and returns its stdout; throws with its stderr when it fails. */
export function runOrThrow(command: string, args: readonly string[], cwd?: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error || result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed: ${result.error?.message ?? result.stderr.trim()}`);
  }
  return result.stdout;
}

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}
