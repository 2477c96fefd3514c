/**
 * What reading a request body costs the webhook: JSON.parse alone (the floor's whole work), the
 * webhook's shape scan and parse on the common path, and the slow path taken by a body with a
 * number a double would round (the first memory quantity written as a 16-digit JSON number). In process,
 * interleaved, medians of repeated timed batches; microseconds per body.
 *
 * Usage: ts-node --project bench/tsconfig.json bench/read-body.ts [BEFORE_BODY_SHAPE_TS]
 * where BEFORE_BODY_SHAPE_TS is an older src/programs/webhook/body-shape.ts exporting
 * jsonShapeProblem (its scan, then JSON.parse, is "before").
 */
import * as path from 'path';
import { performance } from 'perf_hooks';
import { median } from './load';
import { Payload, largePayload, typicalPayload } from './payloads';
import { jsonShape } from '../src/programs/webhook/body-shape';
import { parseJsonBody } from '../src/programs/webhook/json-body';

type Reader = (body: Buffer) => unknown;

function microsPerBody(read: Reader, body: Buffer, batch: number): number {
  const start = performance.now();
  for (let i = 0; i < batch; i++) read(body);
  return ((performance.now() - start) * 1000) / batch;
}

function main(): void {
  const beforeFile = process.argv[2];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const before: { jsonShapeProblem(body: Buffer): string | undefined } | undefined = beforeFile ? require(path.resolve(beforeFile)) : undefined;
  const readers: Record<string, Reader> = {
    'JSON.parse': body => JSON.parse(body.toString('utf8')),
    ...(before ? { 'before: scan + JSON.parse': (body: Buffer) => before.jsonShapeProblem(body) ?? JSON.parse(body.toString('utf8')) } : {}),
    'scan + parseJsonBody': body => parseJsonBody(body, jsonShape(body)),
  };
  const slow = (payload: Payload): Payload => {
    const body = payload.body.replace(/"memory":"[^"]*"/, '"memory":1073741824000000');
    return { ...payload, name: `${payload.name}, one 16-digit number`, body };
  };
  for (const payload of [typicalPayload(), slow(typicalPayload()), largePayload(), slow(largePayload())]) {
    const body = Buffer.from(payload.body);
    const batch = Math.max(20, Math.round(2_000_000 / body.length));
    const runs: Record<string, number[]> = Object.fromEntries(Object.keys(readers).map(name => [name, []]));
    for (let round = 0; round < 25; round++) {
      const names = round % 2 === 0 ? Object.keys(readers) : Object.keys(readers).reverse();
      for (const name of names) runs[name].push(microsPerBody(readers[name], body, batch));
    }
    const cells = Object.keys(readers).map(name => `${name} ${median(runs[name].slice(5)).toFixed(1)} µs`);
    process.stdout.write(`${payload.name} (${(body.length / 1024).toFixed(1)} KiB): ${cells.join('; ')}\n`);
  }
}

main();
