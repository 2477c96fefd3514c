/**
 * Profiles the webhook bundle under load: `node --cpu-prof` on the bundle, autocannon against it,
 * then a summary of where the time went. For finding the cause when a target is missed.
 *
 * Usage: ts-node --project bench/tsconfig.json bench/profile.ts [typical|large] [connections] [seconds] [--readable] [--floor]
 * --readable profiles the same bundle built without minification, so that functions keep their
 * names; --floor profiles the floor server instead. The .cpuprofile lands in .tmp/bench/profile/ (open it in Chrome DevTools for the full picture).
 */
import { spawn } from 'child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'fs';
import * as path from 'path';
import { buildSync } from 'esbuild';
import { runLoad } from './load';
import { largePayload, typicalPayload } from './payloads';
import { FLOOR_SERVER, SCRATCH, WEBHOOK_BUNDLE, freePort, makeTls, post } from './servers';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Self time by function, the top `limit`, from a V8 .cpuprofile. */
export function summarize(file: string, limit = 30): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byName = new Map<string, number>();
  for (const node of profile.nodes) {
    const frame = node.callFrame;
    const key = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
    byName.set(key, (byName.get(key) ?? 0) + (selfUs.get(node.id) ?? 0));
  }
  const total = [...byName.values()].reduce((a, b) => a + b, 0);
  return [...byName].sort((a, b) => b[1] - a[1]).slice(0, limit)
    .map(([key, us]) => `${(us / 1000).toFixed(0).padStart(7)} ms ${(100 * us / total).toFixed(1).padStart(5)}%  ${key}`).join('\n');
}

async function main(): Promise<void> {
  const readable = process.argv.includes('--readable');
  const [which = 'typical', connectionsText = '50', secondsText = '5'] = process.argv.slice(2, process.argv.includes('--') ? process.argv.indexOf('--') : undefined).filter(a => !a.startsWith('--'));
  const payload = which === 'large' ? largePayload() : typicalPayload();
  const dir = path.join(SCRATCH, 'profile');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tls = makeTls();
  const port = await freePort();
  let bundle = WEBHOOK_BUNDLE;
  if (process.argv.includes('--floor')) {
    bundle = FLOOR_SERVER;
  } else if (readable) {
    // As scripts/bundle.mjs builds it, minus minification.
    bundle = path.join(SCRATCH, 'webhook.js');
    buildSync({ entryPoints: [path.join(__dirname, '..', 'src', 'programs', 'webhook', 'main.ts')], outfile: bundle, bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning' });
  }
  // Flags after `--` go to the server, e.g. `-- --log-level warn`.
  const extra = process.argv.includes('--') ? process.argv.slice(process.argv.indexOf('--') + 1) : [];
  const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, bundle, '--port', String(port), '--tls-cert', tls.certFile, '--tls-key', tls.keyFile, ...extra],
    { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; ; i++) {
    try {
      if (await post(port, payload.body) === 200) break;
    } catch {
      if (i > 500) throw new Error('the webhook did not start');
    }
    await new Promise(resolve => setTimeout(resolve, 10));
  }
  const result = await runLoad(port, payload, Number(connectionsText), Number(secondsText));
  process.stdout.write(`${which} x${connectionsText}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50.toFixed(3)} ms, p99 ${result.p99.toFixed(3)} ms\n`);
  child.kill('SIGTERM');
  await new Promise(resolve => child.once('exit', resolve));
  const file = readdirSync(dir).find(name => name.endsWith('.cpuprofile'));
  if (!file) throw new Error('no profile written');
  process.stdout.write(`${path.join(dir, file)}\n${summarize(path.join(dir, file))}\n`);
}

if (require.main === module) {
  main().catch(error => {
    process.stderr.write(`${(error as Error)?.stack ?? error}\n`);
    process.exit(1);
  });
}
