/**
 * Budget periods. Calendar periods (`daily`, `weekly` = ISO week from Monday, `monthly`) reset at
 * midnight in the deployment's time zone (UTC unless configured). LiteLLM-style durations (`1d`, `30d`,
 * `1w`, `1mo`, `12h`) are fixed windows anchored at the budget's creation time: window n runs from
 * anchor + n·duration to anchor + (n+1)·duration. A new period is a new counter: nothing has to run
 * for a budget to reset.
 */
export interface Period {
  /** Stable identity of the window, used in counter keys: `2026-11-25`, `2026-W48`, `2026-11`, `w:<start>`. */
  id: string;
  start: Date;
  /** Exclusive end, when the budget resets. */
  end: Date;
}

const UNIT = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;
const DURATION = /^([1-9]\d*)(s|m|h|d|w|mo)$/;

export function isValidDuration(duration: string): boolean {
  return ['daily', 'weekly', 'monthly'].includes(duration) || DURATION.test(duration);
}

/** The longest budget period or key lifetime the admin API accepts: a year (a leap year's 366 days, or 12 months). */
const MAX_FIXED_MS = 366 * UNIT.d;
const MAX_MONTHS = 12;

/**
 * Whether a valid duration is at most a year. Much longer ones (`999999999999mo`) overflow the Date
 * range, so no period can be computed for them; shorter bounds than a year have no use case here.
 */
export function isWithinAYear(duration: string): boolean {
  const match = DURATION.exec(duration);
  if (!match) return isValidDuration(duration);
  const n = Number(match[1]);
  const unit = match[2] as keyof typeof UNIT | 'mo';
  return unit === 'mo' ? n <= MAX_MONTHS : n * UNIT[unit] <= MAX_FIXED_MS;
}

/** Whether `zone` is an IANA time zone this runtime knows (`UTC`, `Europe/Berlin`...). */
export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export function periodFor(duration: string, anchor: Date, now: Date, timeZone = 'UTC'): Period {
  switch (duration) {
    case 'daily':
      return calendarDay(now, timeZone);
    case 'weekly':
      return isoWeek(now, timeZone);
    case 'monthly':
      return calendarMonth(now, timeZone);
  }
  const match = DURATION.exec(duration);
  if (!match) throw new Error(`Invalid budget_duration '${duration}'`);
  const n = Number(match[1]);
  const unit = match[2] as keyof typeof UNIT | 'mo';
  if (n <= 0) throw new Error(`Invalid budget_duration '${duration}': must be positive`);
  const period = unit === 'mo' ? monthWindow(n, anchor, now) : fixedWindow(n * UNIT[unit], anchor, now);
  // A stored duration far beyond a year, or an anchor that is not a date, gives no representable window.
  if (Number.isNaN(period.start.getTime()) || Number.isNaN(period.end.getTime()))
    throw new RangeError(`budget_duration '${duration}' from ${anchor.toString()} gives no period`);
  return period;
}

function calendarDay(now: Date, zone: string): Period {
  const { y, m, d } = wallDate(now, zone);
  return { id: ymd(y, m, d), start: midnight(y, m, d, zone), end: midnight(y, m, d + 1, zone) };
}

function calendarMonth(now: Date, zone: string): Period {
  const { y, m } = wallDate(now, zone);
  return { id: ymd(y, m, 1).slice(0, 7), start: midnight(y, m, 1, zone), end: midnight(y, m + 1, 1, zone) };
}

function isoWeek(now: Date, zone: string): Period {
  const { y, m, d } = wallDate(now, zone);
  const day = utc(y, m, d);
  const sinceMonday = (day.getUTCDay() + 6) % 7;
  const monday = addDays(day, -sinceMonday);
  // The ISO week-numbering year is the year of the week's Thursday.
  const thursday = addDays(monday, 3);
  const jan1 = utc(thursday.getUTCFullYear(), 0, 1);
  const week = Math.floor((thursday.getTime() - jan1.getTime()) / UNIT.d / 7) + 1;
  const [my, mm, md] = [monday.getUTCFullYear(), monday.getUTCMonth(), monday.getUTCDate()];
  return {
    id: `${thursday.getUTCFullYear()}-W${String(week).padStart(2, '0')}`,
    start: midnight(my, mm, md, zone),
    end: midnight(my, mm, md + 7, zone),
  };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The calendar date (month 0-based) and wall-clock time that `instant` shows in `zone`. */
function wallTime(instant: Date, zone: string) {
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, format);
  }
  const part = Object.fromEntries(format.formatToParts(instant).map((p) => [p.type, Number(p.value)]));
  return {
    y: part.year ?? 0,
    m: (part.month ?? 1) - 1,
    d: part.day ?? 1,
    h: part.hour ?? 0,
    min: part.minute ?? 0,
    s: part.second ?? 0,
  };
}

