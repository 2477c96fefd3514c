/**
 * The webhook process: flags and environment in, a running server out, and a clean exit on
 * SIGTERM (the kubelet's stop) or SIGINT (Ctrl-C).
 *
 * Exit codes: 0 after a clean shutdown or --help, 2 for bad flags, 1 when the server cannot start
 * or stop cleanly.
 */
import { startWebhookServer } from './server';
import { parseWebhookArgs, webhookUsage } from '../../contracts/webhook-flags';
import { runUntilSignal } from '../shared/program';

/**
 * Runs the webhook until SIGTERM or SIGINT, for `cdk8s-shm webhook` and for this file as a program.
 * Sets `process.exitCode`; resolves once the server has drained and stopped.
 * @param argv the arguments after the command, e.g. `['--port', '8443']`
 */
export function runWebhook(argv: string[]): Promise<void> {
  return runUntilSignal({
    name: 'cdk8s-shm webhook',
    parse: () => parseWebhookArgs(argv, process.env),
    usage: webhookUsage,
    start: (options, logger) => startWebhookServer({ ...options, logger }),
    stopping: 'shutting down',
  });
}

/**
 * Started as a program: `node lib/bundle/webhook.js`, `node lib/programs/webhook/main.js`, or through
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
