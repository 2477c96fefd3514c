/**
 * The admission policies carry the rule's CEL variables again and again: every policy of a pod's
 * creation the same list, every policy of a resize that list and the resize's own (about 25 KB and
 * 19 KB as YAML). The chart writes each shared run of variables once, as a named template, and each
 * policy includes it: `helm template` gives the same objects, from a template a third the size.
 */

/** A policy's `spec.variables` as the generator writes it: the key, then its items, each `  - ...` with deeper lines. */
const VARIABLES_BLOCK = /^ {2}variables:\n((?: {2}- .*\n| {4}.*\n)+)/gm;

/** A named template of shared variables. */
interface SharedRun {
  readonly name: string;
  readonly items: readonly string[];
}

/**
 * The template with each run of variables that two policies or more share written once.
 * @param template the merged objects (scripts/helm-chart.ts mergeVariants)
 * @param prefix the names' prefix (`cdk8s-shm.`)
 * @returns the template, and the definitions it includes (to precede it)
 */
export function shareVariables(template: string, prefix: string): { template: string; defines: string } {
  const blocks = [...template.matchAll(VARIABLES_BLOCK)].map(m => itemsOf(m[1]));
  const runs = sharedRuns(blocks, prefix);
  if (runs.length === 0) return { template, defines: '' };
  const shared = template.replace(VARIABLES_BLOCK, (_m, body: string) => {
    let items = itemsOf(body);
    const lines = ['  variables:'];
    for (const run of runs) {
      if (startsWith(items, run.items)) {
        lines.push(`{{- include "${run.name}" . }}`);
        items = items.slice(run.items.length);
      }
    }
    return `${[...lines, ...items].join('\n')}\n`;
  });
  const defines = runs.map(run => `{{- define "${run.name}" }}\n${run.items.join('\n')}\n{{- end }}\n`).join('');
  return { template: shared, defines };
}

/** The items of a block, each with its lines (without the last newline). */
function itemsOf(body: string): string[] {
  return body.replace(/\n$/, '').split(/\n(?= {2}- )/);
}

function startsWith(items: readonly string[], run: readonly string[]): boolean {
  return run.length <= items.length && run.every((item, i) => items[i] === item);
}

/**
 * The runs to share, in the order a policy includes them: the items every block begins with, then
 * each rest that two blocks or more have in common.
 */
function sharedRuns(blocks: readonly string[][], prefix: string): SharedRun[] {
  if (blocks.length < 2) return [];
  let common = 0;
  while (blocks.every(b => common < b.length && b[common] === blocks[0][common])) common++;
  const runs: SharedRun[] = common > 0 ? [{ name: `${prefix}ruleVariables`, items: blocks[0].slice(0, common) }] : [];
  const rests = new Map<string, string[]>();
  const counts = new Map<string, number>();
  for (const block of blocks) {
    const rest = block.slice(common);
    if (rest.length === 0) continue;
    const key = rest.join('\n');
    rests.set(key, rest);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  [...rests].filter(([key]) => counts.get(key)! > 1)
    .forEach(([, items], i) => runs.push({ name: `${prefix}variables${i + 1}`, items }));
  return runs;
}
