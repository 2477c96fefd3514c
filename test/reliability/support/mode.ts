/**
 * Bounded or full: `npm test` runs every reliability suite in its bounded mode (fixed seeds, a few
 * hundred inputs, well under a minute together); `npm run fuzz` sets CDK8S_SHM_FUZZ=full and runs
 * the same suites with thousands of inputs and fresh seeds. A failing run prints its seed; pass it
 * back with CDK8S_SHM_FUZZ_SEED to replay it.
 */
/* eslint-disable no-bitwise -- the seed hash and the PRNG below are bit arithmetic */
import { mkdirSync, writeFileSync } from 'fs';
import * as path from 'path';

export const FULL = process.env.CDK8S_SHM_FUZZ === 'full';

/** `bounded` in `npm test`, `full` in `npm run fuzz`. */
export function scale(bounded: number, full: number): number {
  return FULL ? full : bounded;
}

/**
 * The seed of one suite: fixed per suite when bounded (a CI failure replays locally), random when
 * full (every full run explores new inputs), or CDK8S_SHM_FUZZ_SEED when given.
 */
export function seedFor(suite: string): number {
  const given = process.env.CDK8S_SHM_FUZZ_SEED;
  if (given !== undefined && given !== '') return Number(given) | 0;
  if (FULL) return (Math.random() * 2 ** 31) | 0;
  let hash = 0;
  for (const char of suite) hash = (Math.imul(hash, 31) + char.charCodeAt(0)) | 0;
  return hash;
}

/** A tiny deterministic PRNG (mulberry32), for the fuzzers that do not go through fast-check. */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  bytes(n: number): Buffer {
    const buffer = Buffer.alloc(n);
    for (let i = 0; i < n; i++) buffer[i] = this.int(256);
    return buffer;
  }
}

/**
 * Records what a suite tried, for the closing note of a fuzz run: written to
 * test-reports/reliability/<suite>.json and printed once.
 */
export function report(suite: string, counts: Record<string, unknown>): void {
  const dir = path.join(__dirname, '..', '..', '..', 'test-reports', 'reliability');
  mkdirSync(dir, { recursive: true });
  const entry = { suite, mode: FULL ? 'full' : 'bounded', ...counts, time: new Date().toISOString() };
  writeFileSync(path.join(dir, `${suite}.json`), JSON.stringify(entry, null, 2) + '\n');
  process.stdout.write(`[reliability] ${JSON.stringify(entry)}\n`);
}
