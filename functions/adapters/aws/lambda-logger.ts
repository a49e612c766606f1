/**
 * The Logger port on Lambda, through Powertools Logger: one JSON object per line written straight to
 * stdout, so CloudWatch Logs (the functions use Lambda's JSON log format) indexes its fields rather
 * than a string inside `message`; `warn` is WARN, not ERROR. With `injectLambdaContext` (middy) every
 * line carries the invocation's `function_request_id`, cold start and function name; the proxy's
 * lines about one request carry its `request_id` too.
 * https://docs.powertools.aws.dev/lambda/typescript/latest/core/logger/
 */
import { Logger as Powertools } from '@aws-lambda-powertools/logger';
import type { LogFields, Logger } from '../../core/ports.ts';

/**
 * Field names that must never reach a log line with a value, whatever a caller passes: bodies, keys,
 * credentials. The port already forbids them; this is the backstop.
 */
const SECRET_FIELD = /^(body|authorization|x-api-key|api_?key|secret|password|master_?key|token|key)$/i;

export function redact(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [name, value] of Object.entries(fields))
    out[name] = SECRET_FIELD.test(name) ? '[redacted]' : value;
  return out;
}

export function createLambdaLogger(options: {
  serviceName: string;
  level: 'debug' | 'info' | 'warn' | 'error';
}): { log: Logger; powertools: Powertools } {
  const powertools = new Powertools({
    serviceName: options.serviceName,
    logLevel: options.level.toUpperCase() as 'DEBUG' | 'INFO' | 'WARN' | 'ERROR',
  });
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (msg: string, fields: LogFields = {}) =>
      powertools[level](msg, redact(fields));
  return {
    log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
    powertools,
  };
}
