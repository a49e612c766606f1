import { describe, expect, it } from 'vitest';
import { type RoutingRow, routingTotals } from '../../../functions/core/analytics/routing.ts';

const row = (day: string, rule_id: string, used: string, requests: number, moved: number): RoutingRow => ({
  day,
  rule_id,
  rule: `rule ${rule_id}`,
  model_requested: 'claude-opus-4-5',
  model_used: used,
  requests,
  cost_micros: 100 * requests,
  shadow_cost_micros: 100 * requests,
  cost_as_requested_micros: 100 * requests + moved,
  moved_micros: moved,
  fallback_requests: requests > 1 ? 1 : 0,
});

describe('routing totals', () => {
  it('sums the days per rule and models, the most spend moved first', () => {
    // Act
    const totals = routingTotals([
      row('2026-11-30', 'a', 'claude-sonnet-4-5', 2, 300),
      row('2026-11-30', 'b', 'claude-haiku-4-5', 1, 900),
      row('2026-12-01', 'a', 'claude-sonnet-4-5', 3, 700),
      row('2026-12-01', 'a', 'claude-haiku-4-5', 1, 50),
    ]);

    // Assess
    expect(
      totals.map((t) => [
        t.rule_id,
        t.model_used,
        t.requests,
        t.moved_micros,
        t.cost_as_requested_micros,
        t.fallback_requests,
      ]),
    ).toEqual([
      ['a', 'claude-sonnet-4-5', 5, 1_000, 1_500, 2],
      ['b', 'claude-haiku-4-5', 1, 900, 1_000, 0],
      ['a', 'claude-haiku-4-5', 1, 50, 150, 0],
    ]);
  });
});
