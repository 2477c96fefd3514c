/**
 * The README and docs/ link to each other: every relative link names a file of the repository, and
 * every `#anchor` a heading of that file, as GitHub makes anchors of headings. The README stays a
 * short user's path (at most about 25 KB) with a table of contents.
 */
import * as fs from 'fs';
import * as path from 'path';

const REPO = path.join(__dirname, '..', '..');
const FILES = ['README.md', ...fs.readdirSync(path.join(REPO, 'docs')).filter(f => f.endsWith('.md')).map(f => `docs/${f}`)];

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes. */
function anchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

function anchorsOf(file: string): Set<string> {
  const text = fs.readFileSync(path.join(REPO, file), 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map(m => anchor(m[1])));
}

const links = FILES.flatMap(file => {
  const text = fs.readFileSync(path.join(REPO, file), 'utf8').replace(/```[\s\S]*?```/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map(m => m[1])
    .filter(target => !/^[a-z]+:/.test(target))
    .map(target => ({ file, target }));
});

test.each(links.map(l => [l.file, l.target] as const))('%s links to %s, which is there', (file, target) => {
  const [where, hash] = target.split('#');
  const linked = where === '' ? file : path.normalize(path.join(path.dirname(file), where));
  expect(fs.existsSync(path.join(REPO, linked))).toBe(true);
  if (hash !== undefined && linked.endsWith('.md')) expect([...anchorsOf(linked)]).toContain(hash);
});

test('the README is the user\'s path: short, with a table of contents first', () => {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(25 * 1024);
  const headings = [...readme.matchAll(/^## (.+)$/gm)].map(m => m[1]);
  expect(headings.slice(0, 5)).toEqual(['The problem', 'Install', 'Quick start', 'The rule', 'Ways in']);
  // The table of contents comes before the first section and links to each of them.
  const contents = readme.slice(0, readme.indexOf('## The problem'));
  for (const heading of headings.slice(0, 4)) expect(contents).toContain(`(#${anchor(heading)})`);
});
