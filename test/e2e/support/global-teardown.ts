/**
 * jest globalTeardown of the e2e suites: prints the summary (per area: tests, checks, objects
 * applied, pods admitted and compared) and stops the control plane, also after failures.
 */
import * as fs from 'fs';
import { SummaryLine, summarize } from './summary';

export default async function globalTeardown(): Promise<void> {
  const handle = (globalThis as any).__cdk8sShmE2e as { stop: () => Promise<void>; file: string } | undefined;
  if (!handle) return;
  try {
    const state = JSON.parse(fs.readFileSync(handle.file, 'utf8'));
    const lines: SummaryLine[] = fs.existsSync(state.summaryFile)
      ? fs.readFileSync(state.summaryFile, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line))
      : [];
    const rows = summarize(lines);
    const total = rows.reduce((sum, row) => ({
      area: 'total', tests: sum.tests + row.tests, checks: sum.checks + row.checks, objects: sum.objects + row.objects, pods: sum.pods + row.pods,
    }), { area: 'total', tests: 0, checks: 0, objects: 0, pods: 0 });
    const table = [['AREA', 'TESTS', 'CHECKS', 'OBJECTS APPLIED', 'PODS ADMITTED AND COMPARED'],
      ...[...rows, total].map(r => [r.area, String(r.tests), String(r.checks), String(r.objects), String(r.pods)])];
    const widths = table[0].map((_, i) => Math.max(...table.map(r => r[i].length)));
    const text = table.map(r => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')).join('\n');
    process.stdout.write(`\ncdk8s-shm e2e against Kubernetes ${state.version} (control plane up in ${state.startSeconds.toFixed(1)} s)\n${text}\n`);
  } finally {
    await handle.stop();
  }
}
