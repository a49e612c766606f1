/**
 * The shapes of a model's price and catalog entry, apart from the catalog that reads them, so the
 * catalog data, Tollgate's own model list and the catalog can share them without importing each other.
 * Prices are decimal strings in USD per million tokens.
 */
import type { ProviderName } from '../providers/list.ts';

export interface PriceEntryUsd {
  input: string;
  output: string;
  cache_read?: string;
  cache_write_5m?: string;
  cache_write_1h?: string;
  /** For providers that price reasoning apart from other output; by default reasoning bills as output. */
  reasoning?: string;
  /**
   * USD per 1,000 web searches run by the provider's server-side web search tool, on top of tokens
   * (the results enter the prompt as input tokens). Anthropic: $10 per 1,000, every Claude model
   * (https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/web-search-tool#usage-and-pricing).
   * Anthropic's web fetch has no fee of its own, only the tokens of what it fetched.
   */
  web_search?: string;
  /** Anthropic's long-context tier: these prices apply when the prompt exceeds `above_input_tokens`. */
  long_context?: {
    above_input_tokens: number;
    input: string;
    output: string;
    cache_read: string;
    cache_write_5m: string;
    cache_write_1h: string;
  };
}

export interface ModelEntry {
  /** Canonical model name; a request may add a date suffix (`-20250514`, `-2025-04-14`). */
  model: string;
  provider: ProviderName;
  price: PriceEntryUsd;
  /** Output cap assumed when a request sets none (used to size reservations). */
  max_output_tokens: number;
}

/** One of Tollgate's own models: priced by the catalog unless it gives a `price` of its own. */
export type CatalogEntry = Omit<ModelEntry, 'price'> & { price?: PriceEntryUsd };
