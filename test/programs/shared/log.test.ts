/**
 * The programs' JSON log lines: the shape collectors and the test suites read (time, level by name,
 * msg, fields), the level threshold, and fields JSON cannot carry as they are.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { createLogger } from '../../../src/programs/shared/log';

function collect(level: Parameters<typeof createLogger>[0]): { log: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger(level, line => lines.push(line)), lines };
}

test('one JSON object a line: an ISO time, the level by name, the message, the fields', () => {
  const { log, lines } = collect('info');
  log.info('listening', { port: 8443, tlsMode: 'files' });
  expect(lines).toHaveLength(1);
  expect(lines[0]).not.toContain('\n');
  const entry = JSON.parse(lines[0]);
  expect(entry).toEqual({ time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), level: 'info', msg: 'listening', port: 8443, tlsMode: 'files' });
});

test('levels below the threshold are not written', () => {
  const { log, lines } = collect('warn');
  log.debug('a');
  log.info('b');
  log.warn('c');
  log.error('d');
  expect(lines.map(line => JSON.parse(line).level)).toEqual(['warn', 'error']);
});

test('an Error as its name and message, a BigInt as its text, undefined left out, a circular field cut', () => {
  const { log, lines } = collect('debug');
  const circular: any = { x: 1 };
  circular.self = circular;
  log.error('cannot start', { error: new TypeError('boom'), bytes: 9007199254740995n, missing: undefined, circular });
  expect(JSON.parse(lines[0])).toMatchObject({
    error: { name: 'TypeError', message: 'boom' },
    bytes: '9007199254740995',
    circular: { x: 1, self: '[Circular]' },
  });
  expect(JSON.parse(lines[0])).not.toHaveProperty('missing');
});

test('by default the lines go to stdout, all of them, even when the process exits at once', () => {
  const script = `const { createLogger } = require(${JSON.stringify(path.join(__dirname, '../../../src/programs/shared/log'))});
    const log = createLogger('info'); for (let i = 0; i < 2000; i++) log.info('line', { i }); process.exit(0);`;
  const result = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const lines = result.stdout.trim().split('\n').map(line => JSON.parse(line));
  expect(lines).toHaveLength(2000);
  expect(lines[1999]).toMatchObject({ msg: 'line', i: 1999 });
});
