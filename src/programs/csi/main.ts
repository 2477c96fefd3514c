/**
 * The CSI node plugin process: flags in, the domain mounted (or resized) and the socket served,
 * and a clean stop on SIGTERM (the kubelet's) or SIGINT. The domain stays mounted after a stop.
 *
 * Exit codes: 0 after a clean stop or --help, 2 for bad flags, 1 when the domain cannot be
 * prepared or the socket cannot be served (the kubelet restarts the container).
 */
import { startCsiPlugin } from './server';
import { csiPluginUsage, parseCsiPluginArgs } from '../../contracts/csi-flags';
import { runUntilSignal } from '../shared/program';

export function runCsiPlugin(argv: string[]): Promise<void> {
  return runUntilSignal({
    name: 'csi-plugin',
    parse: () => parseCsiPluginArgs(argv),
    usage: csiPluginUsage,
    start: (options, logger) => startCsiPlugin({ ...options, logger }),
    stopping: 'stopping; the domain stays mounted',
  });
}

// Started as a program (the bundle, or this file through ts-node); see src/programs/webhook/main.ts for why
// the file name is checked too.
const entry = require.main?.filename ?? '';
if (require.main === module && /(?:csi[\\/]main\.[cm]?[jt]s|csi-plugin\.[cm]?js)$/.test(entry)) {
  runCsiPlugin(process.argv.slice(2)).then(
    () => process.exit(),
    error => {
      process.stderr.write(`csi-plugin: ${(error as Error)?.stack ?? error}\n`);
      process.exit(1);
    },
  );
}
