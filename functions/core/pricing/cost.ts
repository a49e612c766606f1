import type { Price, ResolvedPrice } from './catalog.ts';

/**
 * Token counts normalised across providers. `input_tokens` excludes cache reads and writes (Anthropic's
 * convention); protocol readers convert OpenAI's `prompt_tokens`, which include cached tokens.
 * `reasoning_tokens` are already part of `output_tokens` on every provider we meter: they are billed
 * once, at the reasoning rate (the output rate unless the catalog says otherwise).
 */
export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_5m_tokens: number;
  cache_write_1h_tokens: number;
  reasoning_tokens: number;
  /**
   * Searches the provider's server-side web search tool ran (Anthropic's
   * `usage.server_tool_use.web_search_requests`), each billed at the catalog's per-search fee. Absent
   * where the protocol has no such tool.
   */
  web_search_requests?: number;
}

export const ZERO_USAGE: TokenUsage = {
  input_tokens: 0,
  output_tokens: 0,
  cache_read_tokens: 0,
  cache_write_5m_tokens: 0,
  cache_write_1h_tokens: 0,
  reasoning_tokens: 0,
  web_search_requests: 0,
};

const PICOS_PER_MICRO = 1_000_000;

/** Total prompt size as the long-context tier measures it: fresh input plus cache reads and writes. */
export function promptTokens(u: TokenUsage): number {
  return u.input_tokens + u.cache_read_tokens + u.cache_write_5m_tokens + u.cache_write_1h_tokens;
}

/**
 * The cost of one request in integer micro-dollars. The sum is exact in picodollars (an integer well
 * inside 2^53 for any real request) and rounded to the nearest micro-dollar once, at the end.
 */
export function costMicros(usage: TokenUsage, price: ResolvedPrice): number {
  const tier: Price =
    price.long_context && promptTokens(usage) > price.long_context.above_input_tokens
      ? price.long_context
      : price;
  // Reasoning tokens are part of output_tokens on every provider; only their rate may differ.
  const reasoning = Math.min(usage.reasoning_tokens, usage.output_tokens);
  const picos =
    usage.input_tokens * tier.input +
    (usage.output_tokens - reasoning) * tier.output +
    reasoning * tier.reasoning +
    usage.cache_read_tokens * tier.cache_read +
    usage.cache_write_5m_tokens * tier.cache_write_5m +
    usage.cache_write_1h_tokens * tier.cache_write_1h +
    (usage.web_search_requests ?? 0) * price.web_search;
  return Math.round(picos / PICOS_PER_MICRO);
}

function reservationTier(estimatedInputTokens: number, price: ResolvedPrice): Price {
  const long = price.long_context;
  return long && estimatedInputTokens > long.above_input_tokens ? long : price;
}

/** The dearest way a prompt token can be billed: fresh, or written to the 5-minute or 1-hour cache. */
function dearestInputRate(tier: Price): number {
  return Math.max(tier.input, tier.cache_write_5m, tier.cache_write_1h);
}

/**
 * What a request may multiply its answer by, besides its tokens: `choices` answers (OpenAI's `n`, each
 * up to the output cap, the prompt billed once) and up to `webSearches` searches at the per-search fee.
 */
export interface RequestMultipliers {
  choices: number;
  webSearches: number;
}

export const SINGLE_ANSWER: RequestMultipliers = { choices: 1, webSearches: 0 };

/**
 * The most a request can cost, for the reservation: the prompt estimate billed at the dearest input
 * rate, every allowed output token of every choice, and every allowed search, at the long-context tier
 * if it could apply. `maxOutputTokens` is the cap of one choice, as the providers apply it.
 */
export function maxCostMicros(
  estimatedInputTokens: number,
  maxOutputTokens: number,
  price: ResolvedPrice,
  multipliers: RequestMultipliers = SINGLE_ANSWER,
): number {
  const tier = reservationTier(estimatedInputTokens, price);
  const picos =
    estimatedInputTokens * dearestInputRate(tier) +
    multipliers.choices * maxOutputTokens * tier.output +
    multipliers.webSearches * price.web_search;
  return Math.ceil(picos / PICOS_PER_MICRO);
}

/**
 * How many output tokens per choice `budgetMicros` pays for after the prompt estimate and the searches;
 * 0 if not even those.
 */
export function affordableOutputTokens(
  budgetMicros: number,
  estimatedInputTokens: number,
  price: ResolvedPrice,
  multipliers: RequestMultipliers = SINGLE_ANSWER,
): number {
  const tier = reservationTier(estimatedInputTokens, price);
  const left =
    budgetMicros * PICOS_PER_MICRO -
    estimatedInputTokens * dearestInputRate(tier) -
    multipliers.webSearches * price.web_search;
  return left <= 0 ? 0 : Math.floor(left / (tier.output * Math.max(1, multipliers.choices)));
}

/**
 * What reading `cacheReadTokens` from the provider's prompt cache saved against sending them as fresh
 * input, in micro-dollars: tokens × (input rate − cache-read rate). Cache writes cost extra and are
 * not netted here; the dashboard shows the gross saving of reads.
 */
export function cacheSavingsMicros(cacheReadTokens: number, price: ResolvedPrice): number {
  return Math.round((cacheReadTokens * Math.max(0, price.input - price.cache_read)) / PICOS_PER_MICRO);
}
