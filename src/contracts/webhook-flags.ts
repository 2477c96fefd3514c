/**
 * The webhook's command line, as one table of flags.
 *
 * The server reads its flags with `parseWebhookArgs`, and the SharedMemoryWebhook construct renders
 * the container's args from values with `webhookArgs`; both walk the same table, so a flag, its
 * environment variable and its default exist once. A cdk8s app imports this file, so it stays pure:
 * no `node:` modules, no I/O.
 */
import {
  POLICY_SETTINGS, PolicyError, PolicyInput, PolicySetting, SELECTIONS, Selection, WITHOUT_LIMIT_MODES, WithoutLimit,
  isDns1123Label, isDns1123Subdomain, readSetting, resolvePolicy,
} from '../core';

/** Where the serving certificate comes from: files on disk (cert-manager or the user), or made and rotated by the server itself. */
export type TlsMode = 'files' | 'self-managed';
export const TLS_MODES: readonly TlsMode[] = ['files', 'self-managed'];

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** A namespaced object, such as the Secret that holds the self-managed certificates. */
export interface NamespacedName {
  readonly namespace: string;
  readonly name: string;
}

/** The Service in front of the webhook: its DNS names go into the self-managed serving certificate. */
export interface ServiceName {
  readonly name: string;
  readonly namespace: string;
}

/** Everything the flags decide. */
export interface WebhookServerOptions {
  readonly port: number;
  /** Plain-HTTP port for `GET /metrics` alone; 0 for none. */
  readonly metricsPort: number;
  readonly tlsMode: TlsMode;
  readonly tlsCert: string;
  readonly tlsKey: string;
  /** Required in self-managed mode. */
  readonly tlsSecret?: NamespacedName;
  /** Required in self-managed mode. */
  readonly webhookConfiguration?: string;
  /** Required in self-managed mode. */
  readonly service?: ServiceName;
  /** Validated: `resolvePolicy(policy)` does not throw. */
  readonly policy: PolicyInput;
  readonly maxBodyBytes: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerClient: number;
  readonly logLevel: LogLevel;
  /** `--help` was given: print `webhookUsage()` and do nothing else. */
  readonly help?: boolean;
}

/** Flag values as a construct holds them; each field renders as the flag of the same name. */
export interface WebhookArgsInput {
  readonly port?: number;
  readonly metricsPort?: number;
  readonly tlsMode?: TlsMode;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  /** `NAMESPACE/NAME` */
  readonly tlsSecret?: string;
  readonly webhookConfiguration?: string;
  /** `NAME.NAMESPACE` */
  readonly service?: string;
  readonly ratio?: string | number;
  readonly minimum?: string;
  readonly maximum?: string;
  readonly podSelection?: Selection;
  readonly podsWithoutLimit?: WithoutLimit;
  readonly fixedSize?: string;
  readonly volumeName?: string;
  readonly sizeUnboundedShm?: boolean;
  readonly limitFollows?: boolean;
  readonly resizeVolumes?: boolean;
  readonly denyUnsafeShrink?: boolean;
  readonly hardenMount?: boolean;
  readonly maxBodyBytes?: number;
  readonly maxConnections?: number;
  readonly maxConnectionsPerClient?: number;
  readonly logLevel?: LogLevel;
}

/** One flag: its name on the command line, its field in `WebhookArgsInput`, its environment variable. */
export interface WebhookFlag {
  readonly flag: string;
  readonly key: keyof WebhookArgsInput;
  readonly env: string;
  /** Placeholder for the value in the usage text. */
  readonly value: string;
  readonly description: string;
  /** The default as the usage text shows it. */
  readonly default?: string;
}

export const DEFAULT_PORT = 8443;
/** The port the SharedMemoryWebhook construct serves metrics on (the server alone serves none unless told). */
export const DEFAULT_METRICS_PORT = 9090;
/** How long self-managed TLS retries at start before the server gives up (the construct's startup probe covers it). */
export const SELF_MANAGED_BOOTSTRAP_TIMEOUT_MS = 120_000;
export const DEFAULT_TLS_CERT = '/etc/cdk8s-shm/tls/tls.crt';
export const DEFAULT_TLS_KEY = '/etc/cdk8s-shm/tls/tls.key';
/**
 * A CREATE review carries one pod and a small envelope, and the API server itself refuses request
 * bodies over 3 MB (`--max-request-body-bytes`), so no pod it admits makes a larger review. 3 MiB
 * leaves room for the envelope and keeps the memory a burst of hostile bodies can pin well inside
 * the server's limit.
 */
