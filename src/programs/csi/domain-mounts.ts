/**
 * The plugin's mounts: the domain it owns and the targets it publishes the domain at.
 *
 * Node.js has no mount(2) without a native addon, so this runs the `mount` and `umount` programs
 * of the plugin's image (busybox in the official Alpine `node` image, util-linux elsewhere), with
 * only the options both understand. Every operation reads the kernel's mount table before and
 * after, so a restarted plugin picks up where the last one stopped and never trusts a command's
 * exit status alone. Operations run one at a time: the kubelet may call for several pods at once.
 *
 * The domain is never unmounted here: tenants may hold it, and a plugin restart or update must
 * keep their segments. The README's rollback steps unmount it.
 */
import { execFile } from 'child_process';
import { promises as fs } from 'fs';
import * as path from 'path';
import { CsiError } from './errors';
import { MountEntry, MountIdentity, identityOf, mountAt, parseMountInfo, sameIdentity } from './mountinfo';
import { DomainKind } from '../../contracts/csi-flags';
import { TMPFS_SOURCE } from '../../contracts/domain-mount';
import type { Logger } from '../shared/log';

/** Per-mount options every published target carries, whatever the domain's own say. */
export const TARGET_FLAGS = ['nosuid', 'nodev', 'noexec'] as const;

export interface DomainSpec {
  readonly kind: DomainKind;
  /** The domain directory as this process sees it. */
  readonly path: string;
  /** tmpfs only. */
  readonly sizeBytes?: bigint;
  /** Targets outside this directory are refused (the kubelet's pods directory in a cluster). */
  readonly targetRoot: string;
  /** A directory whose mounts propagate nowhere, where a publish prepares its bind. */
  readonly stagingPath: string;
}

/** What `ensureDomain` found and did. */
export type DomainAction = 'mounted' | 'resized' | 'kept' | 'prepared';

const COMMAND_TIMEOUT_MS = 30_000;

export class DomainMounts {
  private tail: Promise<unknown> = Promise.resolve();
  private staged = 0;

  constructor(private readonly spec: DomainSpec, private readonly log: Logger, private readonly mountInfoFile = '/proc/self/mountinfo') {}

  /**
   * Makes the domain ready: mounts the tmpfs (mode 1777, so that tenants of any uid can create
   * segments, sticky so that none removes another's), or resizes ours in place when it is already
   * there (remount keeps every page; a shrink below what is in use is refused by the kernel and
   * the old size is kept). A host-shm domain is a directory that is only opened to every user.
   */
  public ensureDomain(): Promise<DomainAction> {
    return this.serial(() => this.ensureDomainNow());
  }

  /** Bind-mounts the domain at `target` (nosuid, nodev, noexec); succeeds at once if it already is. */
  public publish(target: string, readonly: boolean): Promise<'published' | 'already-published'> {
    return this.serial(() => this.publishNow(this.checkTarget(target), readonly));
  }

  /** Unmounts `target` (that mount alone) and removes the directory; succeeds if nothing is there. */
  public unpublish(target: string): Promise<'unpublished' | 'absent'> {
    return this.serial(() => this.unpublishNow(this.checkTarget(target)));
  }

  /** Whether the domain is mounted (tmpfs) or present (host-shm). */
  public async ready(): Promise<boolean> {
    const entries = await this.mountTable();
    return this.spec.kind === 'tmpfs' ? isOurTmpfs(mountAt(entries, this.spec.path)) : identityOf(entries, this.spec.path) !== undefined;
  }

