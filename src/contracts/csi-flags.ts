/**
 * The CSI node plugin's command line, as one table of flags.
 *
 * The plugin reads its flags with `parseCsiPluginArgs`; the construct that deploys it renders the
 * container's args with `csiPluginArgs`, which parses its own output back, so a bad value fails at
 * synthesis with the message the plugin would print at start. A cdk8s app imports this file, so it
 * stays pure: no `node:` modules, no I/O.
 */
import { isCsiDriverName, isDns1123Label, isDns1123Subdomain } from '../core';
import { LOG_LEVELS, LogLevel, splitFlags, usageText } from './webhook-flags';

/** Where the domain lives: a tmpfs the plugin mounts and sizes, or a directory on the node's `/dev/shm`. */
export type DomainKind = 'tmpfs' | 'host-shm';
export const DOMAIN_KINDS: readonly DomainKind[] = ['tmpfs', 'host-shm'];

/** Who may publish the domain: every pod of a namespace, or only those running as one ServiceAccount. */
export interface Tenant {
  readonly namespace: string;
  /** Undefined: any ServiceAccount of the namespace. */
  readonly serviceAccount?: string;
}

/** Everything the flags decide. */
export interface CsiPluginOptions {
  /** Path of the unix socket the plugin serves gRPC on. */
  readonly endpoint: string;
  readonly driverName: string;
  /** The node's name, reported by NodeGetInfo. */
  readonly nodeId: string;
  /** What business pods name in `volumeAttributes.domain`. */
  readonly domainName: string;
  readonly domainKind: DomainKind;
  /** The domain directory as the plugin sees it. */
  readonly domainPath: string;
  /** The tmpfs size in bytes; set exactly when `domainKind` is `tmpfs`. */
  readonly domainSizeBytes?: bigint;
  readonly tenants: readonly Tenant[];
  /** Target paths outside this directory are refused. */
  readonly targetRoot: string;
  /** A directory of the plugin's own, whose mounts propagate nowhere. */
  readonly stagingPath: string;
  /** Where to serve the kubelet's registration API; undefined: the plugin does not register itself. */
  readonly registrationSocket?: string;
  /** The CSI socket's path on the node, as the kubelet must dial it; set exactly with `registrationSocket`. */
  readonly kubeletEndpoint?: string;
  readonly logLevel: LogLevel;
  /** `--help` was given: print `csiPluginUsage()` and do nothing else. */
  readonly help?: boolean;
}

/** Flag values as a construct holds them. */
export interface CsiPluginArgsInput {
  readonly endpoint?: string;
  readonly driverName: string;
  readonly nodeId: string;
  readonly domainName: string;
  readonly domainKind: DomainKind;
  readonly domainPath?: string;
  readonly domainSizeBytes?: bigint;
  readonly tenants: readonly Tenant[];
  readonly targetRoot?: string;
  readonly stagingPath?: string;
  readonly registrationSocket?: string;
  readonly kubeletEndpoint?: string;
  readonly logLevel?: LogLevel;
}

export const DEFAULT_ENDPOINT = '/csi/csi.sock';
export const DEFAULT_DOMAIN_PATH = '/shm-domain';
/** Where the kubelet asks for pod volumes to be published, unless its --root-dir moved it. */
export const DEFAULT_TARGET_ROOT = '/var/lib/kubelet/pods';
/** An emptyDir of the plugin pod (propagation None, so private). */
export const DEFAULT_STAGING_PATH = '/csi-staging';

/**
 * The registration socket's name in the kubelet's `plugins_registry` directory, as
 * `csi-node-driver-registrar` names it (the kubelet reads any name there).
 */
export function registrationSocketName(driverName: string): string {
  return `${driverName}-reg.sock`;
}

/** The volume attribute a business pod names the domain with. */
export const DOMAIN_ATTRIBUTE = 'domain';

type Key = 'endpoint' | 'driverName' | 'nodeId' | 'domainName' | 'domainKind' | 'domainPath' | 'domainSize' | 'tenant' | 'targetRoot' | 'stagingPath'
  | 'registrationSocket' | 'kubeletEndpoint' | 'logLevel';

interface CsiFlag {
  readonly flag: string;
  readonly key: Key;
  readonly value: string;
  readonly description: string;
  readonly default?: string;
  /** The flag may be given more than once. */
  readonly repeated?: boolean;
}

