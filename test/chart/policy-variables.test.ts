/**
 * scripts/helm-policy-variables.ts: the variables policies share are written once, and the
 * template, its includes expanded, is the text it was given.
 */
import { shareVariables } from '../../scripts/helm-policy-variables';

/** The template with each include replaced by what the definition it names holds, as Helm does. */
function expand(template: string, defines: string): string {
  const bodies = new Map([...defines.matchAll(/\{\{- define "([^"]+)" \}\}(\n[\s\S]*?)\n\{\{- end \}\}\n/g)].map(m => [m[1], m[2]]));
  return template.replace(/\n\{\{- include "([^"]+)" \. \}\}/g, (_m, name: string) => bodies.get(name)!);
}

const item = (name: string) => `  - expression: |-\n      // ${name}\n      variables.${name}\n    name: ${name}`;
const policy = (kind: string, names: readonly string[]) => `---\nkind: ${kind}\nspec:\n  failurePolicy: Ignore\n  variables:\n${names.map(item).join('\n')}\n`;

test('the variables every policy begins with, and those two share after them, are each written once', () => {
  const template = [
    policy('Creation', ['a', 'b']),
    policy('Warnings', ['a', 'b', 'w']),
    policy('Resize', ['a', 'b', 'r1', 'r2']),
    policy('ResizeWarnings', ['a', 'b', 'r1', 'r2']),
  ].join('\n');
  const shared = shareVariables(template, 'x.');
  expect(shared.defines).toBe(`{{- define "x.ruleVariables" }}\n${item('a')}\n${item('b')}\n{{- end }}\n`
    + `{{- define "x.variables1" }}\n${item('r1')}\n${item('r2')}\n{{- end }}\n`);
  expect(shared.template).toContain(`  variables:\n{{- include "x.ruleVariables" . }}\n${item('w')}\n`);
  expect(shared.template.match(/include "x.variables1"/g)).toHaveLength(2);
  expect(shared.template).not.toContain('// r1');
  expect(expand(shared.template, shared.defines)).toBe(template);
});

test('a template whose policies share nothing is left as it is', () => {
  const template = [policy('One', ['a']), policy('Other', ['b'])].join('\n');
  expect(shareVariables(template, 'x.')).toEqual({ template, defines: '' });
});
