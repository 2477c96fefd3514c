/**
 * `limitFollows` in the webhook: no limit grows that a LimitRange or ResourceQuota of the pod's
 * namespace would refuse.
 *
 * The API server runs LimitRanger's validation and the quota check after every mutating webhook,
 * so a limit the webhook grows past a LimitRange's max, or past a quota's room, refuses a pod that
 * would have been admitted as the user wrote it. Before an answer that grows limits goes out, the
 * guard lists the namespace's LimitRanges and ResourceQuotas and asks the core
 * (namespace-limits.ts) about the pod as it would be once grown. When they would refuse it, or
 * cannot be read (RBAC, a timeout, the API server away, not in a cluster), the pod is left exactly
 * as it came: no grown limit, and no `/dev/shm` either, since with `limitFollows` the user sized
 * the application by its limit and asked for shared memory on top of it, not out of it; and half
 * the plan would leave a pod that says `limit-follows` without its limits grown for every later
 * way in. A warning names what refused and the fix. Never an exception, never a refusal of ours.
 *
 * Only answers that grow a limit get here, so other pods cost no API call. The lists are kept
 * `ttlMs` per namespace (one read serves the pods of a rollout), for at most `maxNamespaces`
 * namespaces; concurrent reviews of one namespace share one read. A quota's `status.used` read
 * then does not count the grown pods let through since, so those are counted here until the next
 * read; pods this server did not grow (or another replica did) are not.
 */
import { KubeApiError, KubeClient, KubeClientOptions, inClusterOptions } from './kube-client';
import { AdmissionReviewResult, growsLimits, leaveUnchanged } from './review';
import { NamespaceRefusal, applyOperations, namespaceRefusals, objectAt } from '../../core';
import { Logger } from '../shared/log';

export interface LimitGuardOptions {
  readonly log: Logger;
  /** How to reach the API server. @default the in-cluster service account */
  readonly kube?: KubeClientOptions;
  /** How long a namespace's lists serve. @default 10 seconds */
  readonly ttlMs?: number;
  /** Namespaces kept at most. @default 1000 */
  readonly maxNamespaces?: number;
  /** Grown pods counted per namespace at most, for the quotas' room; then the namespace is read again. @default 1000 */
  readonly maxAdmitted?: number;
  /** The API server waits 5 s for the webhook by default (the construct's `timeout`); the lists get less. @default 2 seconds */
  readonly timeoutMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** A namespace's LimitRanges and ResourceQuotas, or why they could not be read. */
type NamespaceRead = { readonly limitRanges: readonly unknown[]; readonly quotas: readonly unknown[] } | { readonly error: string };

/** One namespace in the cache: its read, and the grown pods this server let through since (the quotas' `used` lags them). */
interface CacheEntry {
  readonly expires: number;
  readonly read: Promise<NamespaceRead>;
  readonly admitted: unknown[];
}

export class LimitGuard {
  private readonly cache = new Map<string, CacheEntry>();
  private client?: KubeClient;

  constructor(private readonly options: LimitGuardOptions) {}

  /** The answer as it may go out: `result` itself, or the pod left unchanged with a warning. Never rejects. */
  async review(result: AdmissionReviewResult, pod: unknown): Promise<AdmissionReviewResult> {
    if (!growsLimits(result)) return result;
    const namespace = result.namespace ?? '';
    try {
      const entry = this.entry(namespace);
      const read = await entry.read;
      if ('error' in read) return leaveUnchanged(result, 'limit-unverified', unverifiedWarnings(read.error));
      const grown = objectAt(applyOperations(structuredClone(pod), result.patch ?? []))?.spec;
      const refusals = namespaceRefusals(grown, read.limitRanges, read.quotas, entry.admitted);
      if (refusals.length > 0) return leaveUnchanged(result, 'limit-refused', refusedWarnings(refusals));
      // Counted as used until the next read, whether or not the API server then stores it: the safe side.
      if (!result.dryRun) entry.admitted.push(grown);
      // So many since the read: read again (the quota admission has counted them by now) rather than keep them all.
      if (entry.admitted.length >= (this.options.maxAdmitted ?? 1_000) && this.cache.get(namespace) === entry) this.cache.delete(namespace);
      return result;
    } catch (error) {
      return leaveUnchanged(result, 'limit-unverified', unverifiedWarnings((error as Error)?.message ?? String(error)));
    }
  }

  close(): void {
    this.client?.close();
  }

  /** The namespace's entry, from the cache or a new one whose read the reviews waiting for it share. */
  private entry(namespace: string): CacheEntry {
    const now = (this.options.now ?? Date.now)();
    const cached = this.cache.get(namespace);
    if (cached && cached.expires > now) return cached;
    this.cache.delete(namespace);
    const entry: CacheEntry = { expires: now + (this.options.ttlMs ?? 10_000), read: this.list(namespace), admitted: [] };
    this.cache.set(namespace, entry);
    // The oldest entry goes first (a Map keeps insertion order).
    while (this.cache.size > (this.options.maxNamespaces ?? 1_000)) this.cache.delete(this.cache.keys().next().value!);
    return entry;
  }

  private async list(namespace: string): Promise<NamespaceRead> {
    if (namespace === '') return { error: 'the request names no namespace' };
    try {
      const client = this.kubeClient();
      const [limitRanges, quotas] = await Promise.all([client.listLimitRanges(namespace), client.listResourceQuotas(namespace)]);
      return { limitRanges: items(limitRanges), quotas: items(quotas) };
    } catch (error) {
      this.options.log.warn('cannot read the LimitRanges and ResourceQuotas of a namespace; limitFollows grows no limit there', { namespace, error });
      return { error: shortError(error) };
    }
  }

  private kubeClient(): KubeClient {
    if (!this.client) {
      // Made at the first pod that grows a limit: a server outside a cluster starts without one.
      this.client = new KubeClient({ ...(this.options.kube ?? inClusterOptions()), timeoutMs: this.options.timeoutMs ?? 2_000 });
    }
    return this.client;
  }
}

/** The cause in a few words (a warning line holds 119 bytes); the log has the whole of it. */
function shortError(error: unknown): string {
  if (error instanceof KubeApiError) {
    const resource = error.path.split('/').pop();
    return `${error.method} ${resource}: HTTP ${error.status}${error.status === 403 ? ' (RBAC forbids it)' : ''}`;
  }
  return (error as Error)?.message ?? String(error);
}

function items(list: unknown): readonly unknown[] {
  const found = objectAt(list)?.items;
  return Array.isArray(found) ? found : [];
}

/** What the user reads (`Warning:` lines of kubectl): the pod unchanged, what refused, the fix. */
function refusedWarnings(refusals: readonly NamespaceRefusal[]): string[] {
  const names = refusals.map(r => `${r.kind} ${r.name}`).join(', ');
  return [
    `limitFollows not applied, pod unchanged: ${names} would refuse the grown limits`,
    ...refusals.flatMap(r => r.problems.map(problem => `${r.kind} ${r.name}: ${problem}`)),
    'fix: raise that max or quota, or ask less /dev/shm; without limit-follows, /dev/shm is a share of the limit',
  ];
}

function unverifiedWarnings(error: string): string[] {
  return [
    "limitFollows not applied, pod unchanged: cannot read the namespace's LimitRanges and ResourceQuotas",
    error,
    "fix: let the webhook's ServiceAccount get and list limitranges and resourcequotas (SharedMemoryWebhook does)",
  ];
}
