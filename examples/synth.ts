/**
 * The main job: synthesizes every example to YAML in examples/dist/ (or the directory given) and
 * prints, for each workload, its pod memory limit, the limit its /dev/shm is a share of (the basis)
 * and the /dev/shm it got.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'cdk8s';
import { exampleTable, examples } from './registry';

// Another directory may be given: test/python synthesizes into one of its own, to compare with Python's.
const outdir = process.argv[2] ? path.resolve(process.argv[2]) : path.join(__dirname, 'dist');
fs.rmSync(outdir, { recursive: true, force: true });

const synthesized = examples().map(example => {
  const app = new App({ outdir, outputFileExtension: '.yaml' });
  const chart = example.build(app);
  app.synth();
  return { name: example.name, objects: chart.toJson() };
});
console.log(exampleTable(synthesized));
console.log(`\nWrote ${fs.readdirSync(outdir).length} manifests to ${path.relative(process.cwd(), outdir)}/`);
