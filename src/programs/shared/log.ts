/**
 * JSON lines on stdout, one object per event: what log collectors in a cluster parse without
 * configuration. No library, because the server ships as one small file.
 */
import { LogLevel } from '../../contracts/webhook-flags';

const SEVERITY: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/**
 * A logger that writes levels from `level` up.
 * @param write receives each line without its newline (tests collect them; the server writes stdout)
 */
export function createLogger(level: LogLevel, write: (line: string) => void = line => process.stdout.write(`${line}\n`)): Logger {
  const emit = (lineLevel: LogLevel, message: string, fields: LogFields = {}) => {
    if (SEVERITY[lineLevel] < SEVERITY[level]) return;
    const entry: LogFields = { time: new Date().toISOString(), level: lineLevel, msg: message };
    for (const [key, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      entry[key] = value instanceof Error ? { message: value.message, name: value.name } : typeof value === 'bigint' ? value.toString() : value;
    }
    write(JSON.stringify(entry));
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
  };
}
