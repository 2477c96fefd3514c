/**
 * The README's table of annotations says what the code does: every annotation the core reads or
 * writes is in it, and every flag and Helm value it names exists, for the setting it names.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { WEBHOOK_FLAGS } from '../../src/contracts/webhook-flags';
import { DECLARED_LIMITS_ANNOTATION, INJECT_ANNOTATION, SETTING_OF_ANNOTATION, SIZE_LIMIT_ANNOTATION, settingFlag } from '../../src/core';
import { CLI_FLAGS } from '../../src/programs/cli/args';

const ROOT = path.join(__dirname, '..', '..');
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const values = parse(fs.readFileSync(path.join(ROOT, 'charts', 'cdk8s-shm', 'values.yaml'), 'utf8'));

/** The rows of the table whose header starts with `| Annotation |`. */
function tableRows(): string[][] {
  const lines = readme.split('\n');
  const start = lines.findIndex(l => l.startsWith('| Annotation |'));
  expect(start).toBeGreaterThan(0);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|').slice(1, -1).map(cell => cell.trim()));
  }
  return rows;
}

const code = (cell: string) => /`([^`]+)`/.exec(cell)?.[1];
const rows = tableRows();

test('every annotation the core knows is in the table, and nothing else', () => {
  const known = [INJECT_ANNOTATION, ...SETTING_OF_ANNOTATION.keys(), SIZE_LIMIT_ANNOTATION, DECLARED_LIMITS_ANNOTATION];
  expect(rows.map(r => code(r[0])).sort()).toEqual([...known].sort());
});

test.each(rows.filter(r => SETTING_OF_ANNOTATION.has(code(r[0])!)).map(r => [code(r[0])!, r] as const))('%s: its option, flag and Helm value', (annotation, row) => {
  const setting = SETTING_OF_ANNOTATION.get(annotation)!;
  const [, option, flag, helm] = row;
  // the construct option has the setting's name (the webhook's podsWithoutLimit groups two of them)
  if (!option.includes('webhook')) expect(code(option)).toBe(setting);
  const flagName = code(flag);
  if (flagName !== undefined) {
    expect(flagName).toBe(settingFlag(setting));
    const known = [...WEBHOOK_FLAGS.map(f => `--${f.flag}`), ...CLI_FLAGS.map(f => `--${f.flag}`)];
    expect(known).toContain(flagName);
  } else {
    expect(WEBHOOK_FLAGS.some(f => f.key === setting)).toBe(false);
    expect(CLI_FLAGS.some(f => f.policyKey === setting)).toBe(false);
  }
  const helmValue = code(helm);
  if (helmValue !== undefined) {
    expect(helmValue).toBe(`policy.${setting}`);
    expect(Object.keys(values.policy)).toContain(setting);
  } else {
    expect(Object.keys(values.policy)).not.toContain(setting);
  }
});
