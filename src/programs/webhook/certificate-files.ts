/**
 * Serving certificate files that change on disk while the server runs.
 *
 * cert-manager renews the Secret, and the kubelet swaps the mounted files atomically by pointing
 * the volume's `..data` symlink at a new directory. Watching the files themselves loses track
 * after the first swap, so the directory is watched, and a slow poll backs up `fs.watch`, which
 * can miss events on some filesystems. A change is only taken once the certificate and key load
 * together: the two files are not written at the same instant when someone replaces them by hand.
 */
import { createHash } from 'node:crypto';
import { FSWatcher, readFileSync, watch } from 'node:fs';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';

/** A certificate chain and its key, PEM. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
}

/** Reads both files and checks that they load as one TLS identity. Throws otherwise. */
export function readTlsFiles(certFile: string, keyFile: string): TlsMaterial {
  const material = { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  // Throws "key values mismatch" and the like: better here than in the middle of a handshake.
  createSecureContext(material);
  return material;
}

export interface CertificateFileWatcherOptions {
  readonly certFile: string;
  readonly keyFile: string;
  /** The material already loaded, so that only changes are reported. */
  readonly current: TlsMaterial;
  readonly onChange: (material: TlsMaterial) => void;
  readonly onError: (error: Error) => void;
  /** @default 10000 */
  readonly pollIntervalMs?: number;
}

/** Calls `onChange` whenever the files hold a new, loadable certificate and key. */
export class CertificateFileWatcher {
  private readonly watchers: FSWatcher[] = [];
  private timer?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private digest: string;
  /** The last digest that failed to load, so a half-written pair is reported once, not every poll. */
  private failedDigest?: string;

  constructor(private readonly options: CertificateFileWatcherOptions) {
    this.digest = digestOf(options.current);
  }

  start(): void {
    for (const dir of new Set([dirname(this.options.certFile), dirname(this.options.keyFile)])) {
      try {
        const watcher = watch(dir, () => this.schedule());
        watcher.on('error', () => undefined); // the directory may vanish during a swap; the poll carries on
        this.watchers.push(watcher);
      } catch {
        // Not watchable (unusual filesystems): the poll alone will do.
      }
    }
    this.timer = setInterval(() => this.check(), this.options.pollIntervalMs ?? 10_000);
    this.timer.unref();
  }

  stop(): void {
    for (const watcher of this.watchers.splice(0)) watcher.close();
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
  }

  /** Reads the files now; reports a change if there is one. */
  check(): void {
    let raw: TlsMaterial;
    try {
      raw = { cert: readFileSync(this.options.certFile, 'utf8'), key: readFileSync(this.options.keyFile, 'utf8') };
    } catch (error) {
      this.fail('unreadable', error as Error);
      return;
    }
    const digest = digestOf(raw);
    if (digest === this.digest) return;
    try {
      createSecureContext(raw);
    } catch (error) {
      this.fail(digest, error as Error);
      return;
    }
    this.digest = digest;
    this.failedDigest = undefined;
    this.options.onChange(raw);
  }

  private fail(digest: string, error: Error): void {
    if (this.failedDigest === digest) return;
    this.failedDigest = digest;
    this.options.onError(error);
  }

  /** A swap is several events in a burst (new dir, symlink, rename, cleanup): read once after it. */
  private schedule(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.check(), 100);
    this.debounce.unref();
  }
}

function digestOf(material: TlsMaterial): string {
  return createHash('sha256').update(material.cert).update('\0').update(material.key).digest('hex');
}