export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;
export const ENV_PREFIX = 'CDK8S_SHM_';
/**
 * Open connections at most. A TLS connection costs the server about 40 KB (1,500 held 56 MiB in
 * test/reliability/connections.test.ts), so 1,000 stay far inside the container's 256Mi. The API
 * server opens one connection per concurrent review (HTTP/1.1) and keeps a few idle.
 */
export const DEFAULT_MAX_CONNECTIONS = 1_000;
/** Connections from one address at most: one pod cannot take all the slots of the API servers. */
export const DEFAULT_MAX_CONNECTIONS_PER_CLIENT = 500;

/**
 * The Node.js flags the server is deployed with (NODE_OPTIONS). The old-space cap keeps the heap
 * well inside the container's memory limit; small semi-spaces stop V8 from growing its young
 * generation under load, which held resident memory at 76 MiB instead of 108 MiB for about 5 %
 * of peak throughput (BENCHMARKS.md). V8 reads both only at start, so they cannot be set from
 * inside the server.
 */
export const WEBHOOK_NODE_FLAGS: readonly string[] = ['--max-old-space-size=96', '--max-semi-space-size=2'];

function flag(name: string, key: keyof WebhookArgsInput, value: string, description: string, defaultValue?: string): WebhookFlag {
  return { flag: name, key, env: `${ENV_PREFIX}${name.toUpperCase().replace(/-/g, '_')}`, value, description, default: defaultValue };
}

/** Every flag of `cdk8s-shm webhook`, in the order the usage text and `webhookArgs` list them. */
export const WEBHOOK_FLAGS: readonly WebhookFlag[] = [
  flag('port', 'port', 'PORT', 'HTTPS port to listen on', String(DEFAULT_PORT)),
  flag('metrics-port', 'metricsPort', 'PORT', 'plain-HTTP port that serves only GET /metrics; 0 for none (/metrics is on the HTTPS port too)', '0'),
  flag('tls-mode', 'tlsMode', TLS_MODES.join('|'), 'files: serve --tls-cert/--tls-key and reload them when they change; self-managed: create, store and rotate the certificates in --tls-secret', 'files'),
  flag('tls-cert', 'tlsCert', 'FILE', 'serving certificate (PEM) in files mode', DEFAULT_TLS_CERT),
  flag('tls-key', 'tlsKey', 'FILE', 'private key (PEM) in files mode', DEFAULT_TLS_KEY),
  flag('tls-secret', 'tlsSecret', 'NAMESPACE/NAME', 'self-managed mode: the pre-created Secret that holds the CA and serving certificate'),
  flag('webhook-configuration', 'webhookConfiguration', 'NAME', 'self-managed mode: the MutatingWebhookConfiguration whose caBundle the server keeps current'),
  flag('service', 'service', 'NAME.NAMESPACE', "self-managed mode: the webhook's Service, for the certificate's DNS names"),
  flag('ratio', 'ratio', 'DECIMAL', 'share of the basis (the largest memory limit among the containers that write /dev/shm), in (0, 1]', '0.5'),
  flag('minimum', 'minimum', 'QUANTITY', 'smallest ratio-derived size (still capped at the pod limit)'),
  flag('maximum', 'maximum', 'QUANTITY', "largest ratio-derived size; at least the runtime's 64Mi unless --minimum is set too"),
  flag('pod-selection', 'podSelection', SELECTIONS.join('|'), 'opt-out: every pod unless annotated cdk8s-shm.io/inject: "false"; opt-in: only pods annotated "true"', 'opt-out'),
  flag('pods-without-limit', 'podsWithoutLimit', WITHOUT_LIMIT_MODES.join('|'), 'pods without a memory limit: skip with a warning, deny, or give --fixed-size', 'skip'),
  flag('fixed-size', 'fixedSize', 'QUANTITY', 'the /dev/shm size for pods without a memory limit when --pods-without-limit is fixed'),
  flag('volume-name', 'volumeName', 'NAME', 'name of the injected volume', 'dshm'),
  flag('size-unbounded-shm', 'sizeUnboundedShm', 'true|false', "size a pod's own memory-backed /dev/shm without sizeLimit by the same rule, instead of leaving it alone", 'false'),
  flag('limit-follows', 'limitFollows', 'true|false', "grow the memory limits of the containers that write /dev/shm by its size, so shared memory comes on top of the application's memory", 'false'),
  flag('resize-volumes', 'resizeVolumes', 'true|false', 'the cluster resizes memory-backed volumes in place (1.37+, InPlacePodVerticalScalingMemoryBackedVolumes on the API '
    + 'server and every kubelet): a memory resize carries the /dev/shm the rule gives under the new limits', 'false'),
  flag('deny-unsafe-shrink', 'denyUnsafeShrink', 'true|false', 'refuse a resize /dev/shm cannot follow that leaves it at or above the new limit of the container '
    + 'it is sized from (default: let it through with a warning)', 'false'),
  flag('harden-mount', 'hardenMount', 'true|false', 'mount /dev/shm nosuid,nodev,noexec as the runtime mounts its own (bindMountOptions: 1.37+, '
    + 'VolumeBindMountOptions)', 'false'),
  flag('max-body-bytes', 'maxBodyBytes', 'BYTES', 'largest request body accepted', String(DEFAULT_MAX_BODY_BYTES)),
  flag('max-connections', 'maxConnections', 'N', 'open connections at most; more are closed at accept', String(DEFAULT_MAX_CONNECTIONS)),
  flag('max-connections-per-client', 'maxConnectionsPerClient', 'N', 'open connections from one client address at most', String(DEFAULT_MAX_CONNECTIONS_PER_CLIENT)),
  flag('log-level', 'logLevel', LOG_LEVELS.join('|'), 'least severe level written (JSON lines on stdout)', 'info'),
];