  private async ensureDomainNow(): Promise<DomainAction> {
    const domain = this.spec.path;
    if (this.spec.kind === 'host-shm') {
      await fs.mkdir(domain, { recursive: true });
      await fs.chmod(domain, 0o1777);
      return 'prepared';
    }
    const size = this.spec.sizeBytes!;
    const flags = TARGET_FLAGS.join(',');
    if (isOurTmpfs(mountAt(await this.mountTable(), domain))) {
      // The size belongs to the file system and so holds everywhere; the flags change only this
      // namespace's mount (a tmpfs the hostPath mounter made keeps its own on the node), and every
      // publish sets them on its bind anyway.
      try {
        await run('mount', ['-o', `remount,size=${size},${flags}`, domain]);
        return 'resized';
      } catch (error) {
        this.log.warn('domain kept at its old size: the kernel refused the new one (is more than that in use?)', { domain, size, error });
        return 'kept';
      }
    }
    await fs.mkdir(domain, { recursive: true });
    await run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=1777,${flags}`, TMPFS_SOURCE, domain]);
    if (!isOurTmpfs(mountAt(await this.mountTable(), domain))) {
      throw new CsiError('INTERNAL', `mount reported success but no tmpfs '${TMPFS_SOURCE}' is mounted on ${domain}`);
    }
    return 'mounted';
  }

  private async domainIdentity(entries: readonly MountEntry[]): Promise<MountIdentity> {
    if (this.spec.kind === 'tmpfs') {
      let top = mountAt(entries, this.spec.path);
      if (!isOurTmpfs(top)) {
        // Someone unmounted it: serve new tenants from a fresh one rather than from the directory beneath.
        this.log.warn('the domain tmpfs is gone; mounting a new one (pods published before keep the old one)', { domain: this.spec.path });
        await this.ensureDomainNow();
        top = mountAt(await this.mountTable(), this.spec.path);
      }
      return { device: top!.device, root: top!.root };
    }
    const identity = identityOf(entries, this.spec.path);
    if (!identity) throw new CsiError('UNAVAILABLE', `the domain directory ${this.spec.path} is not on any mount`);
    return identity;
  }

  private async publishNow(target: string, readonly: boolean): Promise<'published' | 'already-published'> {
    const entries = await this.mountTable();
    const domain = await this.domainIdentity(entries);
    const current = mountAt(entries, target);
    if (current) {
      if (!sameIdentity(current, domain)) {
        throw new CsiError('ALREADY_EXISTS', `target ${target} is already a mount point of something else (${current.fsType} ${current.source})`);
      }
      const isReadonly = current.options.includes('ro');
      if (isReadonly !== readonly) {
        throw new CsiError('ALREADY_EXISTS', `target ${target} already publishes the domain ${isReadonly ? 'read-only' : 'read-write'}`);
      }
      return 'already-published';
    }
    // A bind takes its flags only from a second, remounting call, and that remount does not
    // propagate: the copy the kubelet sees (through the Bidirectional pods directory) would keep
    // the flags the bind was created with. So the flags are set on a private staging bind first,
    // and the target is bound from it: a new bind, and each propagated copy of it, copies the
    // flags of its source.
    const stage = path.join(this.spec.stagingPath, `publish-${process.pid}-${++this.staged}`);
    await fs.mkdir(stage, { recursive: true });
    await run('mount', ['-o', 'bind', this.spec.path, stage]);
    try {
      await run('mount', ['-o', `remount,bind,${readonly ? 'ro' : 'rw'},${TARGET_FLAGS.join(',')}`, stage]);
      await makeDirectory(target);
      await run('mount', ['-o', 'bind', stage, target]);
    } catch (error) {
      throw error instanceof CsiError ? error : new CsiError('INTERNAL', `could not publish the domain at ${target}: ${(error as Error).message}`);
    } finally {
      await run('umount', [stage]).catch(error => this.log.warn('could not remove a staging bind', { stage, error }));
      await fs.rmdir(stage).catch(() => undefined);
    }
    try {
      const published = mountAt(await this.mountTable(), target);
      const missing = [...TARGET_FLAGS, ...(readonly ? ['ro'] : [])].filter(flag => !published?.options.includes(flag));
      if (!sameIdentity(published, domain) || missing.length > 0) {
        throw new Error(`the mount on ${target} is not the domain with ${TARGET_FLAGS.join(',')}${readonly ? ',ro' : ''} (missing: ${missing.join(',') || 'none'})`);
      }
    } catch (error) {
      await run('umount', [target]).catch(() => undefined);
      throw new CsiError('INTERNAL', `could not publish the domain at ${target}: ${(error as Error).message}`);
    }
    return 'published';
  }

  private async unpublishNow(target: string): Promise<'unpublished' | 'absent'> {
    let unmounted = false;
    // Whatever is mounted there came from a publish of this driver (the kubelet owns the path);
    // mounts stacked by a race are removed one by one, never recursively below the target.
    for (let i = 0; i < 8 && mountAt(await this.mountTable(), target); i++) {
      await run('umount', [target]).catch(error => {
        throw new CsiError('INTERNAL', `could not unmount ${target}: ${(error as Error).message}`);
      });
      unmounted = true;
    }
    if (mountAt(await this.mountTable(), target)) throw new CsiError('INTERNAL', `${target} is still a mount point after 8 unmounts`);
    try {
      await fs.rmdir(target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return unmounted ? 'unpublished' : 'absent';
      if (code === 'ENOTDIR') {
        await fs.unlink(target);
      } else {
        throw new CsiError('INTERNAL', `could not remove ${target}: ${(error as Error).message}`);
      }
    }
    return 'unpublished';
  }

  private checkTarget(target: string): string {
    const normalized = path.posix.normalize(target).replace(/\/$/, '');
    const root = this.spec.targetRoot.replace(/\/$/, '');
    if (!target.startsWith('/') || target.split('/').includes('..') || !normalized.startsWith(`${root}/`)) {
      throw new CsiError('INVALID_ARGUMENT', `target path ${target} must be an absolute path below ${root}`);
    }
    return normalized;
  }

  private async mountTable(): Promise<MountEntry[]> {
    return parseMountInfo(await fs.readFile(this.mountInfoFile, 'utf8'));
  }

  private serial<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.tail.then(operation, operation);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

function isOurTmpfs(entry: MountEntry | undefined): entry is MountEntry {
  return entry !== undefined && entry.fsType === 'tmpfs' && entry.source === TMPFS_SOURCE && entry.root === '/';
}

async function makeDirectory(target: string): Promise<void> {
  await fs.mkdir(target, { recursive: true });
  const stat = await fs.stat(target);
  if (!stat.isDirectory()) throw new CsiError('INVALID_ARGUMENT', `target path ${target} exists and is not a directory`);
}

function run(program: 'mount' | 'umount', args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { timeout: COMMAND_TIMEOUT_MS, encoding: 'utf8' }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`${program} ${args.join(' ')}: ${(stderr || error.message).trim()}`));
      else resolve();
    });
  });
}
