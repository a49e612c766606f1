import { formatUsd } from '../core/money.ts';
import type { LogFields, Logger } from '../core/ports/logging.ts';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
type Level = keyof typeof LEVELS;

/**
 * The local mode's logger, on stdout (debug, info) or stderr (warn, error). `json`: one JSON object
 * per line, for a file, a collector or `jq`. `text`: one line a person reads in a terminal —
 * `12:00:01 info  request  200 success claude-sonnet-4-5 $0.0123 842 ms key=alice-cc` — with money
 * fields (`*_micros`) in dollars. On Lambda the functions log through adapters/aws/lambda-logger.ts.
 */
export function createLogger(
  min: Level = 'info',
  options: { format?: 'text' | 'json'; write?: (line: string, level: Level) => void } = {},
): Logger {
  const format = options.format === 'text' ? textLine : jsonLine;
  const write = options.write ?? defaultWrite;
  const at =
    (level: Level) =>
    (msg: string, fields: LogFields = {}) => {
      if (LEVELS[level] < LEVELS[min]) return;
      write(format(level, new Date(), msg, fields), level);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function jsonLine(level: Level, time: Date, msg: string, fields: LogFields): string {
  return JSON.stringify({ level, time: time.toISOString(), msg, ...fields });
}

/** `HH:MM:SS level msg` (UTC), then the fields: a request's as a sentence, any other as `key=value`. */
function textLine(level: Level, time: Date, msg: string, fields: LogFields): string {
  const head = `${time.toISOString().slice(11, 19)} ${level.padEnd(5)} ${msg}`;
  const { status, outcome, model, cost_micros, ms, ...rest } = fields;
  const request =
    msg === 'request'
      ? [status, outcome, model, typeof cost_micros === 'number' ? formatUsd(cost_micros) : undefined]
          .concat(typeof ms === 'number' ? `${ms} ms` : undefined)
          .filter((part) => part !== undefined && part !== null)
      : [];
  const others = Object.entries(msg === 'request' ? rest : fields).map(([key, value]) => {
    if (key.endsWith('_micros') && typeof value === 'number')
      return `${key.slice(0, -7)}=${formatUsd(value)}`;
    return `${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`;
  });
  return [head, ...request, ...others].join(' ');
}

/**
 * Debug and info lines gathered over one turn of the event loop and written to stdout together (a
 * busy gateway logs a line per request: one write(2) per line cost it about 7 % of its CPU); warnings
 * and errors go at once, after what was gathered, so the order holds. What is gathered is written on exit.
 */
let gathered: string[] = [];
function writeGathered(): void {
  if (gathered.length === 0) return;
  const text = `${gathered.join('\n')}\n`;
  gathered = [];
  process.stdout.write(text);
}
let flushesOnExit = false;

function defaultWrite(line: string, level: Level): void {
  if (level === 'error' || level === 'warn') {
    writeGathered();
    process.stderr.write(`${line}\n`);
    return;
  }
  if (!flushesOnExit) {
    process.on('exit', writeGathered);
    flushesOnExit = true;
  }
  if (gathered.length === 0) setImmediate(writeGathered);
  gathered.push(line);
}

/** `auto`: readable lines in a terminal, JSON lines anywhere else (a file, a pipe, a collector). */
export function logFormat(
  setting: 'auto' | 'text' | 'json',
  terminal = process.stdout.isTTY === true,
): 'text' | 'json' {
  if (setting !== 'auto') return setting;
  return terminal ? 'text' : 'json';
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
