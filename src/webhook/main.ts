/**
 * The webhook process: flags and environment in, a running server out, and a clean exit on
 * SIGTERM (the kubelet's stop) or SIGINT (Ctrl-C).
 *
 * Exit codes: 0 after a clean shutdown or --help, 2 for bad flags, 1 when the server cannot start
 * or stop cleanly.
 */
import { createLogger } from './log';
import { parseWebhookArgs, webhookUsage } from './options';
import { startWebhookServer } from './server';

/**
 * Runs the webhook until SIGTERM or SIGINT, for `cdk8s-shm webhook` and for this file as a program.
 * Sets `process.exitCode`; resolves once the server has drained and stopped.
 * @param argv the arguments after the command, e.g. `['--port', '8443']`
 */
export async function runWebhook(argv: string[]): Promise<void> {
  let options;
  try {
    options = parseWebhookArgs(argv, process.env);
  } catch (error) {
    process.stderr.write(`cdk8s-shm webhook: ${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  if (options.help) {
    process.stdout.write(webhookUsage());
    process.exitCode = 0;
    return;
  }

  const log = createLogger(options.logLevel);
  let server;
  try {
    server = await startWebhookServer({ ...options, logger: log });
  } catch (error) {
    log.error('cannot start', { error });
    process.exitCode = 1;
    return;
  }

  const signal = await new Promise<NodeJS.Signals>(resolve => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info('shutting down', { signal });
  try {
    await server.close();
    process.exitCode = 0;
  } catch (error) {
    log.error('shutdown failed', { error });
    process.exitCode = 1;
  }
}

/**
 * Started as a program: `node lib/bundle/webhook.js`, `node lib/webhook/main.js`, or through
 * ts-node. esbuild keeps `require.main === module` meaningful in its cjs output, but in a bundle
 * that merely imports this file (the CLI) it is true as well, so the entry's file name must be
 * this file's too.
 */
const entry = require.main?.filename ?? '';
if (require.main === module && /(?:webhook[\\/]main\.[cm]?[jt]s|webhook(?:\.min)?\.[cm]?js)$/.test(entry)) {
  runWebhook(process.argv.slice(2)).then(
    () => process.exit(),
    error => {
      process.stderr.write(`cdk8s-shm webhook: ${(error as Error)?.stack ?? error}\n`);
      process.exit(1);
    },
  );
}
