/**
 * A spent budget, told to Codex so that it stops at once. Codex retries a 402 as a transient failure
 * (0.169: six attempts over ~6.5 s, then "unexpected status 402"); a 429 whose error type is
 * `usage_limit_reached` is final for it, and it tells its user when to try again from `resets_at`
 * (Unix seconds): "You've hit your usage limit. Try again at 9:54 AM." Tried with the real CLI.
 */
import type { BudgetExceededError } from '../errors.ts';

export function codexBudgetRefusal(error: BudgetExceededError, requestId: string): Response {
  const resetsAt = error.resets_at ? Math.floor(Date.parse(error.resets_at) / 1000) : undefined;
  const body = {
    error: {
      type: 'usage_limit_reached',
      code: 'budget_exceeded',
      message: error.message,
      ...(resetsAt === undefined ? {} : { resets_at: resetsAt }),
    },
  };
  return new Response(JSON.stringify(body), {
    status: 429,
    headers: { 'content-type': 'application/json', 'x-tollgate-request-id': requestId },
  });
}
