import { describe, expect, it } from 'vitest';
import { refreshAggregates } from '../../../../functions/core/analytics/refresh.ts';
import type { LakeAggregates } from '../../../../functions/core/ports/lake.ts';

/** Aggregates in memory: days built at a time, raw partitions changed at a time, builds that may fail. */
function aggregatesOf(state: {
  built: Record<string, number>;
  raw: Record<string, number>;
  failing?: string[];
}): LakeAggregates & { rebuilt: string[] } {
  const rebuilt: string[] = [];
  return {
    rebuilt,
    async built() {
      return new Map(Object.entries(state.built).map(([day, at]) => [day, new Date(at)]));
    },
    async rawChangedAt(day) {
      return state.raw[day] === undefined ? null : new Date(state.raw[day]);
    },
    async rebuild(day) {
      if (state.failing?.includes(day)) throw new Error(`UNLOAD of ${day} failed`);
      rebuilt.push(day);
    },
  };
}

const now = () => new Date('2026-11-05T10:00:00Z');
const RANGE = { from: '2026-11-01', to: '2026-11-05' };

describe('keeping the daily aggregates current', () => {
  it('builds settled days without aggregates or with older ones, never today, and leaves fresh ones', async () => {
    // Prepare: 11-01 fresh, 11-02 changed after its build, 11-03 never built, 11-04 no records at all.
    const aggregates = aggregatesOf({
      built: { '2026-11-01': 2_000, '2026-11-02': 2_000 },
      raw: { '2026-11-01': 1_000, '2026-11-02': 3_000, '2026-11-03': 1_000, '2026-11-05': 1_000 },
    });

    // Act
    const result = await refreshAggregates(aggregates, RANGE, { now });

    // Assess
    expect(aggregates.rebuilt).toEqual(['2026-11-02', '2026-11-03']);
    expect(result).toEqual({ aggregatedThrough: '2026-11-04', built: aggregates.rebuilt, failed: [] });
  });

  it('reads raw from the first day it could not build: a failed build, or one past the time allowed', async () => {
    // Prepare
    const raw = { '2026-11-01': 1, '2026-11-02': 1, '2026-11-03': 1, '2026-11-04': 1 };
    const failing = aggregatesOf({ built: {}, raw, failing: ['2026-11-02'] });
    let budget = 1;
    const slow = aggregatesOf({ built: {}, raw });

    // Act
    const afterFailure = await refreshAggregates(failing, RANGE, { now });
    const outOfTime = await refreshAggregates(slow, RANGE, { now, timeLeft: () => budget-- > 0 });

    // Assess: the days after a gap are still built, for the next run to use.
    expect(afterFailure.aggregatedThrough).toBe('2026-11-01');
    expect(afterFailure.built).toEqual(['2026-11-01', '2026-11-03', '2026-11-04']);
    expect(afterFailure.failed).toEqual([{ day: '2026-11-02', error: 'UNLOAD of 2026-11-02 failed' }]);
    expect(outOfTime).toEqual({ aggregatedThrough: '2026-11-01', built: ['2026-11-01'], failed: [] });
  });
});
