/**
 * Budget alert events: a settlement that moves a counter's spend across a percent-of-limit threshold
 * or the owner's soft budget. Spend only grows, and each settlement is one atomic ADD that reports the
 * total after it, so of many concurrent settlements exactly one sees a given level crossed.
 */
import { formatUsd } from '../money.ts';
import type { Alert, AlertClaims, Notifier } from '../ports/alerts.ts';
import type { BudgetCounter, Settlement } from '../ports/budgets.ts';
import { forecastBudget } from './forecast.ts';

export interface BudgetCrossing {
  counter: BudgetCounter;
  /** `soft_budget`, or the percent of the limit (`80`). */
  level: 'soft_budget' | number;
  level_micros: number;
  spent_micros: number;
}

export function crossings(settlements: Settlement[], thresholdsPct: number[]): BudgetCrossing[] {
  return settlements.flatMap(({ counter, spent_before_micros: before, spent_after_micros: after }) => {
    const levels: { level: BudgetCrossing['level']; micros: number }[] = [];
    if (counter.limit_micros !== null && counter.limit_micros > 0) {
      const limit = counter.limit_micros;
      for (const pct of thresholdsPct) levels.push({ level: pct, micros: Math.ceil((limit * pct) / 100) });
    }
    if (counter.soft_limit_micros !== null)
      levels.push({ level: 'soft_budget', micros: counter.soft_limit_micros });
    return levels
      .filter(({ micros }) => before < micros && after >= micros)
      .map(({ level, micros }) => ({ counter, level, level_micros: micros, spent_micros: after }));
  });
}

/** The alert a person can act on: which budget, how much of it is spent, when it resets. */
export function toAlert(c: BudgetCrossing, now?: Date): Alert {
  const { counter } = c;
  const pace =
    now && counter.limit_micros !== null
      ? forecastBudget({ ...counter, spent_micros: c.spent_micros }, now)
      : null;
  const outlook = pace
    ? pace.runs_out_at
      ? ` At this pace it runs out around ${pace.runs_out_at.slice(0, 10)}.`
      : ` At this pace it ends the period near ${formatUsd(pace.forecast_micros)}.`
    : '';
  const what = `${counter.scope} '${counter.label}'`;
  const limit = counter.limit_micros === null ? 'no limit' : formatUsd(counter.limit_micros);
  const reached =
    c.level === 'soft_budget'
      ? `its soft budget of ${formatUsd(c.level_micros)}`
      : `${c.level}% of its budget`;
  const resets = counter.resets_at ? ` It resets at ${counter.resets_at}.` : '';
  const severity =
    c.level === 'soft_budget' || c.level < 80 ? 'info' : c.level < 100 ? 'warning' : 'critical';
  return {
    severity,
    subject: `Tollgate: ${what} reached ${c.level === 'soft_budget' ? 'its soft budget' : `${c.level}% of its budget`}`,
    message: `The ${what} has reached ${reached}: ${formatUsd(c.spent_micros)} spent of ${limit} (period ${counter.period}).${outlook}${resets}`,
    scope: `${counter.scope}:${counter.scope_id}`,
    once_key: `${counter.scope}:${counter.scope_id}|${counter.period}|${c.level}`,
    once_until: counter.resets_at,
    details: {
      kind: 'budget_threshold',
      scope: counter.scope,
      scope_id: counter.scope_id,
      label: counter.label,
      period: counter.period,
      starts_at: counter.starts_at,
      level: c.level,
      level_micros: c.level_micros,
      spent_micros: c.spent_micros,
      limit_micros: counter.limit_micros,
      resets_at: counter.resets_at,
    },
  };
}

/**
 * A notifier that sends each alert with a `once_key` only if it wins the claim on that key, so an
 * alert raised by forty settlements together, or by a settlement retried, reaches people once.
 */
export function onceEach(claims: AlertClaims, notifier: Notifier): Notifier {
  return {
    async notify(alert) {
      if (alert.once_key && !(await claims.claim(alert.once_key, alert.once_until ?? null))) return;
      await notifier.notify(alert);
    },
  };
}

/** The biggest spenders of a budget over some days, by person, model and agent. */
export type TopSpendersLookup = (
  budget: { scope: string; scope_id: string },
  range: { from: string; to: string },
) => Promise<Record<string, Array<{ value: string; cost_micros: number }>>>;

/**
 * Adds the biggest spenders (by person, model and agent) of the alert's budget in its period to the
 * message, so whoever reads it knows where to look. An alert without a budget, or a failed lookup,
 * goes out as it is.
 */
export function withTopSpenders(lookup: TopSpendersLookup, notifier: Notifier, now: () => Date): Notifier {
  return {
    async notify(alert) {
      const d = alert.details ?? {};
      if (typeof d.scope !== 'string' || typeof d.scope_id !== 'string') return notifier.notify(alert);
      const from = typeof d.starts_at === 'string' ? d.starts_at.slice(0, 10) : '2000-01-01';
      try {
        const top = await lookup(
          { scope: d.scope, scope_id: d.scope_id },
          { from, to: now().toISOString().slice(0, 10) },
        );
        const lines = Object.entries(top)
          .filter(([, rows]) => rows.length > 0)
          .map(
            ([by, rows]) => `${by}: ${rows.map((r) => `${r.value} ${formatUsd(r.cost_micros)}`).join(', ')}`,
          );
        if (lines.length === 0) return notifier.notify(alert);
        return notifier.notify({
          ...alert,
          message: `${alert.message}\nTop spenders this period — ${lines.join('; ')}.`,
        });
      } catch {
        return notifier.notify(alert);
      }
    },
  };
}
