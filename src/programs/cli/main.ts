/**
 * `cdk8s-shm`: the command line. `inject`, `plan` and `check` read manifests; `webhook` runs the
 * admission server. This file only dispatches and does the I/O; the work is in inject.ts.
 *
 * Exit codes: see EXIT_CODES_TEXT in args.ts (0 ok, 1 check found changes or inject denied a
 * workload, 2 bad usage or input, 3 internal error).
 */
import * as fs from 'fs';
import * as path from 'path';
import { TextDecoder } from 'util';
import { EXIT_CODES_TEXT, MANIFEST_COMMANDS, ManifestCommand, ManifestOptions, UsageError, manifestUsage, parseManifestArgs } from './args';
import { InputError } from './documents';
import { ManifestProcessor, ManifestResult } from './inject';
import { failsCheck, formatCheck, formatPlanTable, planJson } from './plan-table';
import { planForAdmissionPolicy, planSharedMemory } from '../../core';
import { runWebhook } from '../webhook/main';

export const EXIT_OK = 0;
export const EXIT_CHANGES = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 3;

/** Where the command line reads and writes; tests pass their own. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** All of standard input, or its chunks as they arrive. */
  readonly readStdin: () => Promise<string> | AsyncIterable<string>;
}

/** How much of a file is read at a time (larger chunks only make larger short-lived strings). */
const READ_CHUNK_BYTES = 64 * 1024;

const MANIFEST_EXTENSIONS = /\.(ya?ml|json)$/i;

/** The text of `cdk8s-shm --help`. */
export function mainUsage(): string {
  return [
    'Usage: cdk8s-shm <command> [flags]',
    '',
    'Right-sized /dev/shm for Kubernetes pods, decided by the same core as the cdk8s constructs',
    'and the admission webhook.',
    '',
    'Commands:',
    '  inject    read manifests, write them back with a /dev/shm in every pod template (a Helm post-renderer)',
    '  plan      show the /dev/shm each workload gets, and why (--output json for machines)',
    '  check     exit 1 and list the workloads whose /dev/shm would change, or whose cdk8s-shm.io/ annotations cannot be honoured (for CI)',
    '  webhook   run the mutating admission webhook server',
    '',
    'Flags:',
    '  -h, --help       print this text (cdk8s-shm <command> --help for a command)',
    '  -v, --version    print the version',
    '',
    EXIT_CODES_TEXT,
    '',
  ].join('\n');
}

/**
 * Runs one command line.
 * @param argv the arguments after the program name
 * @returns the exit code
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    (command === undefined ? io.stderr : io.stdout)(mainUsage());
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (command === '--version' || command === '-v' || command === 'version') {
    io.stdout(`${version()}\n`);
    return EXIT_OK;
  }
  if (command === 'webhook') {
    await runWebhook([...rest]);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  }
  if (!(MANIFEST_COMMANDS as readonly string[]).includes(command)) {
    io.stderr(`cdk8s-shm: unknown command '${command}' (commands: ${[...MANIFEST_COMMANDS, 'webhook'].join(', ')}; see --help)\n`);
    return EXIT_USAGE;
  }
  const name = command as ManifestCommand;
  try {
    const options = parseManifestArgs(name, rest);
    if (options.help) {
      io.stdout(manifestUsage(name));
      return EXIT_OK;
    }
    // inject prints no table: keeping a report per workload would only grow its memory with the stream.
    const planner = options.wayIn === 'policy' ? planForAdmissionPolicy : planSharedMemory;
    const processor = new ManifestProcessor(options.policy, { keepWorkloads: name !== 'inject', planner });
    await readInputs(options.files, io, processor);
    return runManifestCommand(options, processor.result(), io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`cdk8s-shm ${name}: ${error.message} (see cdk8s-shm ${name} --help)\n`);
      return EXIT_USAGE;
    }
    if (error instanceof InputError) {
      io.stderr(`cdk8s-shm ${name}: ${error.message}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`cdk8s-shm ${name}: internal error: ${(error as Error)?.stack ?? error}\n`);
    return EXIT_INTERNAL;
  }
}

function runManifestCommand(options: ManifestOptions, result: ManifestResult, io: CliIo): number {
  const warn = (aboutWorkloads: boolean) => {
    if (options.quiet) return;
    for (const n of result.notices.filter(x => aboutWorkloads || !x.aboutWorkload)) {
      io.stderr(`cdk8s-shm: warning: ${n.file}:${n.line}: ${n.message}\n`);
    }
  };
  switch (options.command) {
    case 'inject': {
      warn(true);
      const denied = result.workloads.filter(w => w.plan.action === 'deny');
      if (denied.length > 0) {
        io.stderr(`cdk8s-shm inject: refused ${denied.length} workload${denied.length === 1 ? '' : 's'} without a memory limit (--pods-without-limit deny); nothing written\n`);
        return EXIT_CHANGES;
      }
      result.writeOutput(io.stdout);
      return EXIT_OK;
    }
    case 'plan':
      warn(false);
      io.stdout(options.output === 'json'
        ? `${JSON.stringify(planJson(result.workloads), null, 2)}\n`
        : formatPlanTable(result.workloads, options.policy));
      return EXIT_OK;
    case 'check':
      warn(false);
      io.stdout(formatCheck(result.workloads, options.files));
      return result.workloads.some(failsCheck) ? EXIT_CHANGES : EXIT_OK;
  }
}

/**
 * Reads the files (directories: their manifest files, sorted; `-` or none: standard input) into
 * the processor, a chunk at a time.
 */
