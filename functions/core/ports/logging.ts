/**
 * Structured logging (adapters/logger.ts locally, adapters/aws/lambda-logger.ts on Lambda).
 */

export type LogFields = Record<string, unknown>;

/** Structured logging. Never pass request or response bodies, keys or credentials. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}
