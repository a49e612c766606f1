import { BudgetExceededError } from '../errors.ts';
import type { BudgetCounter, BudgetLedger, BudgetMode, Claim, Lease, Reservation } from '../ports.ts';
import type { ResolvedPrice } from '../pricing/catalog.ts';
import { affordableOutputTokens, maxCostMicros } from '../pricing/cost.ts';
import { periodFor } from './periods.ts';

/** Below this many output tokens a capped request is not worth sending: deny it instead. */
export const MIN_OUTPUT_TOKENS = 1_024;

/**
 * Upper bound on prompt tokens from the request size. Real prompts run 3–4 bytes per token in JSON;
 * two bytes per token over-reserves, which settlement gives back, rather than under-reserving.
 */
export function estimatePromptTokensForReservation(bodyBytes: number): number {
  return Math.ceil(bodyBytes / 2);
}

export interface ReserveResult {
  reservation: Reservation;
  /** Set when the budget could not pay for the requested output: the lowered output limit. */
  outputCap: number | undefined;
}

export interface ReserveRequest {
  promptTokens: number;
  outputTokens: number;
  price: ResolvedPrice;
  /** The output a `fair` budget expects a request to use, whatever its `max_tokens`. */
  fairOutputTokens: number;
}

/**
 * Reserves on every counter: a `strict` counter the most the request can cost, a `fair` one the cost
 * with at most `fairOutputTokens` of output.
 *
 * Strict guarantee: settled spend never passes the limit. When the worst case does not fit but the
 * prompt and a useful answer do, the output is capped to what the tightest strict budget has left.
 *
 * Fair guarantee: a request is admitted only while the reservations and spend, at expected cost, fit
 * the limit, and its prompt estimate is an upper bound; so spend passes the limit by at most
 * Σ (max output − fairOutputTokens) × output price over the requests in flight when the limit is
 * reached — at most `max_parallel_requests` of them where that is set.
 */
export async function reserveBudget(
  ledger: BudgetLedger,
  counters: BudgetCounter[],
  request: ReserveRequest,
  lease: Lease,
): Promise<ReserveResult> {
  const { promptTokens, outputTokens, price } = request;
  const fairOutput = Math.min(outputTokens, request.fairOutputTokens);
  const claimsFor = (output: number): Claim[] => {
    const worst = maxCostMicros(promptTokens, output, price);
    const expected = maxCostMicros(promptTokens, Math.min(output, fairOutput), price);
    return counters.map((counter) => ({
      counter,
      amount_micros: counter.mode === 'fair' ? expected : worst,
    }));
  };
  try {
    return { reservation: await ledger.reserve(claimsFor(outputTokens), lease), outputCap: undefined };
  } catch (err) {
    if (!(err instanceof BudgetExceededError)) throw err;
    const strict = counters.filter((c) => c.mode === 'strict' && c.limit_micros !== null);
    if (strict.length === 0) throw err;
    const remaining = await tightestRemaining(ledger, strict);
    const outputCap = Math.min(outputTokens, affordableOutputTokens(remaining, promptTokens, price));
    if (outputCap < MIN_OUTPUT_TOKENS || outputCap >= outputTokens) throw err;
    return { reservation: await ledger.reserve(claimsFor(outputCap), lease), outputCap };
  }
}

/** What the most constrained of these limited counters has left. */
async function tightestRemaining(ledger: BudgetLedger, counters: BudgetCounter[]): Promise<number> {
  const left = await Promise.all(
    counters.map(async (c) => (c.limit_micros ?? 0) - (await ledger.read(c)).committed_micros),
  );
  return Math.max(0, Math.min(...left));
}

/** What a budget says about itself: the owner's scope, its limit and how it resets. */
export interface BudgetSpec {
  scope: BudgetCounter['scope'];
  scope_id: string;
  label: string;
  limit_micros: number | null;
  soft_limit_micros?: number | null;
  mode?: BudgetMode;
  /** LiteLLM-style duration, or null for a lifetime budget. */
  duration: string | null;
  /** Where fixed windows (`30d`, `1mo`) start counting: the owner's creation time. */
  anchor: string;
}

/**
 * The counter for the budget period containing `now`; a new period is simply a new counter. Calendar
 * periods follow `timeZone`.
 */
export function budgetCounter(spec: BudgetSpec, now: Date, timeZone = 'UTC'): BudgetCounter {
  const period = spec.duration ? periodFor(spec.duration, new Date(spec.anchor), now, timeZone) : undefined;
  return {
    scope: spec.scope,
    scope_id: spec.scope_id,
    label: spec.label,
    period: period?.id ?? 'lifetime',
    resets_at: period?.end.toISOString() ?? null,
    limit_micros: spec.limit_micros,
    mode: spec.mode ?? 'strict',
    soft_limit_micros: spec.soft_limit_micros ?? null,
  };
}
