// Bundles the programs that run outside a cdk8s app into single files under lib/bundle/:
// the admission webhook server (shipped in a ConfigMap, so it must be one file under 1 MiB)
// and the cdk8s-shm command line. Runtime dependencies are bundled in, Node built-ins are not.
import { build } from 'esbuild';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

// `--outdir DIR` bundles elsewhere (tests build a private copy so that parallel suites never
// spawn a half-written file); the default is the package's lib/bundle.
const outdirFlag = process.argv.indexOf('--outdir');
const outdir = outdirFlag >= 0 ? process.argv[outdirFlag + 1] : 'lib/bundle';

const entries = [
  { in: 'src/webhook/main.ts', out: 'webhook', maxBytes: 1024 * 1024 - 64 * 1024 },
  { in: 'src/cli/main.ts', out: 'cli', maxBytes: Infinity },
].filter(entry => existsSync(entry.in));

for (const entry of entries) {
  const outfile = join(outdir, `${entry.out}.js`);
  await build({
    entryPoints: [entry.in],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'eof',
    logLevel: 'warning',
  });
  const size = statSync(outfile).size;
  if (size > entry.maxBytes) {
    throw new Error(`${outfile} is ${size} bytes; it must stay under ${entry.maxBytes} to fit a ConfigMap`);
  }
  console.log(`bundled ${entry.in} -> ${outfile} (${size} bytes)`);
}
