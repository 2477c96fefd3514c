/**
 * What `npm run e2e` prints at the end: per area, the tests run, the checks (assertions) they made,
 * the objects applied and the pods admitted and compared. Test files name their area with
 * `area()`; helpers count with `count()`; jest's afterEach (this file is a setupFilesAfterEnv
 * module) adds each test's assertions. Everything goes to one JSON-lines file of the run, which
 * global-teardown.ts prints as a table.
 */
import * as fs from 'fs';
import { controlPlane } from './control-plane';

export interface SummaryLine {
  readonly area: string;
  readonly test?: string;
  readonly checks?: number;
  readonly objects?: number;
  readonly pods?: number;
  /** Pods that ran on the real node (their containers started, and what they printed was read). */
  readonly ran?: number;
}

let current = 'unnamed';

/** Names the area of this test file (e.g. `'1 strict server-side apply'`). */
export function area(name: string): void {
  current = name;
}

/** Counts objects applied to, and pods admitted by and compared against, the API server, and pods run on the node. */
export function count(counts: { objects?: number; pods?: number; ran?: number }): void {
  write({ area: current, ...counts });
}

function write(line: SummaryLine): void {
  fs.appendFileSync(controlPlane().summaryFile, JSON.stringify(line) + '\n');
}

/** Adds up the lines of a run: one row per area, in the order of their names (they start with their number). */
export interface SummaryRow {
  readonly area: string;
  tests: number;
  checks: number;
  objects: number;
  pods: number;
  ran: number;
}

export function summarize(lines: readonly SummaryLine[]): SummaryRow[] {
  const rows = new Map<string, SummaryRow>();
  for (const line of lines) {
    const row = rows.get(line.area) ?? { area: line.area, tests: 0, checks: 0, objects: 0, pods: 0, ran: 0 };
    if (line.test !== undefined) row.tests++;
    row.checks += line.checks ?? 0;
    row.objects += line.objects ?? 0;
    row.pods += line.pods ?? 0;
    row.ran += line.ran ?? 0;
    rows.set(line.area, row);
  }
  return [...rows.values()].sort((a, b) => a.area.localeCompare(b.area, 'en', { numeric: true }));
}

// Registered only where jest runs this file as setupFilesAfterEnv.
if (typeof afterEach === 'function' && typeof expect !== 'undefined') {
  afterEach(() => {
    const state = expect.getState();
    write({ area: current, test: state.currentTestName ?? 'unnamed', checks: state.assertionCalls });
  });
}
