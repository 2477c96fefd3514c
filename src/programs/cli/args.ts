/**
 * The command line of `cdk8s-shm inject|plan|check`: one table of flags, split by Node's `util.parseArgs`.
 *
 * Policy flags carry the webhook's names and descriptions where the two overlap (they are read
 * from the webhook's own flag table), and every value is validated by the core, so that
 * `--ratio 2` fails here with the message the webhook would print at start.
 */
import { parseArgs } from 'node:util';
import { WEBHOOK_FLAGS, readPolicyFlags } from '../../contracts/webhook-flags';
import { ANNOTATION_PREFIX, INJECT_ANNOTATION, PolicyInput, Policy, PolicySetting, SETTING_OF_ANNOTATION, resolvePolicy } from '../../core';

/** The commands that read manifests. */
export type ManifestCommand = 'inject' | 'plan' | 'check';
export const MANIFEST_COMMANDS: readonly ManifestCommand[] = ['inject', 'plan', 'check'];

export type OutputFormat = 'table' | 'json';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json'];

/** How the pods are reached in the cluster: the webhook applies the whole rule, the admission policy all but its CEL limits. */
/** Which cluster-wide way in `plan` and `check` plan as: the webhook (the rule) or the admission policy. */
export type WayIn = 'webhook' | 'policy';
export const WAYS_IN: readonly WayIn[] = ['webhook', 'policy'];

/** What the flags of a manifest command decide. */
export interface ManifestOptions {
  readonly command: ManifestCommand;
  /** Files and directories to read, in order; `-` is standard input. Empty means standard input. */
  readonly files: readonly string[];
  readonly policyInput: PolicyInput;
  readonly policy: Policy;
  /** `plan` and `check`: the way in whose plan they show. */
  readonly wayIn: WayIn;
  /** `plan` only. */
  readonly output: OutputFormat;
  /** No warnings on standard error. */
  readonly quiet: boolean;
  readonly help: boolean;
}

/** The command line is wrong: exit code 2, with the message and a pointer to `--help`. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}


/** One flag of the manifest commands. */
export interface CliFlag {
  readonly flag: string;
  readonly short?: string;
  /** Placeholder for the value in the usage text; absent for a switch. */
  readonly value?: string;
  readonly description: string;
  readonly default?: string;
  /** The commands that accept it. */
  readonly commands: readonly ManifestCommand[];
  /** The policy setting it fills, for policy flags. */
  readonly policyKey?: PolicySetting;
}

const ALL: readonly ManifestCommand[] = MANIFEST_COMMANDS;

/** A policy flag the webhook also has: same name, same text. */
function webhookPolicyFlag(name: string, policyKey: PolicySetting): CliFlag {
  const f = WEBHOOK_FLAGS.find(w => w.flag === name);
  if (!f) throw new Error(`the webhook has no flag --${name}`);
  return { flag: name, value: f.value, description: f.description, default: f.default, commands: ALL, policyKey };
}

/** Every flag of `inject`, `plan` and `check`, in the order the usage text lists them. */
export const CLI_FLAGS: readonly CliFlag[] = [
  { flag: 'filename', short: 'f', value: 'FILE', description: 'a manifest file, a directory of *.yaml/*.yml/*.json files, or - for standard input; repeatable', default: 'standard input', commands: ALL },
  webhookPolicyFlag('ratio', 'ratio'),
  { flag: 'size', value: 'QUANTITY', description: 'an exact /dev/shm size for every pod instead of a share of its limit (excludes --ratio, --minimum, --maximum)', commands: ALL, policyKey: 'size' },
  webhookPolicyFlag('minimum', 'minimum'),
  webhookPolicyFlag('maximum', 'maximum'),
  webhookPolicyFlag('pod-selection', 'podSelection'),
  webhookPolicyFlag('pods-without-limit', 'podsWithoutLimit'),
  webhookPolicyFlag('fixed-size', 'fixedSize'),
  webhookPolicyFlag('volume-name', 'volumeName'),
  webhookPolicyFlag('size-unbounded-shm', 'sizeUnboundedShm'),
  webhookPolicyFlag('limit-follows', 'limitFollows'),
  webhookPolicyFlag('resize-volumes', 'resizeVolumes'),
  webhookPolicyFlag('deny-unsafe-shrink', 'denyUnsafeShrink'),
  webhookPolicyFlag('harden-mount', 'hardenMount'),
  { flag: 'output', short: 'o', value: OUTPUT_FORMATS.join('|'), description: 'table for people, json for machines', default: 'table', commands: ['plan'] },
  {
    flag: 'way-in',
    value: WAYS_IN.join('|'),
    description: 'plan as this way in sizes pods: policy (the MutatingAdmissionPolicy) leaves alone the few it cannot size exactly, and says why',
    default: 'webhook',
    commands: ['plan', 'check'],
  },
  { flag: 'quiet', short: 'q', description: 'print no warnings on standard error', commands: ALL },
  { flag: 'help', short: 'h', description: 'print this text', commands: ALL },
];

/**
 * Reads the flags of a manifest command.
 * @param command the command
 * @param argv the arguments after the command
 * @throws UsageError naming the flag and the value
 */
