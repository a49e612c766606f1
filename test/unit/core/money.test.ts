import { describe, expect, it } from 'vitest';
import { formatCount, formatDollars, formatUsd } from '../../../functions/core/money.ts';

describe('formatUsd', () => {
  it('shows $1 and up with exactly two decimals, thousands grouped', () => {
    // Prepare
    const amounts = [1_391_301_500, 1_500_000, 1_000_000, 1_234_567_890_000];

    // Act
    const shown = amounts.map((a) => formatUsd(a));

    // Assess
    expect(shown).toEqual(['$1,391.30', '$1.50', '$1.00', '$1,234,567.89']);
  });

  it('shows amounts below $1 with up to four decimals, at least two', () => {
    // Prepare
    const amounts = [0, 290_000, 10_000, 47_280, 123_400, 20_034];

    // Act
    const shown = amounts.map((a) => formatUsd(a));

    // Assess
    expect(shown).toEqual(['$0.00', '$0.29', '$0.01', '$0.0473', '$0.1234', '$0.02']);
  });

  it('rounds half up at either precision, and an amount that rounds to $1 reads as dollars and cents', () => {
    // Prepare
    const amounts = [1_234_550, 1_235_000, 1_234_999, 999_950, 999_949, 50, 49];

    // Act
    const shown = amounts.map((a) => formatUsd(a));

    // Assess
    expect(shown).toEqual(['$1.23', '$1.24', '$1.23', '$1.00', '$0.9999', '$0.0001', '<$0.0001']);
  });

  it('puts the sign before the dollar sign, and never shows -$0.00', () => {
    // Prepare
    const amounts = [-2_500_000, -47_280, -49, -1];

    // Act
    const shown = amounts.map((a) => formatUsd(a));

    // Assess
    expect(shown).toEqual(['-$2.50', '-$0.0473', '>-$0.0001', '>-$0.0001']);
  });

  it('formats amounts beyond 2^53 micro-dollars given as bigint without losing digits', () => {
    // Prepare
    const amount = 9_007_199_254_740_993n;

    // Act
    const shown = formatUsd(amount);

    // Assess
    expect(shown).toBe('$9,007,199,254.74');
  });

  it('rejects amounts that are not integer micro-dollars', () => {
    // Prepare
    const fractional = 1.5;

    // Act
    const act = () => formatUsd(fractional);

    // Assess
    expect(act).toThrow(RangeError);
  });
});

describe('formatDollars', () => {
  it('shows the admin API float dollars by the same rule, and none when absent', () => {
    // Prepare
    const budgets = [25, 0.5, 1234.5, null, undefined];

    // Act
    const shown = budgets.map(formatDollars);

    // Assess
    expect(shown).toEqual(['$25.00', '$0.50', '$1,234.50', 'none', 'none']);
  });
});

describe('formatCount', () => {
  it('groups digits in threes', () => {
    // Prepare
    const counts = [0, 999, 1_000, 1_234_567];

    // Act
    const shown = counts.map(formatCount);

    // Assess
    expect(shown).toEqual(['0', '999', '1,000', '1,234,567']);
  });
});
