/**
 * Before and after: the synthesis cost of SharedMemory in two builds of the library, each synthesis
 * in a fresh process, interleaved with plain synthesis and repeated. For checking that a change to
 * src/constructs/sizing/shared-memory.ts pays off (BENCHMARKS.md, "the self-check re-render").
 *
 * Usage: ts-node --project bench/tsconfig.json bench/synth-ab.ts BEFORE_LIB_DIR [count] [repeats]
 * where BEFORE_LIB_DIR is a copy of lib/ built from the old source; the current lib/ is "after".
 */
import * as path from 'path';
import { median } from './load';
import { runSynthWorker, writeManifest } from './synth';
import { SynthTiming, Variant } from './synth-worker';

async function main(): Promise<void> {
  const [beforeLib, countText = '1000', repeatsText = '5'] = process.argv.slice(2);
  if (!beforeLib) throw new Error('usage: synth-ab.ts BEFORE_LIB_DIR [count] [repeats]');
  const count = Number(countText);
  const includeFile = writeManifest(count);
  const before = path.resolve(beforeLib);
  // addTo against the same YAML written by hand in cdk8s-plus (the alternative a user has), and applyToChart against the plain Include.
  const groups: Array<{ plain: Variant; shm: Variant }> = [{ plain: 'floor', shm: 'addTo' }, { plain: 'include', shm: 'applyToChart' }];
  for (const { plain, shm } of groups) {
    const runs: Record<'plain' | 'before' | 'after', SynthTiming[]> = { plain: [], before: [], after: [] };
    for (let r = 0; r < Number(repeatsText); r++) {
      const order: Array<keyof typeof runs> = r % 2 === 0 ? ['plain', 'before', 'after'] : ['after', 'before', 'plain'];
      for (const which of order) {
        runs[which].push(await runSynthWorker(which === 'plain' ? plain : shm, 'synthYaml', count, includeFile, which === 'before' ? before : undefined));
      }
    }
    const total = (which: keyof typeof runs) => median(runs[which].map(t => t.totalMs));
    const ratio = (which: keyof typeof runs) => median(runs[which].map((t, i) => t.totalMs / runs.plain[i].totalMs));
    process.stdout.write(`${shm} (${count}): ${plain} ${total('plain').toFixed(0)} ms; before ${total('before').toFixed(0)} ms (x${ratio('before').toFixed(2)}); `
      + `after ${total('after').toFixed(0)} ms (x${ratio('after').toFixed(2)})\n`);
  }
}

main().catch(error => {
  process.stderr.write(`${(error as Error)?.stack ?? error}\n`);
  process.exit(1);
});
