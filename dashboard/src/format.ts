/**
 * Display formatting for the dashboard: money and counts by the gateway's one rule
 * (functions/core/money.ts), and the UTC day the date inputs and the API expect.
 */
export { formatCount, formatDollars, formatUsd } from '../../functions/core/money.ts';

/** The UTC calendar day of `now`, as `<input type="date">` and the API expect it. */
export function utcDay(now: Date): string {
  return now.toISOString().slice(0, 10);
}
