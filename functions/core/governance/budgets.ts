import { BudgetExceededError } from '../errors.ts';
import type { BudgetCounter, BudgetLedger, Reservation } from '../ports.ts';
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

/**
 * Reserves the most the request can cost on every counter. When a budget cannot cover that but can
 * cover the prompt and a useful answer, reserves what is left and caps the output to fit — the spend
 * can then never pass the limit. Otherwise the BudgetExceededError (402) propagates.
 */
export async function reserveBudget(
  ledger: BudgetLedger,
  counters: BudgetCounter[],
  request: { promptTokens: number; outputTokens: number; price: ResolvedPrice },
): Promise<ReserveResult> {
  const { promptTokens, outputTokens, price } = request;
  const full = maxCostMicros(promptTokens, outputTokens, price);
  try {
    return { reservation: await ledger.reserve(counters, full), outputCap: undefined };
  } catch (err) {
    if (!(err instanceof BudgetExceededError)) throw err;
    const remaining = await tightestRemaining(ledger, counters);
    const outputCap = affordableOutputTokens(remaining, promptTokens, price);
    if (outputCap < MIN_OUTPUT_TOKENS) throw err;
    return { reservation: await ledger.reserve(counters, remaining), outputCap };
  }
}

/** What the most constrained limited counter has left (the one that decides what can be afforded). */
async function tightestRemaining(ledger: BudgetLedger, counters: BudgetCounter[]): Promise<number> {
  const limited = counters.filter((c) => c.limit_micros !== null);
  const left = await Promise.all(
    limited.map(async (c) => (c.limit_micros ?? 0) - (await ledger.read(c)).committed_micros),
  );
  return Math.max(0, Math.min(...left));
}

/** What a budget says about itself: the owner's scope, its limit and how it resets. */
export interface BudgetSpec {
  scope: BudgetCounter['scope'];
  scope_id: string;
  label: string;
  limit_micros: number | null;
  /** LiteLLM-style duration, or null for a lifetime budget. */
  duration: string | null;
  /** Where fixed windows (`30d`, `1mo`) start counting: the owner's creation time. */
  anchor: string;
}

/** The counter for the budget period containing `now`; a new period is simply a new counter. */
export function budgetCounter(spec: BudgetSpec, now: Date): BudgetCounter {
  const period = spec.duration ? periodFor(spec.duration, new Date(spec.anchor), now) : undefined;
  return {
    scope: spec.scope,
    scope_id: spec.scope_id,
    label: spec.label,
    period: period?.id ?? 'lifetime',
    resets_at: period?.end.toISOString() ?? null,
    limit_micros: spec.limit_micros,
  };
}
