/**
 * Budget periods. Calendar periods (`daily`, `weekly` = ISO week from Monday, `monthly`) reset at UTC
 * boundaries. LiteLLM-style durations (`1d`, `30d`, `1w`, `1mo`, `12h`) are fixed windows anchored at the
 * budget's creation time: window n runs from anchor + n·duration to anchor + (n+1)·duration.
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

export function periodFor(duration: string, anchor: Date, now: Date): Period {
  switch (duration) {
    case 'daily':
      return calendarDay(now);
    case 'weekly':
      return isoWeek(now);
    case 'monthly':
      return calendarMonth(now);
  }
  const match = DURATION.exec(duration);
  if (!match) throw new Error(`Invalid budget_duration '${duration}'`);
  const n = Number(match[1]);
  const unit = match[2] as keyof typeof UNIT | 'mo';
  if (n <= 0) throw new Error(`Invalid budget_duration '${duration}': must be positive`);
  return unit === 'mo' ? monthWindow(n, anchor, now) : fixedWindow(n * UNIT[unit], anchor, now);
}

function calendarDay(now: Date): Period {
  const start = utc(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return { id: ymd(start), start, end: addDays(start, 1) };
}

function calendarMonth(now: Date): Period {
  const start = utc(now.getUTCFullYear(), now.getUTCMonth(), 1);
  return { id: ymd(start).slice(0, 7), start, end: utc(now.getUTCFullYear(), now.getUTCMonth() + 1, 1) };
}

function isoWeek(now: Date): Period {
  const day = calendarDay(now).start;
  const sinceMonday = (day.getUTCDay() + 6) % 7;
  const start = addDays(day, -sinceMonday);
  // The ISO week-numbering year is the year of the week's Thursday.
  const thursday = addDays(start, 3);
  const jan1 = utc(thursday.getUTCFullYear(), 0, 1);
  const week = Math.floor((thursday.getTime() - jan1.getTime()) / UNIT.d / 7) + 1;
  return {
    id: `${thursday.getUTCFullYear()}-W${String(week).padStart(2, '0')}`,
    start,
    end: addDays(start, 7),
  };
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

function ymd(d: Date): string {
  return d.toISOString().slice(0, 10);
}