async function readInputs(names: readonly string[], io: CliIo, processor: ManifestProcessor): Promise<void> {
  const inputs = names.length === 0 ? ['-'] : names;
  if (inputs.filter(n => n === '-').length > 1) throw new UsageError('standard input (-) is given twice');
  for (const name of inputs) {
    if (name === '-') {
      const file = processor.beginFile('<stdin>');
      const stdin = io.readStdin();
      if (Symbol.asyncIterator in stdin) for await (const chunk of stdin) file.write(chunk);
      else file.write(await stdin);
      file.end();
      continue;
    }
    let stat: fs.Stats;
    try {
      stat = fs.statSync(name);
    } catch (error) {
      throw new InputError(`${name}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    const paths = stat.isDirectory()
      ? fs.readdirSync(name).filter(f => MANIFEST_EXTENSIONS.test(f)).sort().map(f => path.join(name, f))
      : [name];
    for (const p of paths) readFile(p, processor);
  }
}

/** Reads one file into the processor in chunks, decoding UTF-8 across their boundaries. */
function readFile(file: string, processor: ManifestProcessor): void {
  const cannotRead = (error: unknown) => new InputError(`${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    throw cannotRead(error);
  }
  try {
    const reader = processor.beginFile(file);
    const decoder = utf8Decoder();
    const buffer = Buffer.alloc(READ_CHUNK_BYTES);
    for (;;) {
      let bytes: number;
      try {
        bytes = fs.readSync(fd, buffer, 0, buffer.length, null);
      } catch (error) {
        throw cannotRead(error);
      }
      if (bytes === 0) break;
      reader.write(decoder.decode(buffer.subarray(0, bytes), { stream: true }));
    }
    reader.write(decoder.decode());
    reader.end();
  } finally {
    fs.closeSync(fd);
  }
}

/** A byte order mark is kept, as a file read whole with readFileSync keeps it. */
function utf8Decoder(): TextDecoder {
  return new TextDecoder('utf-8', { ignoreBOM: true });
}

/** The package version: the nearest package.json above this file that is ours (from the sources, lib/ or lib/bundle). */
function version(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      if (pkg.name === 'cdk8s-shm') return pkg.version;
    } catch {
      // no package.json here
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

function processIo(): CliIo {
  return {
    stdout: text => process.stdout.write(text),
    stderr: text => process.stderr.write(text),
    readStdin: async function* () {
      const decoder = utf8Decoder();
      for await (const chunk of process.stdin) yield decoder.decode(chunk as Buffer, { stream: true });
      yield decoder.decode();
    },
  };
}

/**
 * Started as a program: `bin/cdk8s-shm` (which requires the bundle), `node lib/bundle/cli.js`,
 * or this file through ts-node. Importing it (tests) runs nothing.
 */
const entry = require.main?.filename ?? '';
if (/(?:[\\/]cdk8s-shm|[\\/]cli(?:\.min)?\.[cm]?js|cli[\\/]main\.[cm]?[jt]s)$/.test(entry)) {
  // A reader that goes away (`cdk8s-shm plan | head`) is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  runCli(process.argv.slice(2)).then(
    code => {
      // The server may leave timers behind once it has drained; the webhook ends as its own main does.
      if (process.argv[2] === 'webhook') process.exit(code);
      process.exitCode = code;
    },
    error => {
      process.stderr.write(`cdk8s-shm: internal error: ${(error as Error)?.stack ?? error}\n`);
      process.exitCode = EXIT_INTERNAL;
    },
  );
}
