import { describe, expect, it } from 'vitest';
import { forViewer } from '../../../../functions/core/admin/dashboard-routes.ts';
import { rollupTopSpenders, topSpendersOfBudgets } from '../../../../functions/core/analytics/rollup.ts';
import type { BudgetStatusRow, Rollup } from '../../../../functions/core/analytics/rollup-document.ts';
import type { QueryEngine, SqlValue } from '../../../../functions/core/ports/lake.ts';

const budget = (scope_id: string, used_pct: number, runs_out_at: string | null = null): BudgetStatusRow => ({
  scope: 'team',
  scope_id,
  label: scope_id,
  mode: 'strict',
  period: '2026-12',
  starts_at: '2026-12-01T00:00:00.000Z',
  resets_at: '2027-01-01T00:00:00.000Z',
  limit_micros: 100_000_000,
  spent_micros: used_pct * 1_000_000,
  reserved_micros: 0,
  used_pct,
  forecast_micros: null,
  runs_out_at,
});

/** Answers every top-spenders query with one row naming the budget's id (its last parameter). */
function recordingEngine() {
  const calls: SqlValue[][] = [];
  const engine: QueryEngine = {
    async query(_sql, params = []) {
      calls.push(params);
      return [{ value: `top-of-${String(params.at(-1))}`, cost_micros: 42 }];
    },
  };
  return { engine, calls };
}

describe('top spenders in the rollup', () => {
  it('are computed for the budgets near an alert only, in their period, at most `limit` of them', async () => {
    // Prepare: thresholds 50/80/100 → budgets from 25 % used, or on pace to run out
    const { engine, calls } = recordingEngine();
    const budgets = [
      budget('web', 90),
      budget('data', 10, '2026-12-20T00:00:00.000Z'),
      budget('ops', 30),
      budget('idle', 5),
    ];

    // Act
    const top = await topSpendersOfBudgets(engine, budgets, {
      now: new Date('2026-12-10T12:00:00Z'),
      thresholdsPct: [50, 80, 100],
      limit: 2,
    });

    // Assess
    expect(top.map((t) => t.scope_id)).toEqual(['web', 'data']);
    expect(top[0]).toMatchObject({ scope: 'team', users: [{ value: 'top-of-web', cost_micros: 42 }] });
    expect(calls).toHaveLength(2 * 3);
    // Raw days (all of them, with no aggregates), then aggregated days (none), each with the team.
    expect(calls[0]).toEqual(['2026-12-01', '2026-12-10', 'web', '2026-12-01', '2026-11-30', 'web']);
  });

  it("are looked up by an alert's budget and period, and found nowhere for another period", async () => {
    // Prepare
    const { engine } = recordingEngine();
    const top_spenders = await topSpendersOfBudgets(engine, [budget('web', 90)], {
      now: new Date('2026-12-10T12:00:00Z'),
      thresholdsPct: [80],
    });
    const lookup = rollupTopSpenders({ latest: async () => ({ top_spenders }) as unknown as Rollup });

    // Act
    const found = await lookup({ scope: 'team', scope_id: 'web' }, { from: '2026-12-01' });
    const lastMonth = await lookup({ scope: 'team', scope_id: 'web' }, { from: '2026-11-01' });
    const other = await lookup({ scope: 'team', scope_id: 'data' }, { from: '2026-12-01' });

    // Assess
    expect(found.users).toEqual([{ value: 'top-of-web', cost_micros: 42 }]);
    expect(lastMonth).toEqual({});
    expect(other).toEqual({});
  });

  it('are left out of what a viewer sees, since they name people', () => {
    const rollup = {
      spend: { user: [], key: [], team: [] },
      budgets: [budget('web', 90)],
      top_spenders: [{ scope: 'team', scope_id: 'web', starts_at: null, users: [], models: [], agents: [] }],
    } as unknown as Rollup;
    expect('top_spenders' in forViewer(rollup)).toBe(false);
  });
});
