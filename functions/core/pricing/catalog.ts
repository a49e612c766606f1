/**
 * The model catalog: which provider serves a model, and what it costs. Prices come from the maintained
 * catalog (catalog-data.ts, from the pinned @pydantic/genai-prices), under Tollgate's own entries
 * (models.ts: output caps, and a price where Tollgate knows better), under a deployment's entries
 * (`TOLLGATE_MODELS_JSON`). Prices are USD per million tokens written as decimal strings (exact); they
 * are converted once to integer picodollars per token. Per-call fees of server-side tools (web search)
 * are USD per thousand calls, converted to picodollars per call.
 */
import { ConfigError } from '../config-error.ts';
import { type Clock, systemClock } from '../ports/clock.ts';
import { PROVIDERS, type ProviderName } from '../providers/list.ts';
import { CATALOG_DATA, type CatalogData, findCatalogModel, priceOn } from './catalog-data.ts';
import type { CatalogEntry, ModelEntry, PriceEntryUsd } from './entries.ts';
import { TOLLGATE_MODELS } from './models.ts';
import { mergeModelOverrides } from './overrides.ts';

/** `price_version` of records priced from the catalog as shipped: `genai-prices@<version>`. */
export const PRICE_VERSION = CATALOG_DATA.version;

export { mergeModelOverrides } from './overrides.ts';
export type { CatalogEntry, ModelEntry, PriceEntryUsd };
export { TOLLGATE_MODELS };

/**
 * What to do with a model neither the catalog nor any entry prices: refuse it (the default), or serve
 * it billed at a named model's price, the record's `price_version` saying so (`... default:<model>`).
 */
export type UnknownModelPolicy = { refuse: true } | { priceAs: string };

/**
 * The output cap assumed for a model the catalog prices but Tollgate has no entry for, when a request
 * sets none: the largest of the providers' current caps, so a reservation holds what it may produce.
 */
export const DEFAULT_MAX_OUTPUT_TOKENS = 128_000;

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

export interface CatalogOptions {
  /** The maintained catalog's data (tests give their own). */
  data?: CatalogData;
  unknownModel?: UnknownModelPolicy;
  /** Picks the catalog's dated prices: those in force on the day the catalog is made. */
  clock?: Clock;
}

/**
 * The catalog a re-pricing uses: its corrections (catalog entries as JSON, named `label` in errors) over
 * the deployment's own overrides (`TOLLGATE_MODELS_JSON`), not over the defaults alone, its records
 * labelled with the re-pricing's `version`. The CLI's `reprice` and the rollup function's both.
 */
export function repricingCatalog(options: {
  deployedModelsJson: string | undefined;
  corrections: string | undefined;
  label: string;
  version: string;
}): ModelCatalog {
  const deployed = mergeModelOverrides(options.deployedModelsJson);
  return createModelCatalog(
    mergeModelOverrides(options.corrections, deployed, options.label),
    options.version,
  );
}

/** Where a bare model name is looked for in the catalog: the providers that serve it by that name. */
const DIRECT: ProviderName[] = ['anthropic', 'openai', 'moonshot'];

