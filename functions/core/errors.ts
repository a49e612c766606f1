/**
 * Domain errors. Each sets `name`, keeps its `cause`, and says which HTTP status and which
 * protocol error type it becomes, so the protocol modules can shape it for the client.
 */
import { formatUsd } from './money.ts';

export type ErrorKind =
  | 'invalid_request'
  | 'authentication'
  | 'permission'
  | 'not_found'
  | 'budget_exceeded'
  | 'rate_limited'
  | 'too_large'
  | 'headers_too_large'
  | 'upstream'
  | 'upstream_timeout'
  | 'overloaded'
  | 'internal';

const STATUS: Record<ErrorKind, number> = {
  invalid_request: 400,
  authentication: 401,
  budget_exceeded: 402,
  permission: 403,
  not_found: 404,
  too_large: 413,
  headers_too_large: 431,
  rate_limited: 429,
  internal: 500,
  upstream: 502,
  upstream_timeout: 504,
  overloaded: 503,
};

export class GatewayError extends Error {
  override name = 'GatewayError';
  readonly status: number;
  constructor(
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options);
    this.status = STATUS[kind];
    this.headers = options?.headers ?? {};
  }
  readonly headers: Record<string, string>;
}

/** A conditional write found the item already there. Thrown by adapters, never an SDK error. */
export class ConflictError extends Error {
  override name = 'ConflictError';
}

/** A conditional update found no item to update. Thrown by adapters, never an SDK error. */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

export class BudgetExceededError extends GatewayError {
  override name = 'BudgetExceededError';
  constructor(
    readonly scope: string,
    readonly scope_id: string,
    readonly limit_micros: number,
    readonly committed_micros: number,
    readonly resets_at: string | null,
    options?: { cause?: unknown; needed_micros?: number },
  ) {
    super(
      'budget_exceeded',
      budgetMessage(scope, scope_id, limit_micros, committed_micros, resets_at, options?.needed_micros),
      options,
    );
    this.needed_micros = options?.needed_micros;
  }

  /** The least this request could have been admitted for (its prompt and the fewest output tokens). */
  readonly needed_micros: number | undefined;

  get remaining_micros(): number {
    return Math.max(0, this.limit_micros - this.committed_micros);
  }
}

function budgetMessage(
  scope: string,
  id: string,
  limit: number,
  committed: number,
  resetsAt: string | null,
  needed?: number,
): string {
  const reset = resetsAt ? `; it resets at ${resetsAt}` : '';
  const need =
    needed === undefined
      ? ''
      : `; this request needs ${formatUsd(needed)} held for it (its prompt at worst and the fewest output tokens)`;
  return (
    `Budget exceeded for ${scope} '${id}': ${formatUsd(committed)} of ${formatUsd(limit)} used or reserved, ` +
    `${formatUsd(Math.max(0, limit - committed))} remaining${need}${reset}.`
  );
}
