import { describe, expect, it } from 'vitest';
import {
  isValidDuration,
  isValidTimeZone,
  isWithinAYear,
  periodFor,
} from '../../../../functions/core/governance/periods.ts';

const at = (iso: string) => new Date(iso);
/** The period as plain strings, so a failure shows all three at once. */
const show = (p: { id: string; start: Date; end: Date }) => ({
  id: p.id,
  start: p.start.toISOString(),
  end: p.end.toISOString(),
});
/** Calendar periods ignore the anchor; this one is deliberately odd. */
const ANCHOR = at('2019-07-17T13:45:00.000Z');

describe('daily periods', () => {
  it('runs from UTC midnight to the next, even at the last millisecond of the day', () => {
    // Prepare
    const now = at('2026-11-25T23:59:59.999Z');

    // Act
    const period = periodFor('daily', ANCHOR, now);

    // Assess
    expect(show(period)).toEqual({
      id: '2026-11-25',
      start: '2026-11-25T00:00:00.000Z',
      end: '2026-11-26T00:00:00.000Z',
    });
  });

  it('uses the UTC date, not the date where the timestamp was written', () => {
    // Prepare
    // 23:30 in New York on the 29th is 04:30 UTC on the 30th.
    const now = at('2026-11-29T23:30:00-05:00');

    // Act
    const period = periodFor('daily', ANCHOR, now);

    // Assess
    expect(period.id).toBe('2026-11-30');
  });
});

describe('weekly periods (ISO weeks, from Monday)', () => {
  // Week numbers checked against `date -u -d <day> +%G-W%V`.
  it.each([
    ['2026-11-25T12:00:00.000Z', '2026-W48', '2026-11-23', '2026-11-30'],
    ['2026-11-30T00:00:00.000Z', '2026-W49', '2026-11-30', '2026-12-07'],
    ['2026-12-28T00:00:00.000Z', '2026-W53', '2026-12-28', '2027-01-04'],
    ['2026-12-31T12:00:00.000Z', '2026-W53', '2026-12-28', '2027-01-04'],
    ['2027-01-01T00:00:00.000Z', '2026-W53', '2026-12-28', '2027-01-04'],
    ['2027-01-03T23:59:59.999Z', '2026-W53', '2026-12-28', '2027-01-04'],
    ['2027-01-04T00:00:00.000Z', '2027-W01', '2027-01-04', '2027-01-11'],
    ['2024-12-30T08:00:00.000Z', '2025-W01', '2024-12-30', '2025-01-06'],
    ['2025-12-29T08:00:00.000Z', '2026-W01', '2025-12-29', '2026-01-05'],
    ['2026-01-01T08:00:00.000Z', '2026-W01', '2025-12-29', '2026-01-05'],
    ['2021-01-03T08:00:00.000Z', '2020-W53', '2020-12-28', '2021-01-04'],
  ])('puts %s in %s', (nowIso, id, startDay, endDay) => {
    // Prepare
    const now = at(nowIso);

    // Act
    const period = periodFor('weekly', ANCHOR, now);

    // Assess
    expect(show(period)).toEqual({
      id,
      start: `${startDay}T00:00:00.000Z`,
      end: `${endDay}T00:00:00.000Z`,
    });
  });
});

describe('monthly periods', () => {
  it.each([
    ['2026-12-31T23:59:59.999Z', '2026-12', '2026-12-01', '2027-01-01'],
    ['2027-01-01T00:00:00.000Z', '2027-01', '2027-01-01', '2027-02-01'],
    ['2028-02-29T23:59:59.999Z', '2028-02', '2028-02-01', '2028-03-01'],
    ['2026-11-30T23:59:59.999Z', '2026-11', '2026-11-01', '2026-12-01'],
  ])('puts %s in calendar month %s', (nowIso, id, startDay, endDay) => {
    // Prepare
    const now = at(nowIso);

    // Act
    const period = periodFor('monthly', ANCHOR, now);

    // Assess
    expect(show(period)).toEqual({
      id,
      start: `${startDay}T00:00:00.000Z`,
      end: `${endDay}T00:00:00.000Z`,
    });
  });
});

