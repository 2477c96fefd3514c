/**
 * Every TypeScript code block of the README and of docs/ is a program a user can paste into an app
 * made by `cdk8s init typescript-app` (test/docs/cdk8s-init-app.ts: its strict tsconfig, with
 * noUnusedLocals, and cdk8s-plus-33): with the packed library installed from its tarball, as npm
 * installs it, every block compiles with the app's TypeScript and synthesizes with node, writing
 * manifests. The README's SharedMemoryDeployment block asks for `npm install cdk8s-shm-plus-28
 * cdk8s-plus-28`, so the app has them too (cdk8s-shm-plus-28 packed as the release packs it).
 *
 * The README marks its TypeScript blocks ```TypeScript, not ```ts: the README is the Python package's
 * description too, and jsii-pacmak relabels ```ts blocks as Python there without translating them
 * (test/python/test_package.py holds every block PyPI shows as Python to be Python).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CDK8S_INIT_DEPENDENCIES, CDK8S_INIT_TSCONFIG } from './cdk8s-init-app';
import { packPlus28 } from '../../scripts/pack-plus-28';
import { REPO, installApp, packLibrary, run } from '../support/packed-app';

jest.setTimeout(600_000);

interface CodeBlock {
  /** `README.md:42`: where the block starts. */
  readonly where: string;
  /** The file it becomes in the app. */
  readonly file: string;
  readonly code: string;
}

/** The ```ts blocks of a Markdown file. */
function codeBlocks(markdown: string): CodeBlock[] {
  const text = fs.readFileSync(path.join(REPO, markdown), 'utf8');
  const blocks: CodeBlock[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/i.test(lines[i])) continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
    const name = `${markdown.replace(/\.md$/, '').replace(/[^a-z0-9]+/gi, '-')}-${i + 1}`.toLowerCase();
    blocks.push({ where: `${markdown}:${i + 1}`, file: `${name}.ts`, code: lines.slice(i + 1, end).join('\n') + '\n' });
    i = end;
  }
  return blocks;
}

const DOCS = ['README.md', ...fs.readdirSync(path.join(REPO, 'docs')).filter(f => f.endsWith('.md')).sort().map(f => `docs/${f}`)];
const BLOCKS = DOCS.flatMap(codeBlocks);

let app: string;
let compiled: { ok: boolean; output: string };
beforeAll(() => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-shm-docs-'));
  app = path.join(root, 'app');
  installApp(app, { ...CDK8S_INIT_DEPENDENCIES, 'cdk8s-plus-28': '^2.5.6' }, packLibrary(root), packPlus28(root));
  fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify(CDK8S_INIT_TSCONFIG, null, 2));
  for (const block of BLOCKS) fs.writeFileSync(path.join(app, block.file), block.code);
  try {
    compiled = { ok: true, output: run(process.execPath, [path.join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], app) };
  } catch (error) {
    compiled = { ok: false, output: (error as Error).message };
  }
});

test('the README marks its TypeScript blocks so that jsii-pacmak leaves them TypeScript on PyPI', () => {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  expect(readme.match(/^```(ts|typescript)\s*$/gm)).toBeNull();
  expect(readme.match(/^```TypeScript$/gm)!.length).toBe(BLOCKS.filter(b => b.where.startsWith('README.md:')).length);
});

test('the README and docs/ hold TypeScript blocks, and the README begins with the quick start', () => {
  expect(BLOCKS.length).toBeGreaterThanOrEqual(8);
  expect(BLOCKS[0].where).toMatch(/^README\.md:/);
  expect(BLOCKS[0].code).toContain("from 'cdk8s-plus-33'");
});

test('every block compiles under the tsconfig of cdk8s init (strict, noUnusedLocals)', () => {
  // tsc names each error with the block's file: map it back to where the block is.
  const named = BLOCKS.reduce((text, block) => text.split(block.file).join(`${block.file} (${block.where})`), compiled.output);
  expect({ ok: compiled.ok, errors: compiled.ok ? '' : named }).toEqual({ ok: true, errors: '' });
});

test.each(BLOCKS.map(b => [b.where, b] as const))('%s synthesizes', (_where, block) => {
  expect(compiled.ok).toBe(true);
  // Each block runs in a directory of its own: app.synth() writes dist/ there.
  const cwd = fs.mkdtempSync(path.join(app, 'run-'));
  run(process.execPath, [path.join(app, block.file.replace(/\.ts$/, '.js'))], cwd);
  const manifests = fs.readdirSync(path.join(cwd, 'dist')).filter(f => f.endsWith('.k8s.yaml'));
  expect(manifests.length).toBeGreaterThan(0);
  expect(manifests.map(f => fs.readFileSync(path.join(cwd, 'dist', f), 'utf8')).join('')).toMatch(/^kind: /m);
});
