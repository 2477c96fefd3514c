/**
 * `inject` at scale, a document at a time: rendered charts (see corpus.ts) of about 2.5 MB and the
 * same eight times over, through the bundled binary (which reads files 64 KiB at a time) and
 * in-process. Eight copies give eight copies of the result; the JavaScript heap does not grow with
 * the stream (only the output waits, outside the heap, until all input is read, so that broken
 * input yields no output); and the peak RSS grows by a few bytes per byte of input, not by the
 * documents' syntax trees or a report per workload. How fast it is, is `npm run bench`'s to say.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import { stringify } from 'yaml';
import { corpusUnit, repeatStream } from './corpus';
import { flatObjects } from './support';
import { NodeUsage, bundle, runNodeMeasured } from './tools';
import { resolvePolicy } from '../../../src/core';
import { ManifestProcessor, injectDocuments } from '../../../src/programs/cli/inject';

/**
 * Peak RSS may grow by this much per byte of input, from one copy to eight: the output (1 byte
 * per byte) and the heap growing to its working size. The whole stream held as syntax trees
 * costs over 100.
 */
const RSS_BYTES_PER_INPUT_BYTE = 12;
/** The live heap may grow by this much per byte of input: the warnings kept for standard error. */
const HEAP_BYTES_PER_INPUT_BYTE = 0.25;

/** As the binary reads files. */
const CHUNK = 64 * 1024;

const policy = resolvePolicy({});
let dir: string;
let unit: string;
const runs: Record<'one' | 'eight', { input: string; output: string; usage?: NodeUsage }> = {
  one: { input: '', output: '' },
  eight: { input: '', output: '' },
};

beforeAll(() => {
  const cliJs = bundle();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-shm-scale-'));
  unit = corpusUnit();
  for (const [name, text] of [['one', unit], ['eight', repeatStream(unit, 8)]] as const) {
    runs[name].input = path.join(dir, `${name}.yaml`);
    runs[name].output = path.join(dir, `${name}.out.yaml`);
    fs.writeFileSync(runs[name].input, text);
  }
  for (const run of Object.values(runs)) run.usage = runNodeMeasured(cliJs, ['inject', '-q', '-f', run.input], run.output);
}, 600_000);

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the bundled binary', () => {
  test('eight copies of the charts give eight copies of what one gives, which is what the whole text gives in-process', () => {
    for (const run of Object.values(runs)) expect({ status: run.usage?.status, stderr: run.usage?.stderr }).toEqual({ status: 0, stderr: '' });
    const one = fs.readFileSync(runs.one.output, 'utf8');
    expect(one).toContain('sizeLimit:');
    expect(one === injectDocuments(unit, policy).output).toBe(true);
    expect(fs.readFileSync(runs.eight.output, 'utf8') === repeatStream(one, 8)).toBe(true);
  });

  test(`peak RSS grows by at most ${RSS_BYTES_PER_INPUT_BYTE} bytes per byte of input`, () => {
    const inputGrowth = fs.statSync(runs.eight.input).size - fs.statSync(runs.one.input).size;
    const perByte = (runs.eight.usage!.maxRssMiB - runs.one.usage!.maxRssMiB) * 2 ** 20 / inputGrowth;
    expect(perByte).toBeLessThanOrEqual(RSS_BYTES_PER_INPUT_BYTE);
  });

  test('a document larger than the reader buffers (a 5 MB List) gives what the whole text gives', () => {
    const items = injectDocuments(unit, policy).workloads.length;
    expect(items).toBeGreaterThan(100);
    // Every object of the corpus as an item of one List, as `kubectl get -o yaml` writes them.
    const objects = flatObjects(unit).filter(o => typeof o?.apiVersion === 'string' && typeof o?.kind === 'string');
    // At least two copies: the List must hold more workloads than the corpus does.
    const copies = Math.max(2, Math.ceil(5_000_000 / unit.length));
    const list = stringify({ apiVersion: 'v1', kind: 'List', items: Array.from({ length: copies }, () => objects).flat() }, { lineWidth: 0, aliasDuplicateObjects: false });
    expect(list.length).toBeGreaterThan(5_000_000);
    const file = path.join(dir, 'list.yaml');
    fs.writeFileSync(file, list);
    const usage = runNodeMeasured(bundle(), ['inject', '-q', '-f', file], `${file}.out`);
    expect({ status: usage.status, stderr: usage.stderr }).toEqual({ status: 0, stderr: '' });
    const whole = injectDocuments(list, policy);
    expect(whole.workloads.length).toBeGreaterThan(items);
    expect(fs.readFileSync(`${file}.out`, 'utf8') === whole.output).toBe(true);
  }, 300_000);
});

describe('in-process', () => {
  test(`the live heap grows by at most ${HEAP_BYTES_PER_INPUT_BYTE} bytes per byte of input; the output waits outside it`, () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const processor = new ManifestProcessor(policy, { keepWorkloads: false });
    const file = processor.beginFile('eight.yaml');
    const feed = () => {
      for (let i = 0; i < unit.length; i += CHUNK) file.write(unit.slice(i, i + CHUNK));
      file.write('\n---\n');
    };
    const measure = () => {
      gc();
      const { heapUsed, arrayBuffers } = process.memoryUsage();
      return { heapUsed, arrayBuffers };
    };
    feed();
    const afterOne = measure();
    for (let i = 1; i < 8; i++) feed();
    const afterEight = measure();
    file.end();
    const outputBytes = Buffer.byteLength(processor.result().output);

    const inputGrowth = 7 * (unit.length + 5);
    const heapPerByte = (afterEight.heapUsed - afterOne.heapUsed) / inputGrowth;
    expect(heapPerByte).toBeLessThanOrEqual(HEAP_BYTES_PER_INPUT_BYTE);
    // What grew outside the heap is the output of seven copies, give or take the buffer being filled
    // and other buffers of the process that the collections in between freed (a clean-clone run
    // measured 0.69 of it once): with the heap bound above, the output can be nowhere else.
    const outsideGrowth = afterEight.arrayBuffers - afterOne.arrayBuffers;
    expect(outsideGrowth).toBeGreaterThan(0.5 * outputBytes * 7 / 8);
    expect(outsideGrowth).toBeLessThan(1.3 * outputBytes * 7 / 8);
  }, 300_000);
});
