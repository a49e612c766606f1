import { describe, expect, it } from 'vitest';
import { type SpendRow, totalsByValue } from '../../../../functions/core/analytics/spend.ts';

const row = (day: string, value: string, cost: number): SpendRow => ({
  day,
  value,
  requests: 1,
  cost_micros: cost,
  shadow_cost_micros: cost,
  input_tokens: 10,
  output_tokens: 5,
  cache_read_tokens: 0,
  cache_write_tokens: 0,
  reasoning_tokens: 0,
});

describe('totalsByValue', () => {
  it('sums each value over the days, most expensive first', () => {
    // Prepare
    const rows = [
      row('2026-11-01', 'ann', 100),
      row('2026-11-01', 'ben', 250),
      row('2026-11-02', 'ann', 300),
    ];

    // Act
    const totals = totalsByValue(rows);

    // Assess
    expect(totals).toEqual([
      {
        value: 'ann',
        requests: 2,
        cost_micros: 400,
        shadow_cost_micros: 400,
        input_tokens: 20,
        output_tokens: 10,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
      },
      {
        value: 'ben',
        requests: 1,
        cost_micros: 250,
        shadow_cost_micros: 250,
        input_tokens: 10,
        output_tokens: 5,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
      },
    ]);
  });
});
