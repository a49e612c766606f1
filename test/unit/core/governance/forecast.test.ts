import { describe, expect, it } from 'vitest';
import { forecastAlert, forecastBudget } from '../../../../functions/core/governance/forecast.ts';

const november = { starts_at: '2026-11-01T00:00:00.000Z', resets_at: '2026-12-01T00:00:00.000Z' };

describe('forecastBudget', () => {
  it('projects spend at the period-to-date rate and names the day a $2,000 budget runs out', () => {
    // Prepare: $1,000 spent in the first 10 days of a 30-day month: $100 a day.
    const now = new Date('2026-11-11T00:00:00.000Z');

    // Act
    const f = forecastBudget({ ...november, spent_micros: 1_000_000_000, limit_micros: 2_000_000_000 }, now);

    // Assess: $3,000 by the end of the month; $2,000 is reached on day 20, the 21st at 00:00.
    expect(f).toEqual({ forecast_micros: 3_000_000_000, runs_out_at: '2026-11-21T00:00:00.000Z' });
  });

  it('names no run-out day for a budget on pace to stay within its limit', () => {
    // Prepare: $500 in 10 days → $1,500 by the end.
    const now = new Date('2026-11-11T00:00:00.000Z');

    // Act
    const f = forecastBudget({ ...november, spent_micros: 500_000_000, limit_micros: 2_000_000_000 }, now);

    // Assess
    expect(f).toEqual({ forecast_micros: 1_500_000_000, runs_out_at: null });
  });

  it('says now for a budget already past its limit', () => {
    // Prepare
    const now = new Date('2026-11-11T00:00:00.000Z');

    // Act
    const f = forecastBudget({ ...november, spent_micros: 2_500_000_000, limit_micros: 2_000_000_000 }, now);

    // Assess
    expect(f?.runs_out_at).toBe('2026-11-11T00:00:00.000Z');
  });

  it.each([
    ['a lifetime budget', { starts_at: null, resets_at: null }, '2026-11-11T00:00:00.000Z'],
    ['a period begun less than an hour ago', november, '2026-11-01T00:30:00.000Z'],
    ['a period that has ended', november, '2026-12-01T00:00:00.000Z'],
  ])('makes no forecast for %s', (_name, period, at) => {
    // Act
    const f = forecastBudget({ ...period, spent_micros: 1_000, limit_micros: 10_000 }, new Date(at));

    // Assess
    expect(f).toBeNull();
  });
});

describe('forecastAlert', () => {
  const budget = {
    scope: 'team',
    scope_id: 'backend',
    label: 'backend-eng',
    period: '2026-11',
    ...november,
    limit_micros: 2_000_000_000,
    spent_micros: 1_000_000_000,
    ...forecastBudget(
      { ...november, spent_micros: 1_000_000_000, limit_micros: 2_000_000_000 },
      new Date('2026-11-11T00:00:00.000Z'),
    )!,
  };

  it('warns that a budget on pace to run out will do so around the day it does', () => {
    // Act
    const alert = forecastAlert(budget, new Date('2026-11-11T00:00:00.000Z'));

    // Assess
    expect(alert?.subject).toBe("Tollgate: team 'backend-eng' is on pace to run out of budget around 21 Nov");
    expect(alert?.message).toContain('$2,000.00 budget around 21 Nov');
    expect(alert?.once_key).toBe('team:backend|2026-11|forecast');
  });

  it.each([
    ['too early in the period (less than a tenth of it)', {}, '2026-11-02T12:00:00.000Z'],
    ['not running out', { runs_out_at: null }, '2026-11-11T00:00:00.000Z'],
    ['already spent (the 100 % alert says so)', { spent_micros: 2_000_000_000 }, '2026-11-11T00:00:00.000Z'],
  ])('stays quiet for a budget %s', (_name, change, at) => {
    // Act
    const alert = forecastAlert({ ...budget, ...change }, new Date(at));

    // Assess
    expect(alert).toBeNull();
  });
});
