/**
 * The model catalog: which provider serves a model, and what it costs. Data, versioned; a deployment
 * can override it. Prices are USD per million tokens written as decimal strings (exact), from the
 * providers' public price lists; they are converted once to integer picodollars per token. Per-call
 * fees of server-side tools (web search) are USD per thousand calls, converted to picodollars per call.
 */
import { PROVIDERS, type ProviderName } from '../../config.ts';
import { configError, parseJsonSetting } from '../config-error.ts';
import * as z from '../zod-mini.ts';

export const PRICE_VERSION = '2026-11-01';

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

const opus45: PriceEntryUsd = {
  input: '5',
  output: '25',
  cache_read: '0.50',
  cache_write_5m: '6.25',
  cache_write_1h: '10',
  web_search: '10',
};
const opus41: PriceEntryUsd = {
  input: '15',
  output: '75',
  cache_read: '1.50',
  cache_write_5m: '18.75',
  cache_write_1h: '30',
  web_search: '10',
};
const sonnet4: PriceEntryUsd = {
  input: '3',
  output: '15',
  cache_read: '0.30',
  cache_write_5m: '3.75',
  cache_write_1h: '6',
  web_search: '10',
  long_context: {
    above_input_tokens: 200_000,
    input: '6',
    output: '22.50',
    cache_read: '0.60',
    cache_write_5m: '7.50',
    cache_write_1h: '12',
  },
};
const haiku45: PriceEntryUsd = {
  input: '1',
  output: '5',
  cache_read: '0.10',
  cache_write_5m: '1.25',
  cache_write_1h: '2',
  web_search: '10',
};
const gpt5: PriceEntryUsd = { input: '1.25', output: '10', cache_read: '0.125' };
const gpt52: PriceEntryUsd = { input: '1.75', output: '14', cache_read: '0.175' };

const claude = (model: string, price: PriceEntryUsd, max_output_tokens = 64_000): ModelEntry => ({
  model,
  provider: 'anthropic',
  price,
  max_output_tokens,
});
const openai = (model: string, price: PriceEntryUsd, max_output_tokens = 128_000): ModelEntry => ({
  model,
  provider: 'openai',
  price,
  max_output_tokens,
});

export const DEFAULT_MODELS: ModelEntry[] = [
  claude('claude-opus-4-8', opus45),
  claude('claude-opus-4-7', opus45),
  claude('claude-opus-4-6', opus45),
  claude('claude-opus-4-5', opus45),
  claude('claude-opus-4-1', opus41, 32_000),
  claude('claude-opus-4', opus41, 32_000),
  claude('claude-sonnet-4-6', sonnet4),
  claude('claude-sonnet-4-5', sonnet4),
  claude('claude-sonnet-4', sonnet4),
  claude('claude-haiku-4-5', haiku45),
  openai('gpt-5', gpt5),
  openai('gpt-5.1', gpt5),
  openai('gpt-5-codex', gpt5),
  openai('gpt-5.1-codex', gpt5),
  openai('gpt-5.2', gpt52),
  openai('gpt-5.2-codex', gpt52),
  openai('gpt-5.3-codex', gpt52),
  openai('gpt-4.1', { input: '2', output: '8', cache_read: '0.50' }, 32_768),
  openai('gpt-4.1-mini', { input: '0.40', output: '1.60', cache_read: '0.10' }, 32_768),
  openai('gpt-4o', { input: '2.50', output: '10', cache_read: '1.25' }, 16_384),
  openai('o3', { input: '2', output: '8', cache_read: '0.50' }, 100_000),
  openai('o4-mini', { input: '1.10', output: '4.40', cache_read: '0.275' }, 100_000),
  openai('text-embedding-3-small', { input: '0.02', output: '0' }, 0),
  openai('text-embedding-3-large', { input: '0.13', output: '0' }, 0),
  {
    model: 'kimi-k2-0905-preview',
    provider: 'moonshot',
    price: { input: '0.60', output: '2.50', cache_read: '0.15' },
    max_output_tokens: 32_768,
  },
  {
    model: 'kimi-k2.5',
    provider: 'moonshot',
    price: { input: '0.60', output: '3', cache_read: '0.10' },
    max_output_tokens: 32_768,
  },
];

const usd = z
  .string()
  .check(z.regex(/^\d+(\.\d{1,6})?$/, 'a decimal USD-per-million string such as "3" or "0.125"'));
