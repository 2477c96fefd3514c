/**
 * Before and after: the start-up of two builds of the webhook bundle, each start a fresh process,
 * interleaved with the bare HTTPS floor and repeated, timed from spawn() to the first answered
 * review (the typical pod), and the resident memory right after that answer. For checking what a
 * change to the programs (a library bundled in) costs at start (BENCHMARKS.md, "Libraries in the
 * programs").
 *
 * Usage: ts-node --project bench/tsconfig.json bench/start-ab.ts BEFORE_BUNDLE [repeats]
 * where BEFORE_BUNDLE is a webhook.js built from the old source (`node scripts/bundle.mjs --outdir
 * DIR` in a checkout of it); the current lib/bundle/webhook.js is "after".
 */
import { statSync } from 'fs';
import * as path from 'path';
import { median } from './load';
import { typicalPayload } from './payloads';
import { WEBHOOK_BUNDLE, makeTls, residentMemory, startServer } from './servers';

type Which = 'floor' | 'before' | 'after';

async function main(): Promise<void> {
  const [beforeBundle, repeatsText = '15'] = process.argv.slice(2);
  if (!beforeBundle) throw new Error('usage: start-ab.ts BEFORE_BUNDLE [repeats]');
  const before = path.resolve(beforeBundle);
  const tls = makeTls();
  const body = typicalPayload().body;
  const runs: Record<Which, number[]> = { floor: [], before: [], after: [] };
  const rss: Record<Which, number[]> = { floor: [], before: [], after: [] };
  for (let r = 0; r < Number(repeatsText); r++) {
    const order: Which[] = r % 2 === 0 ? ['floor', 'before', 'after'] : ['after', 'before', 'floor'];
    for (const which of order) {
      const server = await startServer(which === 'floor' ? 'floor' : 'webhook', tls, body, which === 'before' ? { script: before } : {});
      runs[which].push(server.firstAnswerMs);
      rss[which].push(residentMemory(server.child.pid!).rssMiB);
      await server.stop();
    }
  }
  const kib = (file: string) => (statSync(file).size / 1024).toFixed(1);
  const row = (which: Which) => `${median(runs[which]).toFixed(1)} ms (x${median(runs[which].map((t, i) => t / runs.floor[i])).toFixed(2)} of the floor), `
    + `RSS ${median(rss[which]).toFixed(1)} MiB`;
  process.stdout.write(`first answer, median of ${repeatsText}: floor ${median(runs.floor).toFixed(1)} ms, RSS ${median(rss.floor).toFixed(1)} MiB; `
    + `before ${row('before')}, ${kib(before)} KiB; after ${row('after')}, ${kib(WEBHOOK_BUNDLE)} KiB\n`);
}

main().catch(error => {
  process.stderr.write(`${(error as Error)?.stack ?? error}\n`);
  process.exit(1);
});
