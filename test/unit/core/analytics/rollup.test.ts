import { describe, expect, it } from 'vitest';
import { lastDays, onDemandRollups } from '../../../../functions/core/analytics/rollup.ts';
import type { Rollup } from '../../../../functions/core/analytics/rollup-document.ts';

const rollupAt = (iso: string) => ({ generated_at: iso }) as Rollup;

describe('onDemandRollups', () => {
  it('builds once for concurrent askers, again after the TTL, and again after a failed build', async () => {
    // Prepare
    let now = 0;
    let builds = 0;
    let fail = false;
    const store = onDemandRollups(
      async () => {
        builds += 1;
        if (fail) throw new Error('athena down');
        return rollupAt(`t${builds}`);
      },
      60_000,
      { now: () => new Date(now) },
    );

    // Act
    const together = await Promise.all([store.latest(), store.latest(), store.latest()]);
    now = 61_000;
    fail = true;
    const failed = await store.latest().catch((err: Error) => err.message);
    fail = false;
    const retried = await store.latest();

    // Assess
    expect(together.map((r) => r?.generated_at)).toEqual(['t1', 't1', 't1']);
    expect(failed).toBe('athena down');
    expect(retried?.generated_at).toBe('t3');
    expect(builds).toBe(3);
  });
});

describe('lastDays', () => {
  it('is the last n UTC days, today included', () => {
    expect(lastDays(new Date('2026-03-01T05:00:00Z'), 3)).toEqual({ from: '2026-02-27', to: '2026-03-01' });
  });
});
