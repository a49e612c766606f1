import { describe, expect, it } from 'vitest';
import { periodChange, previousFrom } from '../../../dashboard/src/change.ts';

describe('periodChange', () => {
  it('says how much a figure rose or fell against the previous period, in whole percent', () => {
    // Prepare
    const pairs: Array<[number, number]> = [
      [112, 100],
      [92, 100],
      [100_400, 100_000],
      [300, 100],
    ];

    // Act
    const changes = pairs.map(([now, before]) => periodChange(now, before));

    // Assess
    expect(changes).toEqual([
      { trend: 'up', text: '+12%' },
      { trend: 'down', text: '−8%' },
      { trend: 'flat', text: '±0%' },
      { trend: 'up', text: '+200%' },
    ]);
  });

  it('makes no comparison when there is nothing before to compare with', () => {
    // Prepare
    const previous = [0, null];

    // Act
    const changes = previous.map((p) => periodChange(50, p));

    // Assess
    expect(changes).toEqual([null, null]);
  });
});

describe('previousFrom', () => {
  it('starts the previous period as many days before the range, across a month end, in UTC', () => {
    // Prepare
    const from = '2026-12-01';

    // Act
    const before = [previousFrom(from, 7), previousFrom(from, 30), previousFrom('2026-03-01', 1)];

    // Assess
    expect(before).toEqual(['2026-11-24', '2026-11-01', '2026-02-28']);
  });
});
