/**
 * The maintained price catalog the gateway carries: prices of the providers it serves, taken from the
 * pinned @pydantic/genai-prices package by `npm run prices:update` into `catalog-data.json` (generated,
 * committed, reviewed as a diff). Models are found by the package's match rules: a model id matches
 * its entry's rule (`equals`, `starts_with`, ...; case-insensitive), the first entry of a provider wins.
 */
import type { ProviderName } from '../providers/list.ts';
import json from './catalog-data.json' with { type: 'json' };
import type { PriceEntryUsd } from './entries.ts';

export type MatchRule =
  | { equals: string }
  | { starts_with: string }
  | { ends_with: string }
  | { contains: string }
  | { regex: string }
  | { or: MatchRule[] }
  | { and: MatchRule[] };

/** A price, and from which UTC day it applies (none: from the start); a later applicable one wins. */
export interface DatedPrice {
  from?: string;
  price: PriceEntryUsd;
}

export interface CatalogModel {
  id: string;
  /** Absent when the id alone matches. */
  match?: MatchRule;
  /** Its prices, each as `encodePrice` writes it (the data ships in the proxy bundle: kept compact). */
  p: string[];
}

export interface CatalogData {
  /** What `price_version` says of records priced from it: `genai-prices@<package version>`. */
  version: string;
  providers: Partial<Record<ProviderName, CatalogModel[]>>;
}

export const CATALOG_DATA = json as CatalogData;

export function matches(rule: MatchRule, model: string): boolean {
  const name = model.toLowerCase();
  if ('or' in rule) return rule.or.some((r) => matches(r, model));
  if ('and' in rule) return rule.and.every((r) => matches(r, model));
  if ('equals' in rule) return name === rule.equals.toLowerCase();
  if ('starts_with' in rule) return name.startsWith(rule.starts_with.toLowerCase());
  if ('ends_with' in rule) return name.endsWith(rule.ends_with.toLowerCase());
  if ('contains' in rule) return name.includes(rule.contains.toLowerCase());
  return new RegExp(rule.regex).test(model);
}

const ORDER = ['input', 'output', 'cache_read', 'cache_write_5m', 'cache_write_1h'] as const;

/**
 * A dated price in one short text: `[<from day> ]<input> <output> <cache read> <5m write> <1h write>
 * <per 1,000 searches>[ ><above tokens> <input> <output> <cache read> <5m write> <1h write>]`, USD per
 * million tokens, `-` for a rate the catalog does not give.
 */
export function encodePrice({ from, price: p }: DatedPrice): string {
  const base = [...ORDER.map((k) => p[k] ?? '-'), p.web_search ?? '-'].join(' ');
  const lc = p.long_context;
  const long = lc ? ` >${lc.above_input_tokens} ${ORDER.map((k) => lc[k]).join(' ')}` : '';
  return `${from ? `${from} ` : ''}${base}${long}`;
}

export function decodePrice(text: string): DatedPrice {
  const [head = '', tail] = text.split(' >');
  const parts = head.split(' ');
  const from = /^\d{4}-\d{2}-\d{2}$/.test(parts[0] ?? '') ? parts.shift() : undefined;
  const [input = '0', output = '0', cache_read, cache_write_5m, cache_write_1h, web_search] = parts;
  const price: PriceEntryUsd = { input, output };
  const given = (v: string | undefined) => (v && v !== '-' ? v : undefined);
  if (given(cache_read)) price.cache_read = cache_read;
  if (given(cache_write_5m)) price.cache_write_5m = cache_write_5m;
  if (given(cache_write_1h)) price.cache_write_1h = cache_write_1h;
  if (given(web_search)) price.web_search = web_search;
  if (tail) {
    const [above = '0', li = '0', lo = '0', lr = '0', l5 = '0', l1 = '0'] = tail.split(' ');
    price.long_context = {
      above_input_tokens: Number(above),
      input: li,
      output: lo,
      cache_read: lr,
      cache_write_5m: l5,
      cache_write_1h: l1,
    };
  }
  return from ? { from, price } : { price };
}

export function decodePrices(model: CatalogModel): DatedPrice[] {
  return model.p.map(decodePrice);
}

/** The price in force on `day` (`YYYY-MM-DD`): the last listed that applies by then. */
export function priceOn(model: CatalogModel, day: string): PriceEntryUsd | undefined {
  let found: PriceEntryUsd | undefined;
  for (const p of decodePrices(model)) if (!p.from || p.from <= day) found = p.price;
  return found;
}

/** The provider's catalog entry for a model id, by the catalog's own match rules. */
export function findCatalogModel(
  data: CatalogData,
  provider: ProviderName,
  model: string,
): CatalogModel | undefined {
  return data.providers[provider]?.find(
    (m) => m.id === model.toLowerCase() || (m.match !== undefined && matches(m.match, model)),
  );
}
