/**
 * The life of a program that serves until the kubelet stops it (the webhook server, the CSI node
 * plugin): flags in, a server started, a clean stop on SIGTERM (the kubelet's) or SIGINT (Ctrl-C).
 *
 * Exit codes: 0 after a clean stop or --help, 2 for bad flags, 1 when the server cannot start or
 * stop cleanly.
 */
import { Logger, createLogger } from './log';
import { LogLevel } from '../../contracts/webhook-flags';

export interface Stoppable {
  close(): Promise<void>;
}

export interface ProgramSpec<O extends { readonly logLevel: LogLevel; readonly help?: boolean }> {
  /** For messages on standard error, e.g. `cdk8s-shm webhook`. */
  readonly name: string;
  /** Reads the flags; throws with the message to print. */
  readonly parse: () => O;
  readonly usage: () => string;
  readonly start: (options: O, log: Logger) => Promise<Stoppable>;
  /** Logged when a signal arrives. */
  readonly stopping: string;
}

/** Runs the program until SIGTERM or SIGINT; sets `process.exitCode`; resolves once stopped. */
export async function runUntilSignal<O extends { readonly logLevel: LogLevel; readonly help?: boolean }>(spec: ProgramSpec<O>): Promise<void> {
  let options: O;
  try {
    options = spec.parse();
  } catch (error) {
    process.stderr.write(`${spec.name}: ${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  if (options.help) {
    process.stdout.write(spec.usage());
    process.exitCode = 0;
    return;
  }

  const log = createLogger(options.logLevel);
  let server: Stoppable;
  try {
    server = await spec.start(options, log);
  } catch (error) {
    log.error('cannot start', { error });
    process.exitCode = 1;
    return;
  }

  const signal = await new Promise<NodeJS.Signals>(resolve => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info(spec.stopping, { signal });
  try {
    await server.close();
    process.exitCode = 0;
  } catch (error) {
    log.error('shutdown failed', { error });
    process.exitCode = 1;
  }
}
