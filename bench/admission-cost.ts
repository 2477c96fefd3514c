/**
 * The CEL cost of the admission policies for the benchmark's pods, as the API server counts it
 * (k8s.io/apiserver's evaluators, run by test/support/go/kube/cost.go): per pod kind, each policy's
 * match conditions, its call (the mutation, or the validations, with the variables they read) and
 * its most costly variable, against the API server's limits (1,000,000 per expression, 10,000,000
 * per call, 2,500,000 for one policy's match conditions). The API server does not expose these.
 *
 * Usage (also part of `npm run bench -- --only admission`):
 *   ts-node --project bench/tsconfig.json bench/admission-cost.ts [BEFORE_LIB_DIR] [--iterations N]
 * With --iterations, also the time of one evaluation (match conditions and call) by the evaluators
 * alone, averaged over N (the fastest loop for work on the policy's CEL; no API server).
 */
import { noopPolicyObjects, synthBeforePolicy } from './admission-deliveries';
import { PodKind, podOf } from './admission-pods';
import { NamespaceSelection } from '../src';
import { synthAdmissionPolicy } from '../test/support/admission-policy';
import { goProgram, runGoProgram } from '../test/support/go-program';

interface PolicyCost {
  readonly policy: string;
  readonly match: number;
  readonly matched: boolean;
  readonly call: number;
  readonly variables?: Record<string, number>;
  readonly nanos?: number;
  readonly error?: string;
}
interface CostAnswer {
  readonly limits: { perExpression: number; perCall: number; matchConditions: number };
  readonly pods: Array<{ name: string; policies: PolicyCost[] }>;
}

/** One policy's cost for one pod kind. */
export interface CostRow {
  readonly set: string;
  readonly kind: PodKind;
  readonly policy: string;
  readonly match: number;
  readonly matched: boolean;
  readonly call: number;
  /** The most costly variable, and its own cost. */
  readonly topVariable?: string;
  readonly topVariableCost?: number;
  /** Microseconds for one evaluation, with `iterations`. */
  readonly micros?: number;
  readonly error?: string;
}

export interface CostFigures {
  readonly limits: CostAnswer['limits'];
  readonly rows: readonly CostRow[];
}

const KINDS: readonly PodKind[] = ['sized', 'construct', 'opted-out', 'no-limit', 'windows'];

/** The costs of ours, the no-op's and (with `beforeLib`) the other build's policies. */
export function policyCosts(beforeLib?: string, iterations = 0): CostFigures {
  const props = { name: 'bench', namespaceSelection: NamespaceSelection.OPT_IN };
  const sets: Array<[string, any[]]> = [
    ['policy', synthAdmissionPolicy(props)],
    ['noop-policy', noopPolicyObjects(synthAdmissionPolicy(props))],
    ...(beforeLib ? [['policy-before', synthBeforePolicy(beforeLib, props)] as [string, any[]]] : []),
  ];
  const binary = goProgram('kube');
  let limits: CostAnswer['limits'] | undefined;
  const rows: CostRow[] = [];
  for (const [set, objects] of sets) {
    const pods = KINDS.map(kind => ({ name: kind, object: { ...podOf(kind), metadata: { ...podOf(kind).metadata, name: `bench-${kind}` } } }));
    const answer = runGoProgram<{ cost: CostAnswer }>(binary, {
      cost: {
        compatibilityVersion: '1.35',
        namespace: 'bench-policy',
        mutating: objects.filter(o => o.kind === 'MutatingAdmissionPolicy' && matchesCreation(o)),
        validating: objects.filter(o => o.kind === 'ValidatingAdmissionPolicy' && matchesCreation(o)),
        pods,
        perVariable: true,
        iterations,
      },
    }).cost;
    limits = answer.limits;
    for (const pod of answer.pods) {
      for (const p of pod.policies) {
        const top = Object.entries(p.variables ?? {}).sort((a, b) => b[1] - a[1])[0];
        rows.push({
          set,
          kind: pod.name as PodKind,
          policy: p.policy,
          match: p.match,
          matched: p.matched,
          call: p.call,
          topVariable: top?.[0],
          topVariableCost: top?.[1],
          micros: p.nanos === undefined ? undefined : p.nanos / 1000,
          error: p.error,
        });
      }
    }
  }
  return { limits: limits!, rows };
}

/** Whether a policy matches a pod's creation (those of a resize match `pods/resize` only: a creation never reaches them). */
function matchesCreation(policy: any): boolean {
  return (policy.spec.matchConstraints?.resourceRules ?? []).some((r: any) => r.operations.includes('CREATE') && r.resources.includes('pods'));
}

/** The report's table. */
export function costReport(figures: CostFigures, table: (headers: string[], rows: string[][]) => string): string {
  const { limits } = figures;
  return [
    `CEL cost as the API server counts it (limits: ${limits.perExpression} per expression, ${limits.perCall} per call, ${limits.matchConditions} for a policy's match conditions):`,
    '',
    table(
      ['policies', 'pod', 'policy', 'match conditions', 'matched', 'call (with its variables)', 'costliest variable (had it been read)'],
      figures.rows.map(r => [r.set, r.kind, r.policy, String(r.match), r.matched ? 'yes' : 'no', r.matched ? String(r.call) : '-',
        r.matched && r.topVariable ? `${r.topVariable} ${r.topVariableCost}` : '-']),
    ),
  ].join('\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--iterations');
  const iterations = at >= 0 ? Number(args.splice(at, 2)[1]) : 0;
  const figures = policyCosts(args[0], iterations);
  const table = (headers: string[], rows: string[][]) => [headers, headers.map(() => '---'), ...rows].map(r => `| ${r.join(' | ')} |`).join('\n');
  process.stdout.write(`${costReport(figures, table)}\n`);
  if (iterations > 0) {
    process.stdout.write(`\nµs per evaluation (match conditions and call), mean of ${iterations}:\n\n`);
    process.stdout.write(`${table(['policies', 'pod', 'policy', 'µs'], figures.rows.map(r => [r.set, r.kind, r.policy, r.micros?.toFixed(1) ?? '-']))}\n`);
  }
  const failed = figures.rows.filter(r => r.error);
  if (failed.length > 0) process.stdout.write(`errors: ${failed.map(r => `${r.set} ${r.kind} ${r.policy}: ${r.error}`).join('; ')}\n`);
}
