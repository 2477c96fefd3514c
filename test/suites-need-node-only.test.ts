/**
 * `npm test` needs Node.js alone: no suite it runs may build or run Go, nor Python. The suites that
 * hold our output to Kubernetes' and Go's own code live in test/conformance (`npm run conformance`)
 * and test/e2e (`npm run e2e`), which CI runs with Go; the Python package's suite is test/python
 * (pytest, `npm run python`), which CI runs with Python.
 */
import * as fs from 'fs';
import * as path from 'path';

const TEST = __dirname;
const OUTSIDE_NPM_TEST = [path.join(TEST, 'conformance'), path.join(TEST, 'e2e')];

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return OUTSIDE_NPM_TEST.includes(file) || entry.name === 'go' ? [] : sources(file);
    return /\.(ts|mjs|js)$/.test(entry.name) && file !== path.join(TEST, 'support', 'go-program.ts') ? [file] : [];
  });
}

test('no file of npm test imports the Go program builder or runs go', () => {
  const offenders = sources(TEST).filter(file => {
    const text = fs.readFileSync(file, 'utf8');
    return /support\/go-program'/.test(text) || /(spawn|exec|execFile)(Sync)?\(\s*'go'/.test(text);
  });
  expect(offenders.map(f => path.relative(TEST, f))).toEqual([]);
});

test('no file of npm test runs Python or pip, and the Python suite is pytest\'s, not jest\'s', () => {
  const offenders = sources(TEST).filter(file => /(spawn|exec|execFile)(Sync)?\(\s*['"`](python3?|pip3?)['"`]/.test(fs.readFileSync(file, 'utf8')));
  expect(offenders.map(f => path.relative(TEST, f))).toEqual([]);
  const python = fs.readdirSync(path.join(TEST, 'python'));
  expect(python).toEqual(expect.arrayContaining(['conftest.py', 'test_examples.py']));
  expect(python.filter(f => /\.(ts|js|mjs)$/.test(f))).toEqual([]);
});

test('the conformance suites are where the Go-built checks went', () => {
  const conformance = fs.readdirSync(path.join(TEST, 'conformance'));
  expect(conformance).toEqual(expect.arrayContaining([
    'admission-policy-cel.test.ts', 'webhook-policies-cel.test.ts', 'webhook-warnings.test.ts', 'mount-path-go.test.ts', 'csi-sanity.test.ts',
  ]));
});
