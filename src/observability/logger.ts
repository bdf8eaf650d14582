import { AsyncLocalStorage } from 'node:async_hooks';
import { ConfigError } from '../config.js';
import pino, { type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
export type LogFormat = 'json' | 'pretty';

/**
 * What a request is doing while it runs: every line logged on its behalf
 * (a run it creates, say) carries its request id, without passing a logger
 * down through GraphQL.
 */
const requestScope = new AsyncLocalStorage<{ requestId: string }>();

export function withRequestId<T>(requestId: string, fn: () => T): T {
  return requestScope.run({ requestId }, fn);
}

export function currentRequestId(): string | undefined {
  return requestScope.getStore()?.requestId;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLOURS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
const OMITTED = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service', 'err']);

/** One JSON line as one line for a person: `12:00:01.234 INFO  run SUCCEEDED runId=… ms=…`. */
export function formatPretty(line: string, colour: boolean): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line);
  } catch {
    return line;
  }
  const level = Number(record.level);
  const time = typeof record.time === 'number' ? new Date(record.time).toISOString().slice(11, 23) : '';
  const name = (LEVEL_NAMES[level] ?? String(record.level)).padEnd(5);
  const tag = colour ? `\x1b[${LEVEL_COLOURS[level] ?? '0'}m${name}\x1b[0m` : name;
  const fields = Object.entries(record)
    .filter(([key, value]) => !OMITTED.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  const err = record.err as { message?: string; stack?: string } | undefined;
  const tail = err ? `\n    ${(err.stack ?? err.message ?? '').split('\n').join('\n    ')}` : '';
  return `${time} ${tag} ${record.msg ?? ''}${fields.length ? ` ${fields.join(' ')}` : ''}${tail}\n`;
}

/** A destination that turns pino's JSON lines into `formatPretty` lines. */
function prettyStream(out: NodeJS.WritableStream & { isTTY?: boolean }): DestinationStream {
  const colour = Boolean(out.isTTY) && !process.env.NO_COLOR;
  return { write: (line: string) => void out.write(formatPretty(line, colour)) };
}

export interface LoggerOptions {
  level?: string;
  /** Default: pretty on a terminal, JSON lines otherwise. */
  format?: LogFormat;
  /** Where lines go (default stdout); tests pass a stream they read. */
  destination?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** The service's root logger: JSON lines (one object per line) with `service`, `time`, `level` and `requestId` when inside a request. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const out = options.destination ?? process.stdout;
  const format = options.format ?? (out.isTTY ? 'pretty' : 'json');
  const destination: DestinationStream = format === 'pretty'
    ? prettyStream(out)
    // Synchronous writes to stdout: a line is never lost when the process exits right after.
    : out === process.stdout ? pino.destination({ dest: 1, sync: true }) : { write: (line: string) => void out.write(line) };
  return pino({
    level: options.level ?? 'info',
    base: { service: 'stylegraph' },
    // `level: "info"` reads better than `30` for whoever greps the lines.
    formatters: { level: (label, number) => ({ level: format === 'pretty' ? number : label }) },
    mixin: () => {
      const requestId = currentRequestId();
      return requestId ? { requestId } : {};
    },
  }, destination);
}

let warnings: Logger | undefined;

/** Warnings and errors to stderr: for parts used without the service's logger (command-line tools, tests). */
export function stderrLogger(): Logger {
  warnings ??= createLogger({ level: 'warn', destination: process.stderr });
  return warnings;
}

/** A logger that writes nothing: what a service started without one (in tests) uses. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** STYLEGRAPH_LOG_LEVEL (default info) and STYLEGRAPH_LOG_FORMAT (json | pretty; default: pretty on a terminal). */
export function loadLoggerOptions(env: NodeJS.ProcessEnv = process.env): Pick<LoggerOptions, 'level' | 'format'> {
  const level = env.STYLEGRAPH_LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(level as LevelWithSilent)) {
    throw new ConfigError('STYLEGRAPH_LOG_LEVEL', `expected one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  }
  const format = env.STYLEGRAPH_LOG_FORMAT || undefined;
  if (format !== undefined && format !== 'json' && format !== 'pretty') {
    throw new ConfigError('STYLEGRAPH_LOG_FORMAT', `expected json or pretty, got "${format}"`);
  }
  return { level, format };
}
