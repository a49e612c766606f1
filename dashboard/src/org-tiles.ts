/**
 * The org view's headline figures: spend, the month's forecast, requests, weekly active and cache
 * savings, each against the period before where there is one.
 */
import type { SpendRow } from '../../functions/core/analytics/spend.ts';
import { forecastBudget } from '../../functions/core/governance/forecast.ts';
import { type Change, periodChange, previousFrom } from './change.ts';
import { byId, el } from './dom.ts';
import { formatCount } from './format.ts';
import { latestWeek, money, type OrgFilters, type OrgRollup, pct } from './org-rollup.ts';

export function renderTiles(
  rollup: OrgRollup,
  teamRows: SpendRow[],
  filters: OrgFilters,
  from: string,
): void {
  const { team, days } = filters;
  const sum = (pick: (r: SpendRow) => number, rows = teamRows) => rows.reduce((s, r) => s + pick(r), 0);
  // The range just before this one, of the same length, when the rollup reaches back that far.
  const before = previousFrom(from, days);
  const previousRows =
    rollup.range.from <= before
      ? rollup.spend.team.filter((r) => r.day >= before && r.day < from && (!team || r.value === team))
      : null;
  const versus = (pick: (r: SpendRow) => number) =>
    periodChange(sum(pick), previousRows && sum(pick, previousRows));
  const vsNote = `vs the ${days} days before`;
  const month = rollup.range.to.slice(0, 7);
  const monthRows = rollup.spend.team.filter((r) => r.day.startsWith(month) && (!team || r.value === team));
  // The month at its pace so far, the same projection the budgets get (governance/forecast.ts).
  const monthStart = new Date(`${month}-01T00:00:00Z`);
  const next = new Date(monthStart);
  next.setUTCMonth(next.getUTCMonth() + 1);
  const forecast = forecastBudget(
    {
      spent_micros: sum((r) => r.cost_micros, monthRows),
      limit_micros: null,
      starts_at: monthStart.toISOString(),
      resets_at: next.toISOString(),
    },
    new Date(rollup.generated_at),
  );
  const weeks = rollup.adoption.weekly_active.filter((r) => !team || r.team_id === team);
  const lastWeek = latestWeek(weeks);
  const latest = weeks.filter((r) => r.week === lastWeek);
  const active = latest.reduce((s, r) => s + r.active_people, 0);
  const holders = latest.reduce((s, r) => s + r.key_holders, 0);
  const weekBefore = latestWeek(weeks.filter((r) => r.week < lastWeek));
  const activeBefore = weekBefore
    ? weeks.filter((r) => r.week === weekBefore).reduce((s, r) => s + r.active_people, 0)
    : null;
  const prompt = sum((r) => r.input_tokens + r.cache_read_tokens + r.cache_write_tokens);
  const saved = rollup.cache_savings.filter((r) => r.day >= from).reduce((s, r) => s + r.savings_micros, 0);
  const share = prompt ? pct(sum((r) => r.cache_read_tokens) / prompt) : '—';
  const tiles: Array<[string, string, string, Change | null, string]> = [
    ['Spend', money(sum((r) => r.cost_micros)), 'billed in this range', versus((r) => r.cost_micros), vsNote],
    [
      'Forecast',
      forecast ? money(forecast.forecast_micros) : '—',
      `for ${month} at this month's pace`,
      null,
      '',
    ],
    ['Requests', formatCount(sum((r) => r.requests)), 'in this range', versus((r) => r.requests), vsNote],
    [
      'Weekly active',
      holders ? pct(active / holders) : '—',
      `${active} of ${holders} key holders, week of ${lastWeek || '—'}`,
      periodChange(active, activeBefore),
      'active people vs the week before',
    ],
    [
      'Cache savings',
      money(saved),
      `${share} of prompt tokens read from cache${team ? ' (savings: all teams)' : ''}`,
      null,
      '',
    ],
  ];
  byId('tiles').replaceChildren(
    ...tiles.map(([label, value, note, change, versusWhat]) =>
      el(
        'div',
        { className: 'tile' },
        el('p', { className: 'tile-label', textContent: label }),
        el('p', { className: 'tile-value', textContent: value }),
        ...(change
          ? [
              el('p', {
                className: `tile-change ${change.trend}`,
                textContent: `${change.text} ${versusWhat}`,
              }),
            ]
          : []),
        el('p', { className: 'hint', textContent: note }),
      ),
    ),
  );
}
