/**
 * Re-pricing: a price correction recomputes cost from the tokens every record kept, so it needs no
 * raw request. A re-priced record is a new copy with the same `request_id` and a newer
 * `price_version`; the queries keep the copy with the newest version, so every report moves to the
 * corrected price at once and the original stays in the lake. Budgets are not touched: they were
 * enforced at the price in force when the request ran.
 */
import { recordsOfDay } from '../analytics/queries.ts';
import { checkRange, type DayRange } from '../analytics/sql.ts';
import type { QueryEngine, UsageSink } from '../ports/lake.ts';
import type { ModelCatalog } from '../pricing/catalog.ts';
import { costMicros } from '../pricing/cost.ts';
import { comparePriceVersions } from '../pricing/version.ts';
import type { UsageRecord } from './record.ts';

/** Price versions are days (`2026-12-01`): a later day is a newer version, and wins the dedupe. */
export const PRICE_VERSION_FORMAT = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The record at the catalog's prices, or null when the catalog's version is not newer than the
 * record's, its model is unknown, or the cost does not change. A flat-rate (subscription) record
 * bills nothing and keeps billing nothing; an unbilled call (token counting, a warm-up: no cost and
 * no list cost) stays unbilled — which also means a billed record priced at zero by mistake cannot be
 * told apart from one, and is left as it is.
 */
export function repriceRecord(record: UsageRecord, catalog: ModelCatalog): UsageRecord | null {
  const model = record.model_used ? catalog.resolve(record.model_used) : undefined;
  if (
    !model ||
    (record.price_version !== null && comparePriceVersions(model.price.version, record.price_version) <= 0)
  )
    return null;
  const unbilled = record.cost_micros === 0 && record.shadow_cost_micros === 0;
  if (unbilled) return null;
  const subscription = record.cost_micros === 0 && record.shadow_cost_micros > 0;
  // Records before schema 4 did not count web searches: they are re-priced on their tokens alone.
  const list = costMicros({ ...record, web_search_requests: record.web_search_requests ?? 0 }, model.price);
  if (list === record.shadow_cost_micros) return null;
  return {
    ...record,
    cost_micros: subscription ? 0 : list,
    shadow_cost_micros: list,
    price_version: model.price.version,
  };
}

export interface RepriceResult {
  days: number;
  /** The first day not yet re-priced when `timeLeft` ran out, or null when the range is done. */
  next_day: string | null;
  records: number;
  repriced: number;
  cost_before_micros: number;
  cost_after_micros: number;
}

/**
 * Re-prices every record of the range, a day at a time, writing the new copies through `sink`; stops
 * between days when `timeLeft` says so and names the day to resume from. Running it again is safe:
 * records already at this version are left alone.
 */
export async function repriceRange(
  deps: { query: QueryEngine; sink: UsageSink; catalog: ModelCatalog },
  range: DayRange,
  timeLeft: () => boolean = () => true,
): Promise<RepriceResult> {
  const [from, to] = checkRange(range);
  const result: RepriceResult = {
    days: 0,
    next_day: null,
    records: 0,
    repriced: 0,
    cost_before_micros: 0,
    cost_after_micros: 0,
  };
  for (let day = from; day <= to; day = nextDay(day)) {
    if (!timeLeft()) {
      result.next_day = day;
      break;
    }
    const records = await recordsOfDay(deps.query, day);
    const changed = records.flatMap((r) => {
      const repriced = repriceRecord(r, deps.catalog);
      result.cost_before_micros += r.cost_micros;
      result.cost_after_micros += (repriced ?? r).cost_micros;
      return repriced ? [repriced] : [];
    });
    if (changed.length > 0) await deps.sink.write(changed);
    result.days += 1;
    result.records += records.length;
    result.repriced += changed.length;
  }
  return result;
}

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}
