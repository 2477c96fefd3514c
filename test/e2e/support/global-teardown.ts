/**
 * jest globalTeardown of the e2e suites: prints the summary (per area: tests, checks, objects
 * applied, pods admitted and compared, pods run on the real node), then what the real node's
 * containers printed (transcript.txt), and stops the node and the control plane, also after
 * failures.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ControlPlaneState } from './control-plane';
import { SummaryLine, SummaryRow, summarize } from './summary';

function table(rows: readonly SummaryRow[]): string {
  const total = rows.reduce((sum, row) => ({
    area: 'total', tests: sum.tests + row.tests, checks: sum.checks + row.checks, objects: sum.objects + row.objects, pods: sum.pods + row.pods, ran: sum.ran + row.ran,
  }), { area: 'total', tests: 0, checks: 0, objects: 0, pods: 0, ran: 0 });
  const cells = [['AREA', 'TESTS', 'CHECKS', 'OBJECTS APPLIED', 'PODS ADMITTED AND COMPARED', 'PODS RUN'],
    ...[...rows, total].map(r => [r.area, String(r.tests), String(r.checks), String(r.objects), String(r.pods), String(r.ran)])];
  const widths = cells[0].map((_, i) => Math.max(...cells.map(r => r[i].length)));
  return cells.map(r => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')).join('\n');
}

export default async function globalTeardown(): Promise<void> {
  const handle = (globalThis as any).__cdk8sShmE2e as { stop: () => Promise<void>; file: string } | undefined;
  if (!handle) return;
  try {
    const state: ControlPlaneState & { startSeconds: number } = JSON.parse(fs.readFileSync(handle.file, 'utf8'));
    const lines: SummaryLine[] = fs.existsSync(state.summaryFile)
      ? fs.readFileSync(state.summaryFile, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line))
      : [];
    const node = state.node ? `, node ${state.node.name} Ready in ${state.node.startSeconds.toFixed(1)} s` : '';
    process.stdout.write(`\ncdk8s-shm e2e against Kubernetes ${state.version} (control plane up in ${state.startSeconds.toFixed(1)} s${node})\n${table(summarize(lines))}\n`);
    const transcript = path.join(state.dir, 'transcript.txt');
    if (fs.existsSync(transcript)) {
      process.stdout.write(`\nWhat the containers on the real node printed:\n${fs.readFileSync(transcript, 'utf8').replace(/^/gm, '  ')}`);
    }
  } finally {
    await handle.stop();
  }
}