/**
 * What the server refuses about its flags together beyond the policy's rules (setting-rules.ts in
 * the core): a metrics port of its own must differ from the serving port. The Helm chart checks
 * the same, with this message.
 */
export function breaksPortRule(port: number, metricsPort: number): boolean {
  return metricsPort !== 0 && metricsPort === port;
}

/** The message of the port rule, naming the flags (or values) as the caller knows them. */
export function portRuleMessage(label: (key: 'port' | 'metricsPort') => string, metricsPort: () => string): string {
  return `${label('metricsPort')} (${metricsPort()}) must differ from ${label('port')}`;
}

/** The usage text `--help` prints. */
export function webhookUsage(): string {
  const lines = [
    'Usage: cdk8s-shm webhook [flags]',
    '',
    'Serves the cdk8s-shm mutating admission webhook: POST /mutate, GET /healthz, /readyz, /metrics.',
    'Every flag can also be set through its environment variable (flags win).',
    '',
  ];
  return usageText(lines, WEBHOOK_FLAGS.map(f => ({ ...f, note: `[${f.env}]` })));
}

type Given = Map<keyof WebhookArgsInput, { value: string; source: string }>;

/** The flags' values as given: a flag first, else its environment variable (empty means not set). */
function givenValues(argv: readonly string[], env: Record<string, string | undefined>): { given: Given; help: boolean } {
  const byName = new Map(WEBHOOK_FLAGS.map(f => [f.flag, f]));
  const given: Given = new Map();
  const { pairs, help } = splitFlags(argv, new Map(WEBHOOK_FLAGS.map(f => [f.flag, f.value])), '--port 8443');
  for (const [name, value] of pairs) given.set(byName.get(name)!.key, { value, source: `--${name}` });
  for (const f of WEBHOOK_FLAGS) {
    const value = env[f.env];
    // An empty variable is how a Deployment template says "not set".
    if (!given.has(f.key) && value !== undefined && value !== '') given.set(f.key, { value, source: f.env });
  }
  return { given, help };
}

/** Reads given values, naming the flag or variable each came from in its errors. */
class FlagReader {
  constructor(private readonly given: Given) {}

  public text(key: keyof WebhookArgsInput): string | undefined {
    return this.given.get(key)?.value;
  }

  public where(key: keyof WebhookArgsInput): string {
    return this.given.get(key)?.source ?? `--${WEBHOOK_FLAGS.find(f => f.key === key)?.flag}`;
  }

  public oneOf<T extends string>(key: keyof WebhookArgsInput, allowed: readonly T[], fallback: T): T {
    const value = this.text(key);
    if (value === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(value)) throw new Error(`${this.where(key)} (${value}) must be one of ${allowed.join(', ')}`);
    return value as T;
  }

