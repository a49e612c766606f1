/**
 * What every report's SQL shares. Each text runs unchanged on Athena (Trino, engine v3) and on DuckDB,
 * so it keeps to their common subset: `count(DISTINCT)`, `CAST(... AS DOUBLE)` before dividing,
 * `date_trunc('week', ts)` (ISO weeks, from Monday), `LEFT JOIN UNNEST(...) AS t(x) ON true`, `date + INTERVAL
 * 'n' DAY` cast back to DATE, dates as text through `CAST(d AS VARCHAR)`. `approx_percentile` is
 * Trino's; DuckDB gets a macro of that name (adapters/local/duckdb-query.ts).
 */
import type { Row } from '../ports/lake.ts';

/**
 * `priceVersionKey` (core/pricing/version.ts) in SQL both engines run: a text that sorts as price
 * versions do, so `genai-prices@0.1.10` is newer than `genai-prices@0.1.9` and a re-pricing's day newer
 * than either. `regexp_extract` answers NULL on Athena and '' on DuckDB when nothing matches.
 */
export function priceVersionOrder(column = 'price_version'): string {
  const day = String.raw`'^\d{4}-\d{2}-\d{2}'`;
  const semver = String.raw`'@(\d+)\.(\d+)\.(\d+)'`;
  const part = (n: number) => `lpad(regexp_extract(${column}, ${semver}, ${n}), 6, '0')`;
  return `CASE
        WHEN coalesce(regexp_extract(${column}, ${day}), '') <> '' THEN '2' || regexp_extract(${column}, ${day})
        WHEN coalesce(regexp_extract(${column}, ${semver}), '') <> '' THEN '1' || ${part(1)} || ${part(2)} || ${part(3)}
        ELSE '0' || coalesce(${column}, '')
      END`;
}

/**
 * One row per `request_id` (delivery is at-least-once, and a re-priced record is a new copy): of the
 * copies whose `dt` satisfies `dtFilter`, the one with the newest price version, and of those the
 * earliest, as the CTE `deduped`, with `copy_number = 1` marking the one to keep.
 *
 * Every copy of a request has its `dt` (the day it started, core/usage/build.ts), so partitioning by
 * `dt` too changes no result, and lets both engines push a filter on the day through the window: a
 * query of an analyst view for some days reads those days' partitions only, not the whole history.
 */
export function dedupedUsage(columns: string[], dtFilter: string): string {
  return `WITH deduped AS (
  SELECT ${columns.join(', ')},
    row_number() OVER (
      PARTITION BY dt, request_id
      ORDER BY CASE WHEN outcome = 'lost' THEN 1 ELSE 0 END, ${priceVersionOrder()} DESC, ts
    ) AS copy_number
  FROM usage
  WHERE ${dtFilter}
)`;
}

/** A dimension with no value (a key without a user, a request without a team) is reported as this. */
export const NONE = '(none)';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A real calendar day as `YYYY-MM-DD`; anything else is a caller bug, not an empty report. */
export function checkDay(day: string): string {
  const date = new Date(`${day}T00:00:00Z`);
  if (!DAY.test(day) || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== day) {
    throw new RangeError(`Expected a day as YYYY-MM-DD, got '${day}'`);
  }
  return day;
}

export interface DayRange {
  /** First day, inclusive, `YYYY-MM-DD` (UTC). */
  from: string;
  /** Last day, inclusive. */
  to: string;
}

export function checkRange({ from, to }: DayRange): [string, string] {
  if (checkDay(from) > checkDay(to)) throw new RangeError(`Range starts (${from}) after it ends (${to})`);
  return [from, to];
}

export function text(row: Row, column: string): string | null {
  const value = row[column];
  return value === null || value === undefined ? null : String(value);
}

export function integer(row: Row, column: string): number {
  const value = Number(row[column] ?? 0);
  if (!Number.isSafeInteger(value))
    throw new RangeError(`Column ${column} is not an integer: ${row[column]}`);
  return value;
}

export function decimal(row: Row, column: string): number | null {
  const value = row[column];
  return value === null || value === undefined ? null : Number(value);
}

/** A DATE column as `YYYY-MM-DD`, whether the engine answered `2026-11-30` or an ISO timestamp. */
export function day(row: Row, column: string): string {
  return String(row[column] ?? '').slice(0, 10);
}
