import { BudgetExceededError } from '../errors.ts';
import type { BudgetCounter, BudgetLedger, BudgetMode, Claim, Lease, Reservation } from '../ports/budgets.ts';
import type { Logger } from '../ports/logging.ts';
import type { ResolvedPrice } from '../pricing/catalog.ts';
import {
  affordableOutputTokens,
  maxCostMicros,
  type RequestMultipliers,
  SINGLE_ANSWER,
} from '../pricing/cost.ts';
import { periodFor } from './periods.ts';

/** Below this many output tokens a capped request is not worth sending: deny it instead. */
export const MIN_OUTPUT_TOKENS = 1_024;

/**
 * The most prompt tokens a request can be billed for what it carries: one per byte of its body, as
 * every token of a byte-level tokenizer covers at least one byte of text (OpenAI's o200k and cl100k;
 * assumed of Claude's and Kimi's, which are not public), and JSON's quotes, keys and punctuation only
 * widen the margin; plus what the provider adds (`ParsedRequest.addedPromptTokens`). Real prompts run
 * 3–4 bytes a token, and settlement gives the difference back. Two bytes a token, the bound before,
 * was passed by text that packs densely: o200k counts 1.85 tokens for every two bytes of rare CJK
 * ideographs.
 */
export function promptTokensAtMost(bodyBytes: number, addedTokens = 0): number {
  return bodyBytes + addedTokens;
}

export interface ReserveResult {
  reservation: Reservation;
  /** Set when the budget could not pay for the requested output: the lowered output limit. */
  outputCap: number | undefined;
}

export interface ReserveRequest {
  promptTokens: number;
  /** The output cap of one choice. */
  outputTokens: number;
  price: ResolvedPrice;
  /** Choices (`n`) and server-side searches the request may have billed; one answer, no search if unset. */
  multipliers?: RequestMultipliers;
  /** The output a `fair` budget expects a request to use, whatever its `max_tokens`. */
  fairOutputTokens: number;
  /** How far above its limit a `fair` budget's worst case may go, in percent of the limit. */
  fairOvershootPct: number;
}

/**
 * Reserves on every counter. A `strict` counter reserves the most the request can cost against its
 * limit: the prompt, every choice's whole output cap, and every search it allows. A `fair` counter reserves the expected cost (at most `fairOutputTokens` of output) against
 * its limit, and the worst case against a ceiling `fairOvershootPct` above the limit.
 *
 * Strict guarantee: settled spend never passes the limit.
 * Fair guarantee: settled spend never passes limit × (1 + fairOvershootPct / 100), and requests are
 * admitted until their expected costs fill the limit — so forty agents asking for 64,000 output
 * tokens each are not locked out while the budget still has room for what they really use.
 *
 * When the worst case does not fit but the prompt, the searches and a useful answer per choice do, the
 * output of each choice is capped to its share of what the tightest counter has left (strict: under its
 * limit; fair: under its ceiling). Searches are never cut: a request whose searches do not fit is refused.
 */
export async function reserveBudget(
  ledger: BudgetLedger,
  counters: BudgetCounter[],
  request: ReserveRequest,
  lease: Lease,
): Promise<ReserveResult> {
  const { promptTokens, outputTokens, price } = request;
  const multipliers = request.multipliers ?? SINGLE_ANSWER;
  const claimsFor = (output: number): Claim[] => {
    const worst = maxCostMicros(promptTokens, output, price, multipliers);
    const expected = maxCostMicros(
      promptTokens,
      Math.min(output, request.fairOutputTokens),
      price,
      multipliers,
    );
    return counters.map((counter) => {
      const limit = counter.limit_micros;
      if (counter.mode === 'strict' || limit === null)
        return { counter, amount_micros: worst, worst_micros: worst, ceiling_micros: null };
      const ceiling_micros = limit + Math.floor((limit * request.fairOvershootPct) / 100);
      return { counter, amount_micros: expected, worst_micros: worst, ceiling_micros };
    });
  };
  try {
    return { reservation: await ledger.reserve(claimsFor(outputTokens), lease), outputCap: undefined };
  } catch (err) {
    if (!(err instanceof BudgetExceededError)) throw err;
    const remaining = await tightestRemaining(ledger, claimsFor(outputTokens));
    const outputCap = Math.min(
      outputTokens,
      affordableOutputTokens(remaining, promptTokens, price, multipliers),
    );
    if (outputCap < MIN_OUTPUT_TOKENS || outputCap >= outputTokens)
      throw withNeed(err, claimsFor(Math.min(outputTokens, MIN_OUTPUT_TOKENS)));
    return { reservation: await ledger.reserve(claimsFor(outputCap), lease), outputCap };
  }
}

/** The refusal, saying what the request needed of the budget that refused it: its smallest claim there. */
function withNeed(err: BudgetExceededError, claims: Claim[]): BudgetExceededError {
  const claim = claims.find((c) => c.counter.scope === err.scope && c.counter.label === err.scope_id);
  if (!claim) return err;
  return new BudgetExceededError(
    err.scope,
    err.scope_id,
    err.limit_micros,
    err.committed_micros,
    err.resets_at,
    {
      cause: err.cause,
      needed_micros: claim.amount_micros,
    },
  );
}

/** What the most constrained counter has left for a worst case: under a strict limit or a fair ceiling. */
async function tightestRemaining(ledger: BudgetLedger, claims: Claim[]): Promise<number> {
  const limited = claims.filter((c) => c.counter.limit_micros !== null);
  const left = await Promise.all(
    limited.map(async ({ counter, ceiling_micros }) => {
      const state = await ledger.read(counter);
      return ceiling_micros !== null
        ? ceiling_micros - state.worst_committed_micros
        : (counter.limit_micros ?? 0) - state.committed_micros;
    }),
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
    starts_at: period?.start.toISOString() ?? null,
    resets_at: period?.end.toISOString() ?? null,
    limit_micros: spec.limit_micros,
    mode: spec.mode ?? 'strict',
    soft_limit_micros: spec.soft_limit_micros ?? null,
  };
}

/**
 * The owner's counter now, or why it has none: a record unreadable in the store, or a stored period
 * that cannot be computed (a duration far beyond a year, saved before the admin API bounded it). A
 * listing or report shows the reason instead of failing on one bad record.
 */
export function counterOrReason(
  owner: { invalid?: string },
  counterOf: () => BudgetCounter,
): BudgetCounter | string {
  if (owner.invalid) return owner.invalid;
  try {
    return counterOf();
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** The counters of the owners that have one; each other owner is logged as a warning and left out. */
export function usableCounters<T extends { invalid?: string }>(
  owners: T[],
  counterOf: (owner: T) => BudgetCounter,
  scope: { kind: string; idOf(owner: T): string; log: Logger },
): BudgetCounter[] {
  return owners.flatMap((owner) => {
    const counter = counterOrReason(owner, () => counterOf(owner));
    if (typeof counter !== 'string') return [counter];
    scope.log.warn('budget.invalid_record', { kind: scope.kind, id: scope.idOf(owner), reason: counter });
    return [];
  });
}