/** Every flag, in the order the usage text and `csiPluginArgs` list them. */
export const CSI_PLUGIN_FLAGS: readonly CsiFlag[] = [
  { flag: 'endpoint', key: 'endpoint', value: 'PATH', description: 'unix socket to serve the CSI Identity and Node services on', default: DEFAULT_ENDPOINT },
  { flag: 'driver-name', key: 'driverName', value: 'NAME', description: 'the CSI driver name (the CSIDriver object and the pods\' csi volumes use it)' },
  { flag: 'node-id', key: 'nodeId', value: 'NAME', description: 'the node\'s name, reported by NodeGetInfo' },
  { flag: 'domain-name', key: 'domainName', value: 'NAME', description: `the domain's name: a pod's volumeAttributes.${DOMAIN_ATTRIBUTE} must say it` },
  { flag: 'domain-kind', key: 'domainKind', value: DOMAIN_KINDS.join('|'), description: 'tmpfs: mount (or resize) a dedicated tmpfs of --domain-size on --domain-path; host-shm: --domain-path is a directory on the node\'s /dev/shm', default: 'tmpfs' },
  { flag: 'domain-path', key: 'domainPath', value: 'PATH', description: 'the domain directory (a Bidirectional hostPath mount for tmpfs)', default: DEFAULT_DOMAIN_PATH },
  { flag: 'domain-size', key: 'domainSize', value: 'BYTES', description: 'size of the tmpfs in bytes (tmpfs only)' },
  { flag: 'tenant', key: 'tenant', value: 'NAMESPACE[/SERVICEACCOUNT]', description: 'pods that may publish the domain: a namespace, or one ServiceAccount in it; repeat for more', repeated: true },
  { flag: 'target-root', key: 'targetRoot', value: 'PATH', description: 'refuse to publish at or unpublish any target path outside this directory', default: DEFAULT_TARGET_ROOT },
  { flag: 'staging-path', key: 'stagingPath', value: 'PATH', description: 'a private directory where a publish prepares its bind mount', default: DEFAULT_STAGING_PATH },
  { flag: 'registration-socket', key: 'registrationSocket', value: 'PATH', description: 'register with the kubelet: serve its plugin registration API on this socket, in its plugins_registry directory' },
  { flag: 'kubelet-endpoint', key: 'kubeletEndpoint', value: 'PATH', description: 'with --registration-socket: the --endpoint socket\'s path on the node, which the kubelet dials' },
  { flag: 'log-level', key: 'logLevel', value: LOG_LEVELS.join('|'), description: 'least severe level written (JSON lines on stdout)', default: 'info' },
];

/** The usage text `--help` prints. */
export function csiPluginUsage(): string {
  const lines = [
    'Usage: node csi-plugin.js [flags]',
    '',
    'The cdk8s-shm CSI node plugin: publishes one shared-memory domain into the pods of its tenants',
    '(ephemeral inline volumes only).',
    '',
  ];
  return usageText(lines, CSI_PLUGIN_FLAGS);
}

/**
 * Reads `--flag value` or `--flag=value` arguments.
 * @throws Error naming the flag, the value and what is allowed
 */
