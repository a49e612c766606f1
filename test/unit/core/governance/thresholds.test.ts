import { describe, expect, it } from 'vitest';
import { crossings, onceEach, toAlert } from '../../../../functions/core/governance/thresholds.ts';
import type { BudgetCounter } from '../../../../functions/core/ports/budgets.ts';

const team: BudgetCounter = {
  scope: 'team',
  scope_id: 'backend',
  label: 'backend-eng',
  period: '2026-12',
  starts_at: '2026-12-01T00:00:00.000Z',
  resets_at: '2027-01-01T00:00:00.000Z',
  limit_micros: 2_000_000_000,
  mode: 'strict',
  soft_limit_micros: 1_500_000_000,
};
const settled = (before: number, after: number, counter = team) => [
  { counter, spent_before_micros: before, spent_after_micros: after },
];

describe('budget threshold crossings', () => {
  it('finds the 80 % level crossed by a settlement that moves spend from 79.9 % to 80.1 %', () => {
    // Prepare
    const s = settled(1_598_000_000, 1_602_000_000);

    // Act
    const found = crossings(s, [50, 80, 100]);

    // Assess: 80 % and the $1,500 soft budget lie below both, so only 80 % is crossed here.
    expect(found.map((c) => c.level)).toEqual([80]);
    expect(found[0]).toMatchObject({ level_micros: 1_600_000_000, spent_micros: 1_602_000_000 });
  });

  it('finds every level a large settlement jumps over, soft budget included', () => {
    // Prepare
    const s = settled(900_000_000, 2_100_000_000);

    // Act
    const found = crossings(s, [50, 80, 100]);

    // Assess
    expect(found.map((c) => c.level)).toEqual([50, 80, 100, 'soft_budget']);
  });

  it('counts reaching a level exactly as crossing it, and staying on it as not', () => {
    // Prepare
    const reaching = settled(999_999_999, 1_000_000_000);
    const staying = settled(1_000_000_000, 1_000_000_000);

    // Act
    const [reached, stayed] = [crossings(reaching, [50]), crossings(staying, [50])];

    // Assess
    expect(reached).toHaveLength(1);
    expect(stayed).toHaveLength(0);
  });

  it('finds nothing on a counter without a limit or soft budget', () => {
    // Prepare
    const s = settled(0, 10_000_000_000, { ...team, limit_micros: null, soft_limit_micros: null });

    // Act
    const found = crossings(s, [50, 80, 100]);

    // Assess
    expect(found).toEqual([]);
  });
});

describe('toAlert', () => {
  it('says which budget, how much is spent of what, and when it resets, at a severity by level', () => {
    // Prepare
    const [crossing] = crossings(settled(1_598_000_000, 1_602_000_000), [80]);

    // Act
    const alert = toAlert(crossing!);

    // Assess
    expect(alert).toMatchObject({
      severity: 'warning',
      scope: 'team:backend',
      subject: "Tollgate: team 'backend-eng' reached 80% of its budget",
    });
    expect(alert.message).toContain('$1,602.00 spent of $2,000.00');
    expect(alert.message).toContain('2027-01-01T00:00:00.000Z');
    expect(toAlert({ ...crossing!, level: 100 }).severity).toBe('critical');
  });
});

describe('onceEach', () => {
  it('passes an alert on once per key, and alerts without a key every time', async () => {
    // Prepare
    const taken = new Set<string>();
    const claims = { claim: async (key: string) => !taken.has(key) && Boolean(taken.add(key)) };
    const sent: string[] = [];
    const notifier = onceEach(claims, { notify: async (a) => void sent.push(a.subject) });
    const [crossing] = crossings(settled(1_598_000_000, 1_602_000_000), [80]);
    const alert = toAlert(crossing!);

    // Act
    await notifier.notify(alert);
    await notifier.notify(alert);
    await notifier.notify({ ...alert, once_key: undefined, subject: 'digest' });
    await notifier.notify({ ...alert, once_key: undefined, subject: 'digest' });

    // Assess
    expect(sent).toEqual([alert.subject, 'digest', 'digest']);
    expect(alert.once_key).toBe('team:backend|2026-12|80');
  });
});

describe('toAlert with the time', () => {
  it('adds where the budget is heading at its pace so far', () => {
    // Prepare: $1,602 of $2,000 spent in the first 10 days of December: $160.20 a day → out on day 12.5.
    const [crossing] = crossings(settled(1_598_000_000, 1_602_000_000), [80]);

    // Act
    const alert = toAlert(crossing!, new Date('2026-12-11T00:00:00.000Z'));

    // Assess
    expect(alert.message).toContain('At this pace it runs out around 2026-12-13.');
  });
});
