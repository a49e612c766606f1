/**
 * Where a budget is heading: spend so far, projected to the end of its period at the rate it has
 * burned since the period began. A straight line is what a team lead can check in their head, and
 * it errs early — a budget on pace to run out is named before the day it does.
 */
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