export function parseCsiPluginArgs(argv: readonly string[]): CsiPluginOptions {
  const byName = new Map(CSI_PLUGIN_FLAGS.map(f => [f.flag, f]));
  const given = new Map<Key, string[]>();
  const { pairs, help } = splitFlags(argv, new Map(CSI_PLUGIN_FLAGS.map(f => [f.flag, f.value])), '--driver-name NAME');
  for (const [name, value] of pairs) {
    const f = byName.get(name)!;
    if (given.has(f.key) && !f.repeated) throw new Error(`flag --${f.flag} is given twice`);
    given.set(f.key, [...(given.get(f.key) ?? []), value]);
  }
  const text = (key: Key) => given.get(key)?.[0];
  const required = (key: Key, check: (v: string) => boolean, what: string): string => {
    const f = CSI_PLUGIN_FLAGS.find(x => x.key === key)!;
    const value = text(key);
    if (value === undefined) throw new Error(`--${f.flag} is required: --${f.flag} ${f.value}`);
    if (!check(value)) throw new Error(`--${f.flag} (${value}) must be ${what}`);
    return value;
  };
  const absolutePath = (v: string) => v.startsWith('/') && !v.split('/').includes('..');
  if (help) {
    return {
      endpoint: DEFAULT_ENDPOINT,
      driverName: '',
      nodeId: '',
      domainName: '',
      domainKind: 'tmpfs',
      domainPath: DEFAULT_DOMAIN_PATH,
      tenants: [],
      targetRoot: DEFAULT_TARGET_ROOT,
      stagingPath: DEFAULT_STAGING_PATH,
      logLevel: 'info',
      help: true,
    };
  }

  const endpoint = given.has('endpoint') ? required('endpoint', absolutePath, 'an absolute path') : DEFAULT_ENDPOINT;
  const driverName = required('driverName', isCsiDriverName, 'a CSI driver name: at most 63 characters forming a DNS-1123 subdomain');
  const nodeId = required('nodeId', v => v.length > 0 && v.length <= 253, 'the node name');
  const domainName = required('domainName', isDns1123Label, 'a DNS-1123 label');
  const domainKind = (text('domainKind') ?? 'tmpfs') as DomainKind;
  if (!DOMAIN_KINDS.includes(domainKind)) throw new Error(`--domain-kind (${domainKind}) must be one of ${DOMAIN_KINDS.join(', ')}`);
  const domainPath = given.has('domainPath') ? required('domainPath', absolutePath, 'an absolute path without ..') : DEFAULT_DOMAIN_PATH;
  let domainSizeBytes: bigint | undefined;
  if (domainKind === 'tmpfs') {
    domainSizeBytes = BigInt(required('domainSize', v => /^[1-9]\d*$/.test(v), 'a positive whole number of bytes'));
  } else if (given.has('domainSize')) {
    throw new Error('--domain-size applies to --domain-kind tmpfs only: a host-shm domain is bounded by the node\'s /dev/shm');
  }
  const tenants = (given.get('tenant') ?? []).map(parseTenant);
  if (tenants.length === 0) throw new Error('--tenant is required at least once: --tenant NAMESPACE[/SERVICEACCOUNT]');
  const targetRoot = given.has('targetRoot') ? required('targetRoot', absolutePath, 'an absolute path without ..') : DEFAULT_TARGET_ROOT;
  const stagingPath = given.has('stagingPath') ? required('stagingPath', absolutePath, 'an absolute path without ..') : DEFAULT_STAGING_PATH;
  const registrationSocket = given.has('registrationSocket') ? required('registrationSocket', absolutePath, 'an absolute path without ..') : undefined;
  const kubeletEndpoint = given.has('kubeletEndpoint') ? required('kubeletEndpoint', absolutePath, 'an absolute path without ..') : undefined;
  if ((registrationSocket === undefined) !== (kubeletEndpoint === undefined)) {
    throw new Error('--registration-socket and --kubelet-endpoint go together: the kubelet needs both the registration socket and the CSI socket\'s path on the node');
  }
  const logLevel = (text('logLevel') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new Error(`--log-level (${logLevel}) must be one of ${LOG_LEVELS.join(', ')}`);
  return {
    endpoint,
    driverName,
    nodeId,
    domainName,
    domainKind,
    domainPath,
    domainSizeBytes,
    tenants,
    targetRoot,
    stagingPath,
    ...(registrationSocket === undefined ? {} : { registrationSocket, kubeletEndpoint }),
    logLevel,
  };
}

/** `NAMESPACE` or `NAMESPACE/SERVICEACCOUNT`. */
export function parseTenant(text: string): Tenant {
  const [namespace, serviceAccount, extra] = text.split('/');
  if (extra !== undefined || !isDns1123Label(namespace) || (serviceAccount !== undefined && !isDns1123Subdomain(serviceAccount))) {
    throw new Error(`--tenant (${text}) must be NAMESPACE or NAMESPACE/SERVICEACCOUNT, e.g. shop or shop/web`);
  }
  return serviceAccount === undefined ? { namespace } : { namespace, serviceAccount };
}

/** The inverse of `parseTenant`. */
export function formatTenant(tenant: Tenant): string {
  return tenant.serviceAccount === undefined ? tenant.namespace : `${tenant.namespace}/${tenant.serviceAccount}`;
}

/**
 * Renders flags from values, in table order, as `--flag=value` (one argument each), and checks
 * them by parsing them back. A `nodeId` of `$(NODE_NAME)` is left for the kubelet to expand.
 */
export function csiPluginArgs(input: CsiPluginArgsInput): string[] {
  const values: Record<Key, readonly string[] | undefined> = {
    endpoint: input.endpoint === undefined ? undefined : [input.endpoint],
    driverName: [input.driverName],
    nodeId: [input.nodeId],
    domainName: [input.domainName],
    domainKind: [input.domainKind],
    domainPath: input.domainPath === undefined ? undefined : [input.domainPath],
    domainSize: input.domainSizeBytes === undefined ? undefined : [String(input.domainSizeBytes)],
    tenant: input.tenants.map(formatTenant),
    targetRoot: input.targetRoot === undefined ? undefined : [input.targetRoot],
    stagingPath: input.stagingPath === undefined ? undefined : [input.stagingPath],
    registrationSocket: input.registrationSocket === undefined ? undefined : [input.registrationSocket],
    kubeletEndpoint: input.kubeletEndpoint === undefined ? undefined : [input.kubeletEndpoint],
    logLevel: input.logLevel === undefined ? undefined : [input.logLevel],
  };
  const args = CSI_PLUGIN_FLAGS.flatMap(f => (values[f.key] ?? []).map(v => `--${f.flag}=${v}`));
  parseCsiPluginArgs(args);
  return args;
}