function wallDate(instant: Date, zone: string) {
  if (zone === 'UTC')
    return { y: instant.getUTCFullYear(), m: instant.getUTCMonth(), d: instant.getUTCDate() };
  return wallTime(instant, zone);
}

/** How far `zone`'s wall clock is ahead of UTC at `instant`, in ms. */
function offsetMs(instant: Date, zone: string): number {
  const w = wallTime(instant, zone);
  return Date.UTC(w.y, w.m, w.d, w.h, w.min, w.s) - Math.floor(instant.getTime() / 1000) * 1000;
}

/**
 * The first instant of the day y-m-d (month 0-based, overflow normalised) in `zone`. The offset is
 * read at a first guess and again at the result, which settles days where it changes (DST). Where a
 * zone skips midnight (clocks jump from 00:00 to 01:00) or repeats it, the result is checked and, if
 * it is not the day's first instant, searched for to the second.
 */
function midnight(y: number, m: number, d: number, zone: string): Date {
  const wall = Date.UTC(y, m, d);
  if (zone === 'UTC') return new Date(wall);
  const first = wall - offsetMs(new Date(wall), zone);
  const guess = wall - offsetMs(new Date(first), zone);
  const onOrAfter = (t: number) => {
    const w = wallDate(new Date(t), zone);
    return Date.UTC(w.y, w.m, w.d) >= wall;
  };
  if (onOrAfter(guess) && !onOrAfter(guess - 1_000)) return new Date(guess);
  // Offsets move by at most a few hours around a day's start: the first second on the day is within.
  let [lo, hi] = [guess - 3 * UNIT.h, guess + 3 * UNIT.h];
  while (hi - lo > 1_000) {
    const mid = lo + Math.floor((hi - lo) / 2_000) * 1_000;
    if (onOrAfter(mid)) hi = mid;
    else lo = mid;
  }
  return new Date(hi);
}

function fixedWindow(ms: number, anchor: Date, now: Date): Period {
  const n = Math.floor((now.getTime() - anchor.getTime()) / ms);
  const start = new Date(anchor.getTime() + n * ms);
  return { id: `w:${start.toISOString()}`, start, end: new Date(start.getTime() + ms) };
}

function monthWindow(months: number, anchor: Date, now: Date): Period {
  const elapsed =
    (now.getUTCFullYear() - anchor.getUTCFullYear()) * 12 + (now.getUTCMonth() - anchor.getUTCMonth());
  let n = Math.floor(elapsed / months);
  // Step back if this month's anniversary has not been reached yet (e.g. anchored on the 20th, now the 5th).
  if (addMonths(anchor, n * months) > now) n -= 1;
  const start = addMonths(anchor, n * months);
  return { id: `w:${start.toISOString()}`, start, end: addMonths(anchor, (n + 1) * months) };
}

/** Adds months, clamping the day to the target month's length (Jan 31 + 1mo = Feb 28/29). */
function addMonths(d: Date, months: number): Date {
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + months;
  const lastDay = utc(y, m + 1, 0).getUTCDate();
  const out = new Date(d.getTime());
  out.setUTCFullYear(y, m, Math.min(d.getUTCDate(), lastDay));
  return out;
}

function utc(y: number, m: number, d: number): Date {
  return new Date(Date.UTC(y, m, d));
}

function addDays(d: Date, days: number): Date {
  return new Date(d.getTime() + days * UNIT.d);
}

function ymd(y: number, m: number, d: number): string {
  return utc(y, m, d).toISOString().slice(0, 10);
}
