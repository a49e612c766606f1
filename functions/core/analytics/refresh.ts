/**
 * Keeping the daily aggregates current. A settled day (before today, UTC) is built once; it is built
 * again only when its raw records changed after its build started: records that arrived late (spill
 * replay, crash recovery, a request that ran past midnight), a re-pricing's corrected copies, an
 * erasure. Reports then read the aggregates up to the last day of an unbroken run of fresh days, and
 * raw records after it.
 */
import type { Clock } from '../ports/clock.ts';
import type { LakeAggregates } from '../ports/lake.ts';
import type { Logger } from '../ports/logging.ts';
import { addDays, buildDaySql, type ReportRange } from './aggregates.ts';
import { checkRange, type DayRange } from './sql.ts';

export interface RefreshResult {
  /** The last day from which back to `range.from` every day is aggregated and fresh; null if none is. */
  aggregatedThrough: string | null;
  /** The days built in this run. */
  built: string[];
  /** Days whose build failed (read raw meanwhile; tried again next run), with why. */
  failed: Array<{ day: string; error: string }>;
}

/**
 * Builds the settled days of `range` that have no aggregates or stale ones, oldest first, while
 * `timeLeft()` says so; a day it could not reach is read raw until a later run builds it.
 */
export async function refreshAggregates(
  aggregates: LakeAggregates,
  range: DayRange,
  options: { now: () => Date; timeLeft?: () => boolean },
): Promise<RefreshResult> {
  const [from, to] = checkRange(range);
  const today = options.now().toISOString().slice(0, 10);
  const yesterday = addDays(today, -1);
  // biome-ignore lint/complexity/useMathMinMax: days as text; Math.min would make them NaN.
  const lastSettled = yesterday < to ? yesterday : to;
  const built = await aggregates.built();
  const result: RefreshResult = { aggregatedThrough: null, built: [], failed: [] };
  let unbroken = true;
  for (let day = from; day <= lastSettled; day = addDays(day, 1)) {
    let fresh = await isFresh(aggregates, day, built.get(day));
    if (!fresh && (options.timeLeft?.() ?? true)) {
      try {
        await aggregates.rebuild(day, buildDaySql());
        result.built.push(day);
        fresh = true;
      } catch (err) {
        result.failed.push({ day, error: err instanceof Error ? err.message : String(err) });
      }
    }
    unbroken &&= fresh;
    if (unbroken) result.aggregatedThrough = day;
  }
  return result;
}

/** Fresh: built after its raw records last changed, or a day with no raw records at all. */
async function isFresh(aggregates: LakeAggregates, day: string, builtAt: Date | undefined) {
  const changed = await aggregates.rawChangedAt(day);
  if (changed === null) return true;
  return builtAt !== undefined && changed.getTime() < builtAt.getTime();
}

/** The range, with the last day the reports may read from the aggregates (refreshed first). */
export async function withAggregates(
  deps: { aggregates?: LakeAggregates; aggregatesTimeLeft?: () => boolean; clock: Clock; log?: Logger },
  range: DayRange,
): Promise<ReportRange> {
  if (!deps.aggregates) return range;
  const refreshed = await refreshAggregates(deps.aggregates, range, {
    now: () => deps.clock.now(),
    timeLeft: deps.aggregatesTimeLeft,
  });
  if (refreshed.built.length > 0)
    deps.log?.info('aggregates.built', { days: refreshed.built.length, first: refreshed.built[0] });
  for (const failure of refreshed.failed) deps.log?.error('aggregates.build_failed', failure);
  return { ...range, aggregatedThrough: refreshed.aggregatedThrough };
}
