/**
 * The processes an e2e run started, recorded by pid in the run directory (so a later run can clean
 * up after one that died, and so tests can check what they listen on).
 */
import * as fs from 'fs';
import * as path from 'path';

const PIDS = 'pids';

/** Records a process the run started. */
export function recordPid(runDir: string, pid: number | undefined, name: string): void {
  if (pid !== undefined) fs.appendFileSync(path.join(runDir, PIDS), `${pid} ${name}\n`);
}

/** The processes the run recorded: pid and name. */
export function recordedPids(runDir: string): Array<{ pid: number; name: string }> {
  const text = fs.existsSync(path.join(runDir, PIDS)) ? fs.readFileSync(path.join(runDir, PIDS), 'utf8') : '';
  return text.split('\n').filter(Boolean).map(line => {
    const [pid, name] = line.split(' ');
    return { pid: Number(pid), name };
  });
}

/** A listening TCP socket of a recorded process. */
export interface ListeningSocket {
  readonly process: string;
  readonly pid: number;
  readonly address: string;
  readonly port: number;
}

/**
 * Every TCP socket in LISTEN state held by a recorded process that is still running, read from
 * /proc (its file descriptors, matched by inode against its network namespace's tcp tables).
 */
export function listeningAddresses(runDir: string): ListeningSocket[] {
  const sockets: ListeningSocket[] = [];
  for (const { pid, name } of recordedPids(runDir)) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // exited
    }
    const inodes = new Set(fds.flatMap(fd => {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        return match ? [match[1]] : [];
      } catch {
        return [];
      }
    }));
    for (const table of ['tcp', 'tcp6']) {
      let text = '';
      try {
        text = fs.readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        // local_address rem_address st ... inode (field 9)
        if (fields.length < 10 || fields[3] !== '0A' || !inodes.has(fields[9])) continue;
        const [hex, portHex] = fields[1].split(':');
        sockets.push({ process: name, pid, address: decodeAddress(hex), port: parseInt(portHex, 16) });
      }
    }
  }
  return sockets;
}

/** /proc/net/tcp addresses are little-endian 32-bit words: 0100007F is 127.0.0.1. */
function decodeAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap(word => (word.match(/../g) ?? []).reverse().map(b => parseInt(b, 16)));
  if (bytes.length === 4) return bytes.join('.');
  // IPv4-mapped IPv6 (::ffff:a.b.c.d) reads as its IPv4 address; anything else as hex groups.
  if (bytes.slice(0, 10).every(b => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] * 256 + bytes[i + 1]).toString(16));
  return groups.join(':');
}
