import type { LogFields, Logger } from '../core/ports.ts';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
type Level = keyof typeof LEVELS;

/**
 * One JSON line per event on stdout (debug, info) or stderr (warn, error): what `npm start` prints and a
 * terminal or `jq` reads well. On Lambda the functions log through adapters/aws/lambda-logger.ts.
 */
export function createLogger(
  min: Level = 'info',
  write: (line: string, level: Level) => void = defaultWrite,
): Logger {
  const at =
    (level: Level) =>
    (msg: string, fields: LogFields = {}) => {
      if (LEVELS[level] < LEVELS[min]) return;
      write(JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields }), level);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function defaultWrite(line: string, level: Level): void {
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