describe('month windows anchored at creation (LiteLLM `1mo`)', () => {
  it('ends the first window of a Jan 31 budget on Feb 28 at the creation time of day', () => {
    // Prepare
    const anchor = at('2026-01-31T10:00:00.000Z');
    const now = at('2026-02-15T00:00:00.000Z');

    // Act
    const period = periodFor('1mo', anchor, now);

    // Assess
    expect(show(period)).toEqual({
      id: 'w:2026-01-31T10:00:00.000Z',
      start: '2026-01-31T10:00:00.000Z',
      end: '2026-02-28T10:00:00.000Z',
    });
  });

  it('ends it on Feb 29 in a leap year', () => {
    // Prepare
    const anchor = at('2028-01-31T10:00:00.000Z');
    const now = at('2028-02-29T09:59:59.999Z');

    // Act
    const period = periodFor('1mo', anchor, now);

    // Assess
    expect(show(period)).toMatchObject({
      start: '2028-01-31T10:00:00.000Z',
      end: '2028-02-29T10:00:00.000Z',
    });
  });

  it('goes back to the 31st for March rather than keeping the clamped 28th', () => {
    // Prepare
    const anchor = at('2026-01-31T10:00:00.000Z');
    const now = at('2026-03-01T00:00:00.000Z');

    // Act
    const period = periodFor('1mo', anchor, now);

    // Assess
    expect(show(period)).toEqual({
      id: 'w:2026-02-28T10:00:00.000Z',
      start: '2026-02-28T10:00:00.000Z',
      end: '2026-03-31T10:00:00.000Z',
    });
  });

  it('starts the next window at the exact anniversary instant', () => {
    // Prepare
    const anchor = at('2026-01-20T08:00:00.000Z');
    const before = at('2026-02-20T07:59:59.999Z');
    const onTheDot = at('2026-02-20T08:00:00.000Z');

    // Act
    const periods = [periodFor('1mo', anchor, before), periodFor('1mo', anchor, onTheDot)];

    // Assess
    expect(periods.map((p) => p.start.toISOString())).toEqual([
      '2026-01-20T08:00:00.000Z',
      '2026-02-20T08:00:00.000Z',
    ]);
  });

  it('steps in whole multiples for `3mo`, across a year end', () => {
    // Prepare
    const anchor = at('2026-11-15T00:00:00.000Z');
    const now = at('2027-05-10T00:00:00.000Z');

    // Act
    const period = periodFor('3mo', anchor, now);

    // Assess
    expect(show(period)).toMatchObject({
      start: '2027-02-15T00:00:00.000Z',
      end: '2027-05-15T00:00:00.000Z',
    });
  });
});

describe('fixed windows anchored at creation', () => {
  it.each([
    // 63.5 days after Jan 1: window 2 of 30 days, from day 60 (Mar 2) to day 90 (Apr 1)
    [
      '30d',
      '2026-01-01T00:00:00.000Z',
      '2026-03-05T12:00:00.000Z',
      '2026-03-02T00:00:00.000Z',
      '2026-04-01T00:00:00.000Z',
    ],
    // one millisecond before the first week is over
    [
      '7d',
      '2026-11-25T08:30:00.000Z',
      '2026-12-02T08:29:59.999Z',
      '2026-11-25T08:30:00.000Z',
      '2026-12-02T08:30:00.000Z',
    ],
    // the instant it is over
    [
      '7d',
      '2026-11-25T08:30:00.000Z',
      '2026-12-02T08:30:00.000Z',
      '2026-12-02T08:30:00.000Z',
      '2026-12-09T08:30:00.000Z',
    ],
    [
      '1w',
      '2026-11-25T08:30:00.000Z',
      '2026-12-02T08:30:00.000Z',
      '2026-12-02T08:30:00.000Z',
      '2026-12-09T08:30:00.000Z',
    ],
    // 23 hours after 06:00: the second 12-hour window
    [
      '12h',
      '2026-11-25T06:00:00.000Z',
      '2026-11-26T05:00:00.000Z',
      '2026-11-25T18:00:00.000Z',
      '2026-11-26T06:00:00.000Z',
    ],
    [
      '15m',
      '2026-11-25T06:00:00.000Z',
      '2026-11-25T06:44:00.000Z',
      '2026-11-25T06:30:00.000Z',
      '2026-11-25T06:45:00.000Z',
    ],
    [
      '1d',
      '2026-11-25T06:00:00.000Z',
      '2026-11-25T05:00:00.000Z',
      '2026-11-24T06:00:00.000Z',
      '2026-11-25T06:00:00.000Z',
    ],
  ])(
    'puts %s anchored at %s, at %s, in the window from %s to %s',
    (duration, anchorIso, nowIso, start, end) => {
      // Prepare
      const anchor = at(anchorIso);
      const now = at(nowIso);

      // Act
      const period = periodFor(duration, anchor, now);

      // Assess
      expect(show(period)).toEqual({ id: `w:${start}`, start, end });
    },
  );
});

