/**
 * Turns the pinned price catalog package (@pydantic/genai-prices) into the data the gateway carries:
 * the providers it serves, each model's match rule and its prices as exact decimal strings in
 * Tollgate's shape, and nothing else (descriptions, extractors, other providers), so the proxy bundle
 * stays small. And the price changes between two such files, for `npm run prices:update`.
 */
import type { ConditionalPrice, MatchLogic, ModelPrice, Provider } from '@pydantic/genai-prices';
import type { PriceEntryUsd } from '../functions/core/pricing/catalog.ts';
import {
  type CatalogData,
  type CatalogModel,
  type DatedPrice,
  decodePrices,
  encodePrice,
} from '../functions/core/pricing/catalog-data.ts';

/** The package's provider ids for the providers Tollgate serves. */
export const CATALOG_PROVIDERS = {
  anthropic: 'anthropic',
  openai: 'openai',
  moonshotai: 'moonshot',
  openrouter: 'openrouter',
  aws: 'bedrock',
} as const;

/**
 * What of a provider's list the gateway carries (the proxy bundle has a size cap): Bedrock only Claude,
 * which is all the proxy sends there; OpenRouter the vendors coding agents are pointed at. A model left
 * out is an unknown model (TOLLGATE_UNKNOWN_MODEL), or a deployment entry away.
 */
const CARRIED: Partial<Record<keyof typeof CATALOG_PROVIDERS, (id: string) => boolean>> = {
  // Audio, realtime, image and fine-tuned models bill in units the gateway does not meter.
  openai: (id) =>
    !/audio|realtime|tts|transcribe|image|dall-e|davinci|babbage|curie|^ada|^ft:|\.ft-/.test(id),
  aws: (id) => /(^|\.)anthropic\.claude/.test(id),
  openrouter: (id) =>
    /^(anthropic|openai|google|moonshotai|x-ai|deepseek|qwen|z-ai|mistralai|meta-llama|minimax)\//.test(id),
};

type Tiered = { base: number; tiers: Array<{ start: number; price: number }> };

/** A float from the package (`0.3`, `1.625`) as the exact decimal it was written as, at most 6 places. */
export function decimal(value: number): string {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`not a price: ${value}`);
  return value.toFixed(6).replace(/\.?0+$/, '') || '0';
}

const FIELDS = {
  input_mtok: 'input',
  output_mtok: 'output',
  cache_read_mtok: 'cache_read',
  cache_write_mtok: 'cache_write_5m',
  cache_write_1h_mtok: 'cache_write_1h',
} as const;

/**
 * One price of the package as Tollgate's: a field with tiers makes the long-context tier (the whole
 * request at the tier's rates once the prompt passes `start`, as both read it); fields without tiers
 * keep their base rate there.
 */
export function toPrice(p: ModelPrice): PriceEntryUsd | undefined {
  const base = (v: unknown) => (typeof v === 'number' ? v : (v as Tiered | undefined)?.base);
  const input = base(p.input_mtok);
  if (input === undefined) return undefined;
  const price: PriceEntryUsd = { input: decimal(input), output: decimal(base(p.output_mtok) ?? 0) };
  for (const [from, to] of Object.entries(FIELDS)) {
    const v = base(p[from]);
    if (v !== undefined && to !== 'input' && to !== 'output') price[to] = decimal(v);
  }
  if (typeof p.web_searches_kcount === 'number') price.web_search = decimal(p.web_searches_kcount);
  const tiered = Object.values(p).find((v): v is Tiered => typeof v === 'object' && v !== null);
  const start = tiered?.tiers[0]?.start;
  if (start !== undefined) {
    const long = (field: keyof typeof FIELDS) => {
      const v = p[field];
      const tier = typeof v === 'object' ? (v as Tiered).tiers.find((t) => t.start === start) : undefined;
      return decimal(tier?.price ?? base(v) ?? input);
    };
    price.long_context = {
      above_input_tokens: start,
      input: long('input_mtok'),
      output: long('output_mtok'),
      cache_read: long(p.cache_read_mtok === undefined ? 'input_mtok' : 'cache_read_mtok'),
      cache_write_5m: long(p.cache_write_mtok === undefined ? 'input_mtok' : 'cache_write_mtok'),
      cache_write_1h: long(p.cache_write_1h_mtok === undefined ? 'input_mtok' : 'cache_write_1h_mtok'),
    };
  }
  return price;
}

