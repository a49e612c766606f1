import { describe, expect, it } from 'vitest';
import { formatCount, formatMicros, utcDay } from '../../../dashboard/src/format.ts';

describe('formatMicros', () => {
  it('keeps four decimals when fixed, so a column lines up on the decimal point', () => {
    // Prepare
    const amounts = [20_034, 1_500_000, 0, 47_280];

    // Act
    const shown = amounts.map((a) => formatMicros(a, { fixed: true }));

    // Assess
    expect(shown).toEqual(['$0.0200', '$1.5000', '$0.0000', '$0.0473']);
  });

  it('shows whole cents with exactly two decimals', () => {
    // Prepare
    const amounts = [0, 1_500_000, 290_000, 10_000];

    // Act
    const shown = amounts.map((a) => formatMicros(a));

    // Assess
    expect(shown).toEqual(['$0.00', '$1.50', '$0.29', '$0.01']);
  });

  it('keeps up to four decimals and drops trailing zeros beyond the second', () => {
    // Prepare
    const amounts = [1_234_567, 1_230_000, 1_234_500, 123_400];

    // Act
    const shown = amounts.map((a) => formatMicros(a));

    // Assess
    expect(shown).toEqual(['$1.2346', '$1.23', '$1.2345', '$0.1234']);
  });

  it('rounds half a ten-thousandth up and anything less down', () => {
    // Prepare
    const half = 1_234_550;
    const belowHalf = 1_234_549;

    // Act
    const shown = [formatMicros(half), formatMicros(belowHalf)];

    // Assess
    expect(shown).toEqual(['$1.2346', '$1.2345']);
  });

  it('says a non-zero amount below $0.0001 is there rather than showing $0.00', () => {
    // Prepare
    const tiny = 49;
    const justEnough = 50;

    // Act
    const shown = [formatMicros(tiny), formatMicros(justEnough)];

    // Assess
    expect(shown).toEqual(['<$0.0001', '$0.0001']);
  });

  it('groups thousands of dollars', () => {
    // Prepare
    const amount = 1_234_567_890_000;

    // Act
    const shown = formatMicros(amount);

    // Assess
    expect(shown).toBe('$1,234,567.89');
  });

  it('formats amounts beyond 2^53 micro-dollars given as bigint without losing digits', () => {
    // Prepare
    const amount = 9_007_199_254_740_993n;

    // Act
    const shown = formatMicros(amount);

    // Assess
    expect(shown).toBe('$9,007,199,254.741');
  });

  it('puts the sign before the dollar sign for negative amounts', () => {
    // Prepare
    const refund = -2_500_000;

    // Act
    const shown = formatMicros(refund);

    // Assess
    expect(shown).toBe('-$2.50');
  });

  it('rejects amounts that are not integer micro-dollars', () => {
    // Prepare
    const fractional = 1.5;

    // Act
    const act = () => formatMicros(fractional);

    // Assess
    expect(act).toThrow(RangeError);
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

describe('utcDay', () => {
  it('gives the UTC calendar day, not the local one', () => {
    // Prepare
    const lateEveningInNewYork = new Date('2026-03-01T23:30:00-05:00');

    // Act
    const day = utcDay(lateEveningInNewYork);

    // Assess
    expect(day).toBe('2026-03-02');
  });
});
