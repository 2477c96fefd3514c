/**
 * The main job: synthesizes every example to YAML in examples/dist/ and prints, for each
 * workload, its pod memory limit and the /dev/shm it got.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'cdk8s';
import { examples, renderTable, shmRows } from './registry';

const outdir = path.join(__dirname, 'dist');
fs.rmSync(outdir, { recursive: true, force: true });

const rows: string[][] = [['EXAMPLE', 'WORKLOAD', 'POD MEMORY LIMIT', '/dev/shm']];
for (const example of examples()) {
  const app = new App({ outdir, outputFileExtension: '.yaml' });
  const chart = example.build(app);
  app.synth();
  for (const row of shmRows(chart.toJson())) rows.push([example.name, row.workload, row.podMemoryLimit, row.devShm]);
}
console.log(renderTable(rows));
console.log(`\nWrote ${fs.readdirSync(outdir).length} manifests to ${path.relative(process.cwd(), outdir)}/`);