  public integer(key: keyof WebhookArgsInput, fallback: number, min: number, max: number): number {
    const value = this.text(key);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new Error(`${this.where(key)} (${value}) must be a whole number from ${min} to ${max}`);
    }
    return Number(value);
  }
}

/** The TLS mode and what the self-managed mode needs: the Secret, the Service and the webhook configuration. */
function readTls(read: FlagReader): Pick<WebhookServerOptions, 'tlsMode' | 'tlsSecret' | 'service' | 'webhookConfiguration'> {
  const tlsMode = read.oneOf('tlsMode', TLS_MODES, 'files');
  const tlsSecretText = read.text('tlsSecret');
  let tlsSecret: NamespacedName | undefined;
  if (tlsSecretText !== undefined) {
    const [namespace, name, extra] = tlsSecretText.split('/');
    if (extra !== undefined || !isDns1123Label(namespace) || !isDns1123Subdomain(name)) {
      throw new Error(`${read.where('tlsSecret')} (${tlsSecretText}) must be NAMESPACE/NAME, e.g. cdk8s-shm/cdk8s-shm-webhook-tls`);
    }
    tlsSecret = { namespace, name };
  }
  const serviceText = read.text('service');
  let service: ServiceName | undefined;
  if (serviceText !== undefined) {
    // Service names and namespaces are DNS labels (no dots), so NAME.NAMESPACE splits unambiguously.
    const [name, namespace, extra] = serviceText.split('.');
    if (extra !== undefined || !isDns1123Label(name) || !isDns1123Label(namespace)) {
      throw new Error(`${read.where('service')} (${serviceText}) must be NAME.NAMESPACE, e.g. cdk8s-shm-webhook.cdk8s-shm`);
    }
    service = { name, namespace };
  }
  const webhookConfiguration = read.text('webhookConfiguration');
  if (webhookConfiguration !== undefined && !isDns1123Subdomain(webhookConfiguration)) {
    throw new Error(`${read.where('webhookConfiguration')} (${webhookConfiguration}) must be a Kubernetes object name`);
  }
  if (tlsMode === 'self-managed') {
    const missing = (['tlsSecret', 'webhookConfiguration', 'service'] as const).filter(key => read.text(key) === undefined).map(key => read.where(key));
    if (missing.length > 0) throw new Error(`--tls-mode self-managed needs ${missing.join(', ')}`);
  }
  return { tlsMode, tlsSecret, service, webhookConfiguration };
}

/**
 * Reads the flags, then the environment for flags not given.
 * @param argv the arguments after `webhook`, as `--flag value` or `--flag=value`
 * @param env the process environment
 * @throws Error naming the flag, the value and what is allowed
 */
export function parseWebhookArgs(argv: readonly string[], env: Record<string, string | undefined>): WebhookServerOptions {
  const { given, help } = givenValues(argv, env);
  if (help) return { ...defaults(), help: true };
  const read = new FlagReader(given);

  const port = read.integer('port', DEFAULT_PORT, 0, 65535);
  const metricsPort = read.integer('metricsPort', 0, 0, 65535);
  if (breaksPortRule(port, metricsPort)) throw new Error(portRuleMessage(key => read.where(key), () => String(metricsPort)));
  const tls = readTls(read);
  const policy = readPolicyFlags(WEBHOOK_FLAGS, key => read.text(key), key => read.where(key));
  const maxConnections = read.integer('maxConnections', DEFAULT_MAX_CONNECTIONS, 1, 1_000_000);
  const maxConnectionsPerClient = read.integer('maxConnectionsPerClient', Math.min(DEFAULT_MAX_CONNECTIONS_PER_CLIENT, maxConnections), 1, 1_000_000);
  if (maxConnectionsPerClient > maxConnections) {
    throw new Error(`${read.where('maxConnectionsPerClient')} (${maxConnectionsPerClient}) must not exceed ${read.where('maxConnections')} (${maxConnections})`);
  }

  return {
    port,
    metricsPort,
    ...tls,
    tlsCert: read.text('tlsCert') ?? DEFAULT_TLS_CERT,
    tlsKey: read.text('tlsKey') ?? DEFAULT_TLS_KEY,
    policy,
    maxBodyBytes: read.integer('maxBodyBytes', DEFAULT_MAX_BODY_BYTES, 1024, 64 * 1024 * 1024),
    maxConnections,
    maxConnectionsPerClient,
    logLevel: read.oneOf('logLevel', LOG_LEVELS, 'info'),
  };
}

