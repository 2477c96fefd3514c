/**
 * JSON lines on stdout, one object per event: what log collectors in a cluster parse without
 * configuration. pino writes them (bundled), shaped as the programs have always written them:
 * `time` (ISO 8601), `level` by name, `msg`, then the fields, an Error as its name and message, a
 * BigInt as its decimal text.
 */
import pino from 'pino';
import { LogLevel } from '../../contracts/webhook-flags';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/**
 * A logger that writes levels from `level` up.
 * @param write receives each line without its newline (tests collect them); by default lines go to
 *   stdout, written synchronously, so that none is lost when the process exits right after
 */
export function createLogger(level: LogLevel, write?: (line: string) => void): Logger {
  const destination = write ? { write: (line: string) => write(line.endsWith('\n') ? line.slice(0, -1) : line) } : pino.destination({ dest: 1, sync: true });
  const log = pino({
    level,
    // No pid and hostname: a pod's logs are labelled with both already.
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: label => ({ level: label }), log: plainFields },
  }, destination);
  return {
    debug: (message, fields) => log.debug(fields ?? {}, message),
    info: (message, fields) => log.info(fields ?? {}, message),
    warn: (message, fields) => log.warn(fields ?? {}, message),
    error: (message, fields) => log.error(fields ?? {}, message),
  };
}

/** Fields as JSON can carry them: undefined left out, an Error as its name and message, a BigInt as its text. */
function plainFields(fields: LogFields): LogFields {
  const plain: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    plain[key] = value instanceof Error ? { message: value.message, name: value.name } : typeof value === 'bigint' ? value.toString() : value;
  }
  return plain;
}