describe('invalid durations', () => {
  it.each(['', '30', 'd', '-1d', '1y', '1.5d', '1 d', '1D', 'Monthly', 'month', '0d', '0mo'])(
    'periodFor rejects %j',
    (duration) => {
      // Prepare
      const now = at('2026-11-25T00:00:00.000Z');

      // Act
      const compute = () => periodFor(duration, now, now);

      // Assess
      expect(compute).toThrow(/Invalid budget_duration/);
    },
  );

  it.each(['', '30', '-1d', '1y', '1.5d', '1D', 'Monthly'])('isValidDuration rejects %j', (duration) => {
    // Prepare
    const text = duration;

    // Act
    const valid = isValidDuration(text);

    // Assess
    expect(valid).toBe(false);
  });

  it.each(['daily', 'weekly', 'monthly', '30d', '1mo', '12h', '1w', '90s', '15m'])(
    'isValidDuration accepts %j',
    (duration) => {
      // Prepare
      const text = duration;

      // Act
      const valid = isValidDuration(text);

      // Assess
      expect(valid).toBe(true);
    },
  );

  // The admin API validates budget_duration with isValidDuration: a zero-length window must be refused
  // there, since periodFor cannot compute one.
  it.each(['0d', '0mo'])('isValidDuration rejects the zero-length %j that periodFor refuses', (duration) => {
    // Prepare
    const text = duration;

    // Act
    const valid = isValidDuration(text);

    // Assess
    expect(valid).toBe(false);
  });
});

describe('calendar periods in a configured time zone', () => {
  it('starts a Berlin month at local midnight, an hour before UTC midnight in winter', () => {
    // Prepare: 23:30 UTC on 30 Nov is 00:30 on 1 Dec in Berlin (UTC+1).
    const now = new Date('2026-11-30T23:30:00Z');

    // Act
    const period = periodFor('monthly', ANCHOR, now, 'Europe/Berlin');

    // Assess
    expect(period.id).toBe('2026-12');
    expect(period.start.toISOString()).toBe('2026-11-30T23:00:00.000Z');
    expect(period.end.toISOString()).toBe('2026-12-31T23:00:00.000Z');
  });

  it('gives New York the 23-hour day on which daylight saving time begins', () => {
    // Prepare: 8 March 2026, clocks go from 02:00 EST to 03:00 EDT.
    const now = new Date('2026-03-08T12:00:00Z');

    // Act
    const period = periodFor('daily', ANCHOR, now, 'America/New_York');

    // Assess
    expect(period.id).toBe('2026-03-08');
    expect(period.start.toISOString()).toBe('2026-03-08T05:00:00.000Z');
    expect(period.end.toISOString()).toBe('2026-03-09T04:00:00.000Z');
  });

  it('starts a Tokyo ISO week on Monday local midnight, which is Sunday 15:00 UTC', () => {
    // Prepare: Sunday 29 Nov 2026 16:00 UTC is Monday 30 Nov 01:00 in Tokyo (UTC+9).
    const now = new Date('2026-11-29T16:00:00Z');

    // Act
    const period = periodFor('weekly', ANCHOR, now, 'Asia/Tokyo');

    // Assess
    expect(period.id).toBe('2026-W49');
    expect(period.start.toISOString()).toBe('2026-11-29T15:00:00.000Z');
    expect(period.end.toISOString()).toBe('2026-12-06T15:00:00.000Z');
  });

  it('is the UTC period when the zone is UTC', () => {
    // Prepare
    const now = new Date('2026-11-30T23:30:00Z');

    // Act
    const zoned = periodFor('monthly', ANCHOR, now, 'UTC');

    // Assess
    expect(zoned).toEqual(periodFor('monthly', ANCHOR, now));
    expect(zoned.id).toBe('2026-11');
  });

  it.each([
    ['Europe/Berlin', true],
    ['UTC', true],
    ['Mars/Olympus', false],
  ])('isValidTimeZone(%j) is %j', (zone, valid) => {
    // Prepare
    const name = zone;

    // Act
    const result = isValidTimeZone(name);

    // Assess
    expect(result).toBe(valid);
  });
});