const PriceSchema = z.object({
  input: usd,
  output: usd,
  cache_read: z.optional(usd),
  cache_write_5m: z.optional(usd),
  cache_write_1h: z.optional(usd),
  reasoning: z.optional(usd),
  web_search: z.optional(usd),
  long_context: z.optional(
    z.object({
      above_input_tokens: z.number().check(z.int(), z.positive()),
      input: usd,
      output: usd,
      cache_read: usd,
      cache_write_5m: usd,
      cache_write_1h: usd,
    }),
  ),
});
const ModelEntrySchema = z.object({
  model: z.string().check(z.minLength(1)),
  provider: z.enum(PROVIDERS),
  price: PriceSchema,
  max_output_tokens: z.number().check(z.int(), z.nonnegative()),
});

/**
 * A deployment's catalog: the defaults with its own entries (JSON, `TOLLGATE_MODELS_JSON`) added or
 * replacing defaults of the same name — e.g. a negotiated price, or a model released after this build.
 */
export function mergeModelOverrides(
  json: string | undefined,
  defaults: ModelEntry[] = DEFAULT_MODELS,
  variable = 'TOLLGATE_MODELS_JSON',
): ModelEntry[] {
  if (!json) return defaults;
  const value = parseJsonSetting(variable, json);
  const parsed = z.array(ModelEntrySchema).safeParse(value);
  if (!parsed.success) {
    const named = (i: number) => {
      const model = Array.isArray(value) ? (value[i] as { model?: unknown } | null)?.model : undefined;
      return typeof model === 'string' ? `'${model}'` : undefined;
    };
    throw configError(variable, parsed.error.issues, named, parsed.error);
  }
  const overrides = parsed.data;
  const names = new Set(overrides.map((o) => o.model));
  return [...defaults.filter((d) => !names.has(d.model)), ...overrides];
}

/** Integer picodollars per token (1e-12 USD): USD per million tokens × 1e6, exact for any price with ≤ 6 decimals. */
export interface Price {
  input: number;
  output: number;
  cache_read: number;
  cache_write_5m: number;
  cache_write_1h: number;
  reasoning: number;
}

export interface ResolvedPrice extends Price {
  long_context: (Price & { above_input_tokens: number }) | null;
  /** Picodollars per web search run by the provider; 0 where the catalog gives no fee. */
  web_search: number;
  version: string;
}

/** Parses a decimal USD-per-million string into integer picodollars per token, without floats. */
export function picosPerToken(usdPerMillion: string): number {
  const match = /^(\d+)(?:\.(\d{1,6}))?$/.exec(usdPerMillion.trim());
  if (!match) throw new Error(`Invalid price '${usdPerMillion}': expected a decimal with at most 6 places`);
  const whole = Number(match[1]);
  const fraction = Number((match[2] ?? '').padEnd(6, '0'));
  return whole * 1_000_000 + fraction;
}

/** USD per thousand calls as integer picodollars per call: per thousand × 1e9, exact like `picosPerToken`. */
export function picosPerCall(usdPerThousand: string): number {
  return picosPerToken(usdPerThousand) * 1_000;
}

function toPrice(p: Omit<PriceEntryUsd, 'long_context' | 'web_search'>): Price {
  const input = picosPerToken(p.input);
  const output = picosPerToken(p.output);
  return {
    input,
    output,
    reasoning: p.reasoning ? picosPerToken(p.reasoning) : output,
    // Providers that do not discount cache reads or charge for cache writes bill them as input.
    cache_read: p.cache_read ? picosPerToken(p.cache_read) : input,
    cache_write_5m: p.cache_write_5m ? picosPerToken(p.cache_write_5m) : input,
    cache_write_1h: p.cache_write_1h ? picosPerToken(p.cache_write_1h) : input,
  };
}

export interface ResolvedModel {
  /** The catalog's canonical name, used for pricing, allow-lists and records. */
  model: string;
  /** The model id sent upstream: what the client asked for, less any `provider/` prefix. */
  upstream_model: string;
  provider: ProviderName;
  price: ResolvedPrice;
  max_output_tokens: number;
}

export interface ModelCatalog {
  resolve(requested: string): ResolvedModel | undefined;
  models(): string[];
}

/** A date suffix providers append to pinned snapshots: `-20250514` or `-2025-04-14`. */
const SNAPSHOT_SUFFIX = /-(\d{8}|\d{4}-\d{2}-\d{2})$/;

