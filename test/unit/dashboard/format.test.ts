import { describe, expect, it } from 'vitest';
import { utcDay } from '../../../dashboard/src/format.ts';

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
