// Bundles the programs that run outside a cdk8s app into single files under lib/bundle/:
// the admission webhook server and the CSI node plugin (each shipped in a ConfigMap, so each must
// be one file under 1 MiB) and the cdk8s-shm command line. Runtime dependencies are bundled in,
// Node built-ins are not.
import { build } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// `--outdir DIR` bundles elsewhere (a test that wants a private copy); the default is the
// package's lib/bundle.
const outdirFlag = process.argv.indexOf('--outdir');
const outdir = outdirFlag >= 0 ? process.argv[outdirFlag + 1] : 'lib/bundle';

const CONFIG_MAP_BYTES = 1024 * 1024 - 64 * 1024;
const version = JSON.parse(readFileSync('package.json', 'utf8')).version;
const entries = [
  { in: 'src/programs/webhook/main.ts', out: 'webhook', maxBytes: CONFIG_MAP_BYTES },
  { in: 'src/programs/cli/main.ts', out: 'cli', maxBytes: Infinity },
  {
    in: 'src/programs/csi/main.ts',
    out: 'csi-plugin',
    maxBytes: CONFIG_MAP_BYTES,
    // The plugin parses the CSI spec's proto at start (src/programs/csi/proto.ts): its text rides in the bundle.
    define: {
      __CSI_PROTO__: JSON.stringify(readFileSync('src/programs/csi/proto/csi.proto', 'utf8')),
      __CDK8S_SHM_VERSION__: JSON.stringify(version),
    },
  },
].filter(entry => existsSync(entry.in));

mkdirSync(outdir, { recursive: true });
for (const entry of entries) {
  const outfile = join(outdir, `${entry.out}.js`);
  const result = await build({
    entryPoints: [entry.in],
    outfile,
    write: false,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'eof',
    logLevel: 'warning',
    define: entry.define ?? {},
  });
  const code = result.outputFiles[0].contents;
  if (code.length > entry.maxBytes) {
    throw new Error(`${outfile} is ${code.length} bytes; it must stay under ${entry.maxBytes} to fit a ConfigMap`);
  }
  // Write then rename: test suites run in parallel, rebuild, and spawn these files; a reader
  // must see the old file or the new one, never half of one.
  const temporary = `${outfile}.${process.pid}.tmp`;
  writeFileSync(temporary, code);
  renameSync(temporary, outfile);
  console.log(`bundled ${entry.in} -> ${outfile} (${code.length} bytes)`);
}