describe('days whose midnight a zone skips or repeats', () => {
  it('starts a Santiago day at 01:00 local when the clocks jump from 00:00 to 01:00', () => {
    // Prepare: on 8 Sep 2024 Chile moved from UTC-4 to UTC-3 at local midnight.
    const now = new Date('2024-09-08T12:00:00Z');

    // Act
    const period = periodFor('daily', ANCHOR, now, 'America/Santiago');

    // Assess: the day's first instant is 01:00 UTC-3 = 04:00Z, not 03:00Z (still 7 Sep there).
    expect(period.id).toBe('2024-09-08');
    expect(period.start.toISOString()).toBe('2024-09-08T04:00:00.000Z');
    expect(period.start.getTime()).toBeLessThanOrEqual(now.getTime());
  });

  it('never starts a period after the instant it was asked about, over a year of days in many zones', () => {
    // Prepare
    const zones = [
      'America/Santiago',
      'America/Havana',
      'Asia/Gaza',
      'Atlantic/Azores',
      'Australia/Lord_Howe',
      'Asia/Kathmandu',
    ];
    const instants = Array.from(
      { length: 365 * 4 },
      (_, i) => new Date(Date.UTC(2024, 0, 1) + i * 6 * 3_600_000),
    );

    // Act
    const wrong = zones.flatMap((zone) =>
      instants
        .map((now) => ({ zone, now, period: periodFor('daily', ANCHOR, now, zone) }))
        .filter(({ now, period }) => period.start > now || period.end <= now),
    );

    // Assess
    expect(wrong.map((w) => `${w.zone} ${w.now.toISOString()}`)).toEqual([]);
  });
});

describe('isWithinAYear', () => {
  it.each(['daily', 'weekly', 'monthly', '12mo', '52w', '366d', '8784h'])('accepts %s', (duration) => {
    expect(isWithinAYear(duration)).toBe(true);
  });

  it.each(['13mo', '53w', '367d', '999999999999mo', '9999999999999w'])('refuses %s', (duration) => {
    expect(isWithinAYear(duration)).toBe(false);
  });
});

describe('periodFor on a stored duration far beyond a year', () => {
  it('throws a RangeError naming the duration instead of answering an invalid date', () => {
    // Prepare
    const anchor = new Date('2026-01-15T00:00:00Z');

    // Act
    const compute = () => periodFor('999999999999mo', anchor, new Date('2026-11-25T00:00:00Z'));

    // Assess
    expect(compute).toThrow(RangeError);
    expect(compute).toThrow(/999999999999mo/);
  });

  it('throws for an anchor that is not a date', () => {
    expect(() => periodFor('30d', new Date('not a date'), new Date('2026-11-25T00:00:00Z'))).toThrow(
      RangeError,
    );
  });
});