/**
 * A model's prices by date: the package lists an unconstrained price and then prices from a start date
 * (a later one wins once it applies). Time-of-day prices (off-peak discounts) are left out: the
 * gateway bills the standing price, which is the higher one.
 */
function datedPrices(prices: ConditionalPrice[] | ModelPrice): DatedPrice[] {
  const list = Array.isArray(prices) ? prices : [{ prices }];
  const out: DatedPrice[] = [];
  for (const c of list) {
    if (c.constraint && c.constraint.type !== 'start_date') continue;
    const price = toPrice(c.prices);
    if (!price) continue;
    out.push(c.constraint ? { from: c.constraint.start_date, price } : { price });
  }
  return out;
}

export function toCatalogData(providers: Provider[], version: string): CatalogData {
  const data: CatalogData = { version, providers: {} };
  for (const [id, name] of Object.entries(CATALOG_PROVIDERS)) {
    const provider = providers.find((p) => p.id === id);
    if (!provider) throw new Error(`the catalog has no provider '${id}'`);
    const models: CatalogModel[] = [];
    for (const m of provider.models) {
      const prices = datedPrices(m.prices);
      // A deprecated model still answers at the provider for a while (kept), not at OpenRouter's.
      // Ids are matched without a rule saying so.
      if (
        (m.deprecated && id === 'openrouter') ||
        !prices.length ||
        /^claude-(2|instant)/.test(m.id) ||
        CARRIED[id as keyof typeof CATALOG_PROVIDERS]?.(m.id) === false
      )
        continue;
      const byId = 'equals' in m.match && m.match.equals.toLowerCase() === m.id.toLowerCase();
      models.push({ id: m.id, ...(!byId && { match: m.match as MatchLogic }), p: prices.map(encodePrice) });
    }
    data.providers[name] = models;
  }
  return data;
}

/** Each model's price now, for comparing two catalogs: `provider/id` → a short text of its rates. */
function priceTable(data: CatalogData): Map<string, string> {
  const table = new Map<string, string>();
  for (const [provider, models] of Object.entries(data.providers))
    for (const m of models ?? [])
      table.set(
        `${provider}/${m.id}`,
        decodePrices(m)
          .map((p) => `${p.from ? `from ${p.from}: ` : ''}${describe(p.price)}`)
          .join(' | '),
      );
  return table;
}

function describe(p: PriceEntryUsd): string {
  const parts = [`in ${p.input}`, `out ${p.output}`];
  if (p.cache_read) parts.push(`cache read ${p.cache_read}`);
  if (p.cache_write_5m) parts.push(`write 5m ${p.cache_write_5m}`);
  if (p.cache_write_1h) parts.push(`write 1h ${p.cache_write_1h}`);
  if (p.web_search) parts.push(`search/1k ${p.web_search}`);
  if (p.long_context)
    parts.push(
      `above ${p.long_context.above_input_tokens}: in ${p.long_context.input} out ${p.long_context.output}`,
    );
  return parts.join(', ');
}

/** What moved between two catalogs, one line per model added, removed or repriced. */
export function priceChanges(before: CatalogData | undefined, after: CatalogData): string[] {
  const [old, now] = [before ? priceTable(before) : new Map<string, string>(), priceTable(after)];
  const lines: string[] = [];
  for (const [model, price] of now) {
    const was = old.get(model);
    if (was === undefined) lines.push(`+ ${model}: ${price}`);
    else if (was !== price) lines.push(`~ ${model}: ${was}  ->  ${price}`);
  }
  for (const [model, price] of old) if (!now.has(model)) lines.push(`- ${model}: ${price}`);
  return lines.sort((a, b) => a.slice(2).localeCompare(b.slice(2)));
}