export function createModelCatalog(
  entries: CatalogEntry[] = TOLLGATE_MODELS,
  version = PRICE_VERSION,
  options: CatalogOptions = {},
): ModelCatalog {
  const data = options.data ?? CATALOG_DATA;
  const day = (options.clock ?? systemClock).now().toISOString().slice(0, 10);
  type Found = Omit<ResolvedModel, 'upstream_model'>;
  const resolved = (
    model: string,
    provider: ProviderName,
    price: PriceEntryUsd,
    maxOut: number,
    v = version,
  ) => ({
    model,
    provider,
    max_output_tokens: maxOut,
    price: resolvePrice(price, v),
  });
  const own = (provider: ProviderName, model: string) => {
    const found = findCatalogModel(data, provider, model);
    return found && priceOn(found, day);
  };
  /**
   * The catalog's price of `model` at `provider`. A reseller (Bedrock, OpenRouter) bills the vendor's
   * rates for what it does not list (Bedrock lists no 1-hour cache write; OpenRouter often none), so
   * those come from the vendor's own entry, as does the whole price of a model the reseller lacks.
   */
  const listed = (provider: ProviderName, model: string, vendorModel = model): PriceEntryUsd | undefined => {
    const price = own(provider, model);
    if (provider !== 'bedrock' && provider !== 'openrouter') return price;
    const claude =
      BEDROCK_CLAUDE_ID.exec(vendorModel)?.[1] ?? vendorModel.slice(vendorModel.lastIndexOf('/') + 1);
    const vendor = DIRECT.map((p) => own(p, claude)).find(Boolean);
    return price && vendor ? { ...vendor, ...price } : (price ?? vendor);
  };

  const byName = new Map<string, Found>();
  const unpriced: string[] = [];
  for (const e of entries) {
    const price = e.price ?? listed(e.provider, e.model);
    if (price) byName.set(e.model, resolved(e.model, e.provider, price, e.max_output_tokens));
    else unpriced.push(e.model);
  }
  if (unpriced.length) throw new Error(`No price in ${data.version} or an entry for: ${unpriced.join(', ')}`);

  const lookup = (name: string) => byName.get(name) ?? byName.get(name.replace(SNAPSHOT_SUFFIX, ''));
  /** A model only the catalog knows, named as asked (less a snapshot date), with the default cap. */
  const fromCatalog = (provider: ProviderName, name: string): Found | undefined => {
    const price = listed(provider, name);
    return price && resolved(name.replace(SNAPSHOT_SUFFIX, ''), provider, price, DEFAULT_MAX_OUTPUT_TOKENS);
  };

  /** `bedrock/<Bedrock id>` is priced as Bedrock lists it; `bedrock/<catalog name>` picks a default id. */
  function resolveBedrock(name: string): ResolvedModel | undefined {
    const claude = BEDROCK_CLAUDE_ID.exec(name)?.[1];
    const known = lookup(claude ?? name);
    const upstream = claude ? name : BEDROCK_DEFAULT_IDS.get(known?.model ?? '');
    if (!known || !upstream) return undefined;
    const price =
      known && !entries.find((e) => e.model === known.model)?.price ? listed('bedrock', upstream) : undefined;
    const base = price ? resolved(known.model, 'bedrock', price, known.max_output_tokens) : known;
    return { ...base, provider: 'bedrock', upstream_model: upstream };
  }

  function resolveKnown(requested: string): ResolvedModel | undefined {
    const found = lookup(requested);
    if (found) {
      // A deployment may send a Claude model to Bedrock by its catalog entry (`"provider": "bedrock"`).
      const bedrockId = found.provider === 'bedrock' ? BEDROCK_DEFAULT_IDS.get(found.model) : undefined;
      return { ...found, upstream_model: bedrockId ?? requested };
    }
    const slash = requested.indexOf('/');
    if (slash < 0) {
      for (const provider of DIRECT) {
        const only = fromCatalog(provider, requested);
        if (only) return { ...only, upstream_model: requested };
      }
      return undefined;
    }
    // `provider/model` picks the provider: `openrouter/anthropic/claude-sonnet-4`, `moonshot/kimi-k2.5`.
    const provider = requested.slice(0, slash) as ProviderName;
    if (!PROVIDERS.includes(provider)) return undefined;
    const upstream = requested.slice(slash + 1);
    if (provider === 'bedrock') return resolveBedrock(upstream);
    // OpenRouter names models `vendor/model`: its own price when the catalog has it, else the vendor's.
    const vendorModel = upstream.slice(upstream.lastIndexOf('/') + 1);
    const known = lookup(upstream) ?? lookup(vendorModel);
    const resold = own(provider, upstream) && listed(provider, upstream);
    if (known) {
      const price = resold && !entries.find((e) => e.model === known.model)?.price ? resold : undefined;
      const base = price ? resolved(known.model, provider, price, known.max_output_tokens) : known;
      return { ...base, provider, upstream_model: upstream };
    }
    const only = fromCatalog(provider, upstream);
    if (only) return { ...only, upstream_model: upstream };
    return undefined;
  }

  const policy = options.unknownModel ?? { refuse: true };
  const standIn = 'priceAs' in policy ? resolveKnown(policy.priceAs) : undefined;
  if ('priceAs' in policy && !standIn)
    throw new Error(`The default price names '${policy.priceAs}', which the catalog does not price`);

  return {
    resolve(requested) {
      const found = resolveKnown(requested);
      if (found || !standIn) return found;
      // Served at the stand-in's price, said in the record: `genai-prices@0.1.8 default:claude-opus-4-8`.
      const slash = requested.indexOf('/');
      const prefix = requested.slice(0, slash) as ProviderName;
      const provider = slash > 0 && PROVIDERS.includes(prefix) ? prefix : standIn.provider;
      const upstream = provider === prefix ? requested.slice(slash + 1) : requested;
      return {
        ...standIn,
        model: upstream,
        provider,
        upstream_model: upstream,
        price: { ...standIn.price, version: `${version} default:${standIn.model}` },
      };
    },
    models: () => [...byName.keys()],
  };
}

function resolvePrice(e: PriceEntryUsd, version: string): ResolvedPrice {
  const lc = e.long_context;
  return {
    ...toPrice(e),
    long_context: lc ? { ...toPrice(lc), above_input_tokens: lc.above_input_tokens } : null,
    web_search: e.web_search ? picosPerCall(e.web_search) : 0,
    version,
  };
}

/**
 * The catalog a deployment serves: its `TOLLGATE_MODELS_JSON` entries over Tollgate's, and its
 * `TOLLGATE_UNKNOWN_MODEL` setting (`refuse`, or a model whose price stands in), checked here so a
 * stand-in the catalog cannot price fails start-up naming the variable.
 */
export function deploymentCatalog(
  settings: { modelsJson: string | undefined; unknownModel: string },
  clock?: Clock,
): ModelCatalog {
  const entries = mergeModelOverrides(settings.modelsJson);
  const name = settings.unknownModel.trim();
  const unknownModel: UnknownModelPolicy =
    name === 'refuse' || name === '' ? { refuse: true } : { priceAs: name };
  try {
    return createModelCatalog(entries, PRICE_VERSION, { unknownModel, ...(clock && { clock }) });
  } catch (cause) {
    if (!('priceAs' in unknownModel)) throw cause;
    throw new ConfigError(
      `TOLLGATE_UNKNOWN_MODEL: '${name}' is not a model the catalog prices (give 'refuse' or a model name such as claude-opus-4-8)`,
      { cause },
    );
  }
}
