/**
 * Where a budget is heading: spend so far, projected to the end of its period at the rate it has
 * burned since the period began. A straight line is what a team lead can check in their head, and
 * it errs early — a budget on pace to run out is named before the day it does.
 */
import { formatUsd } from '../money.ts';
import type { Alert } from '../ports/alerts.ts';

export interface Forecast {
  /** Spend projected to the end of the period, micro-dollars. */
  forecast_micros: number;
  /** When the limit is reached at this pace, if before the period ends; null otherwise. */
  runs_out_at: string | null;
}

/** Periods younger than this project from too little data: no forecast yet. */
const MIN_ELAPSED_MS = 3_600_000;

export function forecastBudget(
  budget: {
    spent_micros: number;
    limit_micros: number | null;
    starts_at: string | null;
    resets_at: string | null;
  },
  now: Date,
): Forecast | null {
  if (budget.starts_at === null || budget.resets_at === null) return null;
  const start = Date.parse(budget.starts_at);
  const end = Date.parse(budget.resets_at);
  const elapsed = now.getTime() - start;
  if (elapsed < MIN_ELAPSED_MS || now.getTime() >= end) return null;
  const rate = budget.spent_micros / elapsed;
  const forecast_micros = Math.round(budget.spent_micros + rate * (end - now.getTime()));
  let runs_out_at: string | null = null;
  if (budget.limit_micros !== null && rate > 0 && forecast_micros > budget.limit_micros) {
    const at = Math.max(now.getTime(), start + budget.limit_micros / rate);
    runs_out_at = new Date(Math.ceil(at)).toISOString();
  }
  return { forecast_micros, runs_out_at };
}

/**
 * The forecast alert for a budget on pace to run out before it resets: "team 'backend-eng' will reach
 * its $2,000.00 budget around 21 Nov". Only once the period has run a day and a tenth of its length,
 * so an hour's burst at the start of a month does not cry wolf. Sent once per budget and period.
 */
export function forecastAlert(
  b: {
    scope: string;
    scope_id: string;
    label: string;
    period: string;
    starts_at: string | null;
    resets_at: string | null;
    limit_micros: number;
    spent_micros: number;
    runs_out_at: string | null;
    forecast_micros: number | null;
  },
  now: Date,
): Alert | null {
  if (!b.runs_out_at || !b.starts_at || !b.resets_at || b.spent_micros >= b.limit_micros) return null;
  const start = Date.parse(b.starts_at);
  const elapsed = now.getTime() - start;
  if (elapsed < Math.max(DAY_MS, (Date.parse(b.resets_at) - start) / 10)) return null;
  const when = new Date(b.runs_out_at).toLocaleDateString('en-GB', {
    day: 'numeric',
    month: 'short',
    timeZone: 'UTC',
  });
  const what = `${b.scope} '${b.label}'`;
  return {
    severity: 'warning',
    subject: `Tollgate: ${what} is on pace to run out of budget around ${when}`,
    message:
      `At its pace so far this period, the ${what} will reach its ${formatUsd(b.limit_micros)} budget around ${when} ` +
      `(UTC), before it resets at ${b.resets_at}: ${formatUsd(b.spent_micros)} spent, about ${formatUsd(b.forecast_micros ?? 0)} by the end of the period.`,
    scope: `${b.scope}:${b.scope_id}`,
    once_key: `${b.scope}:${b.scope_id}|${b.period}|forecast`,
    once_until: b.resets_at,
    details: { kind: 'budget_forecast', ...b },
  };
}

const DAY_MS = 86_400_000;

/** Sends the forecast alert of every budget on pace to run out; resolves to how many were raised. */
export async function sendForecastAlerts(
  budgets: Parameters<typeof forecastAlert>[0][],
  notifier: { notify(alert: Alert): Promise<void> },
  now: Date,
): Promise<number> {
  const alerts = budgets.map((b) => forecastAlert(b, now)).filter((a): a is Alert => a !== null);
  for (const alert of alerts) await notifier.notify(alert);
  return alerts.length;
}