/**
 * Bedrock's Claude ids: `[<geography>.]anthropic.<model>[-<date>][-v<n>[:<m>]]`, e.g. the cross-region
 * inference profile `us.anthropic.claude-sonnet-4-5-20250929-v1:0`, or `anthropic.claude-opus-4-6-v1`.
 * https://docs.aws.amazon.com/bedrock/latest/userguide/models-supported.html
 */
const BEDROCK_CLAUDE_ID = /^(?:[a-z]+(?:-[a-z]+)?\.)?anthropic\.(claude-[a-z0-9.-]+?)(?:-v\d+(?::\d+)?)?$/;

/**
 * The Bedrock id that a short name (`bedrock/claude-sonnet-4-5`) stands for. Claude 4 models take
 * on-demand traffic only through an inference profile; the `global.` profiles are accepted from every
 * commercial source region. Opus 4.1 has none, only geographic ones. A full Bedrock id picks any other.
 * https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html
 */
export const BEDROCK_DEFAULT_IDS: ReadonlyMap<string, string> = new Map([
  ['claude-opus-4-6', 'global.anthropic.claude-opus-4-6-v1'],
  ['claude-opus-4-5', 'global.anthropic.claude-opus-4-5-20251101-v1:0'],
  ['claude-opus-4-1', 'us.anthropic.claude-opus-4-1-20250805-v1:0'],
  ['claude-sonnet-4-6', 'global.anthropic.claude-sonnet-4-6'],
  ['claude-sonnet-4-5', 'global.anthropic.claude-sonnet-4-5-20250929-v1:0'],
  ['claude-sonnet-4', 'global.anthropic.claude-sonnet-4-20250514-v1:0'],
  ['claude-haiku-4-5', 'global.anthropic.claude-haiku-4-5-20251001-v1:0'],
]);

export function createModelCatalog(
  entries: ModelEntry[] = DEFAULT_MODELS,
  version = PRICE_VERSION,
): ModelCatalog {
  const byName = new Map<string, Omit<ResolvedModel, 'upstream_model'>>();
  for (const e of entries) {
    const lc = e.price.long_context;
    byName.set(e.model, {
      model: e.model,
      provider: e.provider,
      max_output_tokens: e.max_output_tokens,
      price: {
        ...toPrice(e.price),
        long_context: lc ? { ...toPrice(lc), above_input_tokens: lc.above_input_tokens } : null,
        web_search: e.price.web_search ? picosPerCall(e.price.web_search) : 0,
        version,
      },
    });
  }
  const lookup = (name: string) => byName.get(name) ?? byName.get(name.replace(SNAPSHOT_SUFFIX, ''));

  /** `bedrock/<Bedrock id>` is priced as the Claude model it names; `bedrock/<catalog name>` picks a default id. */
  function resolveBedrock(name: string): ResolvedModel | undefined {
    const claude = BEDROCK_CLAUDE_ID.exec(name)?.[1];
    const priced = lookup(claude ?? name);
    const upstream = claude ? name : BEDROCK_DEFAULT_IDS.get(priced?.model ?? '');
    return priced && upstream ? { ...priced, provider: 'bedrock', upstream_model: upstream } : undefined;
  }

  return {
    resolve(requested) {
      const found = lookup(requested);
      // A deployment may send a Claude model to Bedrock by its catalog entry (`"provider": "bedrock"`).
      const bedrockId = found?.provider === 'bedrock' ? BEDROCK_DEFAULT_IDS.get(found.model) : undefined;
      if (found) return { ...found, upstream_model: bedrockId ?? requested };
      // `provider/model` picks the provider: `openrouter/anthropic/claude-sonnet-4`, `moonshot/kimi-k2.5`.
      const slash = requested.indexOf('/');
      const provider = requested.slice(0, slash) as ProviderName;
      if (slash < 0 || !PROVIDERS.includes(provider)) return undefined;
      const upstream = requested.slice(slash + 1);
      if (provider === 'bedrock') return resolveBedrock(upstream);
      // OpenRouter names models `vendor/model`; the price is the vendor's list price for `model`.
      const priced = lookup(upstream) ?? lookup(upstream.slice(upstream.lastIndexOf('/') + 1));
      return priced ? { ...priced, provider, upstream_model: upstream } : undefined;
    },
    models: () => [...byName.keys()],
  };
}
