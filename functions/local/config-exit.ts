import { ConfigError } from '../core/config-error.ts';

/**
 * A configuration mistake ends start-up with its one line on stderr and exit code 1: the stack of a
 * ZodError tells the person who set the variable nothing. Any other failure keeps its stack.
 */
export function exitOnConfigError<T>(start: () => T): T {
  const fail = (err: unknown): never => {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`tollgate: ${err.message}`);
    process.exit(1);
  };
  try {
    const result = start();
    return (result instanceof Promise ? result.catch(fail) : result) as T;
  } catch (err) {
    return fail(err);
  }
}