export function parseManifestArgs(command: ManifestCommand, argv: readonly string[]): ManifestOptions {
  const { files, given, switches } = readFlags(command, argv);
  const help = switches.has('help');
  const output = given.get('output') ?? 'table';
  if (!(OUTPUT_FORMATS as readonly string[]).includes(output)) {
    throw new UsageError(`--output (${output}) must be one of ${OUTPUT_FORMATS.join(', ')}`);
  }
  const wayIn = given.get('way-in') ?? 'webhook';
  if (!(WAYS_IN as readonly string[]).includes(wayIn)) {
    throw new UsageError(`--way-in (${wayIn}) must be one of ${WAYS_IN.join(', ')}`);
  }
  const policyInput = help ? {} : readPolicy(given);
  return {
    command,
    files,
    policyInput,
    policy: resolvePolicy(policyInput),
    wayIn: wayIn as WayIn,
    output: output as OutputFormat,
    quiet: switches.has('quiet'),
    help,
  };
}

/**
 * The command's flags as Node's tokenizer (`util.parseArgs`) splits them: `--flag value`,
 * `--flag=value`, `-f value` and grouped switches (`-qh`). It runs without its own checks, which
 * would throw its messages; each token is judged here, with ours.
 */
function readFlags(command: ManifestCommand, argv: readonly string[]): { files: string[]; given: Map<string, string>; switches: Set<string> } {
  const flags = new Map(CLI_FLAGS.filter(f => f.commands.includes(command)).map(f => [f.flag, f]));
  const options = Object.fromEntries([...flags.values()].map(f => [f.flag, {
    type: f.value === undefined ? 'boolean' as const : 'string' as const,
    ...(f.short ? { short: f.short } : {}),
  }]));
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const files: string[] = [];
  const given = new Map<string, string>();
  const switches = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== 'option') {
      const arg = token.kind === 'positional' ? token.value : '--';
      throw new UsageError(`unexpected argument '${arg}': give files with -f ${arg}`);
    }
    const f = flags.get(token.name);
    if (!f) throw new UsageError(`unknown flag ${token.rawName} for '${command}'`);
    // `-f=FILE` means FILE, as for kubectl (pflag); parseArgs would keep the `=`.
    const value = token.inlineValue && !token.rawName.startsWith('--') ? token.value?.replace(/^=/, '') : token.value;
    if (f.value === undefined) {
      if (value !== undefined) throw new UsageError(`--${f.flag} takes no value`);
      switches.add(f.flag);
    } else if (value === undefined) {
      throw new UsageError(`flag --${f.flag} needs a value: --${f.flag} ${f.value}`);
    } else if (f.flag === 'filename') {
      if (value === '') throw new UsageError('--filename needs a file name, or - for standard input');
      files.push(value);
    } else {
      if (given.has(f.flag)) throw new UsageError(`--${f.flag} is given twice`);
      given.set(f.flag, value);
    }
  }
  return { files, given, switches };
}

/** The policy flags, read and validated by the core, each named as the user typed it. */
function readPolicy(given: ReadonlyMap<string, string>): PolicyInput {
  const flags = CLI_FLAGS.filter((f): f is CliFlag & { policyKey: PolicySetting } => f.policyKey !== undefined)
    .map(f => ({ key: f.policyKey, flag: f.flag }));
  const flagOf = (key: PolicySetting) => flags.find(f => f.key === key)?.flag ?? key;
  try {
    return readPolicyFlags(flags, key => given.get(flagOf(key)), key => `--${flagOf(key)}`);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The usage text of `cdk8s-shm <command> --help`. */
export function manifestUsage(command: ManifestCommand): string {
  const summary: Record<ManifestCommand, string[]> = {
    inject: [
      'Usage: cdk8s-shm inject [-f FILE]... [policy flags]',
      '',
      'Reads Kubernetes manifests (multi-document YAML, List objects) and writes them to standard output',
      'with a right-sized /dev/shm in every pod template: Pod, Deployment, StatefulSet, DaemonSet,',
      'ReplicaSet, ReplicationController, Job, CronJob. Every other document is written unchanged.',
      'Works as a Helm post-renderer and after kubectl kustomize.',
    ],
    plan: [
      'Usage: cdk8s-shm plan [-f FILE]... [-o table|json] [policy flags]',
      '',
      'Prints, for every workload, its pod memory limit (the cap), the basis (the largest memory limit among',
      'the containers that write /dev/shm, which the size is a share of), the size it gets, the action and why.',
    ],
    check: [
      'Usage: cdk8s-shm check [-f FILE]... [policy flags]',
      '',
      "Lists the workloads whose /dev/shm 'inject' would change and exits 1 if there are any.",
    ],
  };
  const lines = [...summary[command], '', 'Flags:'];
  for (const f of CLI_FLAGS.filter(c => c.commands.includes(command))) {
    lines.push(`  ${f.short ? `-${f.short}, ` : ''}--${f.flag}${f.value ? ` ${f.value}` : ''}`);
    lines.push(`      ${f.description}${f.default !== undefined ? ` (default ${f.default})` : ''}`);
  }
  lines.push(
    '',
    'Pods may override the policy with cdk8s-shm.io/ annotations, one per setting:',
    `${[INJECT_ANNOTATION, ...SETTING_OF_ANNOTATION.keys()].map(k => k.slice(ANNOTATION_PREFIX.length)).join(', ')}.`,
    'Sizing a pod writes the settings given explicitly onto it, so that later runs reach the same answer.',
    '',
    EXIT_CODES_TEXT,
  );
  return lines.join('\n') + '\n';
}

export const EXIT_CODES_TEXT = [
  'Exit codes:',
  '  0  success (plan: always, whatever the actions; check: nothing would change)',
  '  1  check: some workload would change, be denied, or carries cdk8s-shm.io/ annotations that cannot be honoured;',
  '     inject: --pods-without-limit deny refused a workload',
  '  2  bad flags, an unreadable file, or YAML that does not parse (nothing is written to standard output)',
  '  3  an internal error (please report it)',
].join('\n');