/**
 * A program's `--help` text: its header lines, then each flag with its value, description, default
 * and note (the webhook's environment variable), then `--help`. Shared by the programs that run in
 * a cluster (this server, the CSI plugin).
 */
export function usageText(
  header: readonly string[], flags: readonly { flag: string; value: string; description: string; default?: string; note?: string }[],
): string {
  const lines = [...header];
  for (const f of flags) {
    lines.push(`  --${f.flag} ${f.value}`);
    lines.push(`      ${f.description}${f.default !== undefined ? ` (default ${f.default})` : ''}${f.note !== undefined ? ` ${f.note}` : ''}`);
  }
  lines.push('  --help', '      print this text');
  return lines.join('\n') + '\n';
}

/**
 * Splits `--flag value` and `--flag=value` arguments into (flag, value) pairs, in order, and notes
 * `--help` (or `-h`). Shared by the programs that run in a cluster (this server, the CSI plugin).
 * @param known each flag's name and the placeholder of its value, for messages
 * @param example a flag with a value, for the message about a stray argument
 * @throws Error for a stray argument, an unknown flag or a missing value
 */
export function splitFlags(
  argv: readonly string[], known: ReadonlyMap<string, string>, example: string,
): { pairs: [string, string][]; help: boolean } {
  const pairs: [string, string][] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!match) throw new Error(`unexpected argument '${arg}': flags look like ${example} (see --help)`);
    const name = match[1];
    if (!known.has(name)) throw new Error(`unknown flag --${name} (see --help)`);
    let value = match[2];
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new Error(`flag --${name} needs a value: --${name} ${known.get(name)}`);
    }
    pairs.push([name, value]);
  }
  return { pairs, help };
}

/**
 * Renders flags from values, in table order, as `--flag=value` (one argument each, so a value can
 * never be read as a flag). The result is checked by parsing it back, so a construct fails at synth
 * time with the same message the server would print at start.
 */
export function webhookArgs(input: WebhookArgsInput): string[] {
  const args: string[] = [];
  for (const f of WEBHOOK_FLAGS) {
    const value = input[f.key];
    if (value !== undefined) args.push(`--${f.flag}=${value}`);
  }
  parseWebhookArgs(args, {});
  return args;
}

/**
 * The policy settings among a table of flags, read from their text by the core (each named as the
 * user gave it: `--ratio`, or `CDK8S_SHM_RATIO`) and validated together by `resolvePolicy`. The
 * webhook and the CLI both read their policy flags here.
 * @param flags a table of flags; those whose key is a policy setting are read
 * @param text the text given for a key, if any
 * @param where how messages name a key
 * @returns the validated settings that were given
 * @throws Error naming the flag and the value
 */
export function readPolicyFlags<K extends string>(
  flags: readonly { readonly key: K }[], text: (key: K) => string | undefined, where: (key: K) => string,
): PolicyInput {
  const input: Record<string, unknown> = {};
  for (const { key } of flags) {
    if (!isPolicySetting(key)) continue;
    const value = text(key);
    if (value === undefined) continue;
    const read = readSetting(key, value, where(key));
    if (isReadError(read)) throw new Error(read.error);
    input[key] = read;
  }
  try {
    return resolvePolicy(input as PolicyInput, undefined, setting => where(setting as unknown as K)).input;
  } catch (error) {
    throw error instanceof PolicyError ? new Error(error.message) : error;
  }
}

function isPolicySetting(key: string): key is PolicySetting {
  return (POLICY_SETTINGS as readonly string[]).includes(key);
}

function isReadError(value: unknown): value is { error: string } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'error' in value;
}

function defaults(): WebhookServerOptions {
  return {
    port: DEFAULT_PORT,
    metricsPort: 0,
    tlsMode: 'files',
    tlsCert: DEFAULT_TLS_CERT,
    tlsKey: DEFAULT_TLS_KEY,
    policy: {},
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    maxConnections: DEFAULT_MAX_CONNECTIONS,
    maxConnectionsPerClient: DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
    logLevel: 'info',
  };
}
