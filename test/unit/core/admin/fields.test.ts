import { describe, expect, it } from 'vitest';
import { day, duration, id, instant, pathParam } from '../../../../functions/core/admin/fields.ts';
import { GatewayError } from '../../../../functions/core/errors.ts';

describe('the shared admin field validators', () => {
  it.each(['2026-11-25', '2000-01-01', '2099-12-31', '2028-02-29'])('day accepts %s', (value) => {
    expect(day.safeParse(value).success).toBe(true);
  });

  it.each(['2026-02-30', '2026-13-01', '9999-99-99', '1999-12-31', '2100-01-01', '20260101', '2026-1-1'])(
    'day refuses %s',
    (value) => {
      expect(day.safeParse(value).success).toBe(false);
    },
  );

  it.each(['2026-11-25', '2026-11-25T10:00:00Z', '2026-11-25T10:00:00.123+02:00'])(
    'instant accepts %s',
    (value) => {
      expect(instant.safeParse(value).success).toBe(true);
    },
  );

  it.each(['2026-02-30T10:00:00Z', '275760-09-13', 'yesterday', '2026-11-25 10:00'])(
    'instant refuses %s',
    (value) => {
      expect(instant.safeParse(value).success).toBe(false);
    },
  );

  it('says why a duration is refused, once', () => {
    // Act
    const tooLong = duration.safeParse('13mo');
    const garbled = duration.safeParse('forever');

    // Assess
    expect(tooLong.error?.issues.map((i) => i.message)).toEqual(['at most a year (12mo, 52w, 366d)']);
    expect(garbled.error?.issues).toHaveLength(1);
  });

  it.each(['x'.repeat(257), 'tab\there', 'nul\u0000', ''])('id refuses %j', (value) => {
    expect(id.safeParse(value).success).toBe(false);
  });

  it('pathParam decodes a segment and refuses a bad escape with a 400 naming the parameter', () => {
    // Act
    const decoded = pathParam(new URL('http://x/routing/rules/a%20b'), 3, 'id');
    const bad = () => pathParam(new URL('http://x/routing/rules/%ZZ'), 3, 'id');

    // Assess
    expect(decoded).toBe('a b');
    expect(bad).toThrow(GatewayError);
    expect(bad).toThrow(/id/);
  });
});
