/**
 * Follows a webhook process's JSON log (one object per line on stdout): every line as it arrives,
 * stderr, the exit, and a wait for a line. Shared by the process, reliability and e2e suites.
 */
import { ChildProcess } from 'child_process';

export interface LogEntry {
  readonly msg: string;
  readonly level: string;
  readonly [key: string]: any;
}

/** The JSON log lines of a webhook process as they arrive (the last 20,000 kept), its stderr, its exit, and a wait for a line. */
export function followJsonLog(child: ChildProcess): {
  logs: LogEntry[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLog: (predicate: (entry: LogEntry) => boolean, timeoutMs?: number) => Promise<LogEntry>;
} {
  const logs: LogEntry[] = [];
  const waiters: Array<{ predicate: (entry: LogEntry) => boolean; resolve: (entry: LogEntry) => void }> = [];
  let buffered = '';
  let stderr = '';
  child.stderr!.on('data', data => (stderr += data));
  child.stdout!.on('data', data => {
    buffered += data;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      let entry: LogEntry;
      try {
        entry = JSON.parse(line);
      } catch {
        entry = { msg: `unparsable log line: ${line.slice(0, 200)}`, level: 'unparsable' };
      }
      logs.push(entry);
      if (logs.length > 20_000) logs.splice(0, 10_000);
      for (const waiter of waiters.filter(w => w.predicate(entry))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(entry);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(resolve => child.on('exit', (code, signal) => resolve({ code, signal })));
  const waitForLog = (predicate: (entry: LogEntry) => boolean, timeoutMs = 30_000): Promise<LogEntry> => {
    const seen = logs.find(predicate);
    if (seen) return Promise.resolve(seen);
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      new Promise<LogEntry>(resolve => waiters.push({ predicate, resolve })),
      exited.then(status => Promise.reject(new Error(`the webhook exited (${JSON.stringify(status)}) first: ${stderr}`))),
      new Promise<LogEntry>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no such log line within ${timeoutMs} ms; last lines: ${JSON.stringify(logs.slice(-5))}`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  };
  return { logs, stderr: () => stderr, exited, waitForLog };
}
