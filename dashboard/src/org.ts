/**
 * The org view: what a team lead reads in ten seconds — spend and its forecast, which budgets are at
 * risk, where the money goes (team, model, agent, tag), whether people keep using the tools (by team,
 * never ranking individuals), and how the gateway behaves. Everything comes from the rollup.
 */
import type { BudgetStatusRow, Rollup } from '../../functions/core/analytics/rollup-document.ts';
import { type RoutingRow, routingTotals } from '../../functions/core/analytics/routing.ts';
import { type SpendRow, type SpendTotalRow, totalsByValue } from '../../functions/core/analytics/spend.ts';
import { forecastBudget } from '../../functions/core/governance/forecast.ts';
import { api } from './api.ts';
import { type Change, periodChange, previousFrom } from './change.ts';
import { lines, pivot, stackedBars } from './charts.ts';
import { byId, type Column, el, renderTable, setCsv, showStatus } from './dom.ts';
import { formatCount, formatUsd } from './format.ts';

/** A rollup built before routing existed has no `routing`: read as none. */
type OrgRollup = Omit<Rollup, 'spend' | 'routing'> & {
  spend: Partial<Rollup['spend']> & Pick<Rollup['spend'], 'team'>;
  routing?: Rollup['routing'];
};

const pct = (ratio: number | null) => (ratio === null ? '—' : `${(ratio * 100).toFixed(0)}%`);
const money = (micros: number) => formatUsd(micros);
const day = (iso: string | null) => (iso ? iso.slice(0, 10) : '—');

export interface OrgFilters {
  /** Days back from the rollup's last day. */
  days: number;
  /** A team id, or '' for every team. */
  team: string;
}

export function teamsOf(rollup: OrgRollup): string[] {
  return [...new Set(rollup.spend.team.map((r) => r.value))].sort();
}

export function renderOrg(rollup: OrgRollup, filters: OrgFilters, dimension: string): void {
  const from = new Date(Date.parse(`${rollup.range.to}T00:00:00Z`) - (filters.days - 1) * 86_400_000)
    .toISOString()
    .slice(0, 10);
  const inRange = <T extends { day: string }>(rows: T[]) => rows.filter((r) => r.day >= from);
  const teamRows = inRange(rollup.spend.team).filter((r) => !filters.team || r.value === filters.team);
  byId('org-range').textContent =
    `${from} to ${rollup.range.to} (UTC)${filters.team ? `, team ${filters.team}` : ''}`;
  renderTiles(rollup, teamRows, filters, from);
  renderBudgets(
    rollup.budgets.filter(
      (b) => !filters.team || b.scope === 'org' || (b.scope === 'team' && b.scope_id === filters.team),
    ),
  );
  renderSpend(rollup, dimension, filters, from);
  renderPeople(rollup.spend.user);
  renderAdoption(rollup, filters.team);
  renderRouting(inRange(rollup.routing ?? []));
  renderLatency(rollup);
  const outcomes = new Map<
    string,
    { outcome: string; error_type: string; status: number; requests: number; last: string }
  >();
  for (const r of inRange(rollup.outcomes)) {
    const id = `${r.outcome}|${r.error_type}|${r.status}`;
    const row = outcomes.get(id) ?? {
      outcome: r.outcome,
      error_type: r.error_type,
      status: r.status,
      requests: 0,
      last: '',
    };
    row.requests += r.requests;
    if (r.day > row.last) row.last = r.day;
    outcomes.set(id, row);
  }
  renderTable(
    byId<HTMLTableElement>('errors-table'),
    [
      { label: 'Outcome', value: (r) => r.outcome },
      { label: 'Error', value: (r) => r.error_type },
      { label: 'Status', value: (r) => String(r.status), numeric: true },
      { label: 'Requests', value: (r) => formatCount(r.requests), raw: (r) => r.requests, numeric: true },
      { label: 'Last seen', value: (r) => r.last },
    ],
    [...outcomes.values()].sort((a, b) => b.requests - a.requests),
    'No denials or errors in this range.',
  );
}

function renderTiles(rollup: OrgRollup, teamRows: SpendRow[], filters: OrgFilters, from: string): void {
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

export const BUDGET_COLUMNS: Column<BudgetStatusRow>[] = [
  { label: 'Budget', value: (b) => b.label },
  { label: 'Scope', value: (b) => b.scope },
  { label: 'Spent', value: (b) => money(b.spent_micros), raw: (b) => b.spent_micros, numeric: true },
  { label: 'Limit', value: (b) => money(b.limit_micros), raw: (b) => b.limit_micros, numeric: true },
  { label: 'Used', value: (b) => `${b.used_pct.toFixed(1)}%`, raw: (b) => b.used_pct, numeric: true },
  {
    label: 'Forecast',
    value: (b) => (b.forecast_micros === null ? '—' : money(b.forecast_micros)),
    raw: (b) => b.forecast_micros ?? '',
    numeric: true,
  },
  { label: 'Runs out', value: (b) => day(b.runs_out_at) },
  { label: 'Resets', value: (b) => day(b.resets_at) },
  { label: 'Mode', value: (b) => b.mode },
];

/** The budgets most at risk; the CSV has them all. */
const BUDGETS_SHOWN = 12;

let showEveryBudget = false;

/** The "show all" button's toggle: every budget, or the most at risk. */
export function toggleEveryBudget(): void {
  showEveryBudget = !showEveryBudget;
}

function renderBudgets(all: BudgetStatusRow[]): void {
  const budgets = showEveryBudget ? all : all.slice(0, BUDGETS_SHOWN);
  const toggle = byId<HTMLButtonElement>('budgets-all');
  toggle.hidden = all.length <= BUDGETS_SHOWN;
  toggle.textContent = showEveryBudget ? `Show the ${BUDGETS_SHOWN} most at risk` : `Show all ${all.length}`;
  toggle.setAttribute('aria-expanded', String(showEveryBudget));
  byId('budgets-note').textContent =
    all.length > budgets.length
      ? `The ${budgets.length} most at risk of ${all.length}; the CSV has them all.`
      : '';
  renderTable(byId<HTMLTableElement>('budgets-table'), BUDGET_COLUMNS, budgets, 'No budget has a limit.');
  setCsv(byId<HTMLTableElement>('budgets-table'), BUDGET_COLUMNS, all);
  for (const [i, row] of [...byId<HTMLTableElement>('budgets-table').tBodies[0]!.rows].entries()) {
    const b = budgets[i];
    if (!b) continue;
    row.dataset.risk = b.runs_out_at || b.used_pct >= 100 ? 'high' : b.used_pct >= 80 ? 'medium' : 'low';
  }
}

const TOTAL_COLUMNS: Column<SpendTotalRow>[] = [
  { label: 'Value', value: (r) => r.value },
  {
    label: 'Cost',
    value: (r) => formatUsd(r.cost_micros),
    raw: (r) => r.cost_micros,
    numeric: true,
  },
  { label: 'Requests', value: (r) => formatCount(r.requests), raw: (r) => r.requests, numeric: true },
  {
    label: 'Input tokens',
    value: (r) => formatCount(r.input_tokens),
    raw: (r) => r.input_tokens,
    numeric: true,
  },
  {
    label: 'Output tokens',
    value: (r) => formatCount(r.output_tokens),
    raw: (r) => r.output_tokens,
    numeric: true,
  },
  {
    label: 'Cache reads',
    value: (r) => formatCount(r.cache_read_tokens),
    raw: (r) => r.cache_read_tokens,
    numeric: true,
  },
];

let spendAsked = 0;

/**
 * Spend over time. The rollup breaks spend down by team, or by model, agent and tag for all teams; one
 * team's spend by model, agent or tag is asked of the admin API when the team filter is set.
 */
function renderSpend(rollup: OrgRollup, dimension: string, filters: OrgFilters, from: string): void {
  const asked = ++spendAsked;
  if (filters.team && dimension !== 'team') {
    const query = new URLSearchParams({ dimension, team: filters.team, from, to: rollup.range.to });
    byId('spend-table').setAttribute('aria-busy', 'true');
    void api<{ rows: SpendRow[] }>(`/api/spend?${query}`)
      .then(({ rows }) => {
        if (asked === spendAsked)
          drawSpend(rows, dimension, `${from} to ${rollup.range.to}, team ${filters.team}`);
      })
      .catch((err: unknown) => showStatus(err instanceof Error ? err.message : String(err), 'error'))
      .finally(() => byId('spend-table').removeAttribute('aria-busy'));
    return;
  }
  const all = (rollup.spend[dimension as 'team'] ?? []) as SpendRow[];
  const rows = all.filter((r) => r.day >= from && (!filters.team || r.value === filters.team));
  drawSpend(rows, dimension, `${from} to ${rollup.range.to}`);
}

function drawSpend(rows: SpendRow[], dimension: string, range: string): void {
  const { labels, series } = pivot(
    rows,
    (r) => r.day,
    (r) => r.value,
    (r) => r.cost_micros,
  );
  stackedBars(byId<HTMLCanvasElement>('spend-chart'), labels, series, (v) => formatUsd(Math.round(v)));
  const label = byId('spend-table').querySelector('caption');
  if (label) label.textContent = `Spend by ${dimension}, ${range}`;
  renderTable(
    byId<HTMLTableElement>('spend-table'),
    [
      { ...TOTAL_COLUMNS[0]!, label: dimension[0]!.toUpperCase() + dimension.slice(1) },
      ...TOTAL_COLUMNS.slice(1),
    ],
    totalsByValue(rows),
    'No spend in this range.',
  );
}

function renderPeople(people: SpendTotalRow[] | undefined): void {
  byId('people').hidden = people === undefined;
  if (!people) return;
  renderTable(
    byId<HTMLTableElement>('people-table'),
    [{ ...TOTAL_COLUMNS[0]!, label: 'Person' }, ...TOTAL_COLUMNS.slice(1)],
    people,
    'No spend by anyone yet.',
  );
}

function renderAdoption(rollup: OrgRollup, team: string): void {
  const { weekly_active, repeat_usage, tools_per_person, new_and_lapsed } = rollup.adoption;
  const weekly = weekly_active.filter((r) => !team || r.team_id === team);
  const lastWeek = latestWeek(weekly);
  const teams = [...new Set(weekly.map((r) => r.team_id))].sort();
  const rows = teams.map((t) => {
    const latest = weekly.find((r) => r.team_id === t && r.week === lastWeek);
    const tools = tools_per_person.filter((r) => r.team_id === t);
    const people = tools.reduce((s, r) => s + r.people, 0);
    const changes = new_and_lapsed.find((r) => r.team_id === t && r.week === lastWeek);
    return {
      team: t,
      active: latest?.active_people ?? 0,
      holders: latest?.key_holders ?? 0,
      rate: latest?.weekly_active_rate ?? null,
      repeat: repeat_usage.find((r) => r.team_id === t)?.repeat_rate ?? null,
      tools: people ? tools.reduce((s, r) => s + r.tools * r.people, 0) / people : null,
      newPeople: changes?.new_people ?? 0,
      lapsed: changes?.lapsed_people ?? 0,
    };
  });
  renderTable(
    byId<HTMLTableElement>('adoption-table'),
    [
      { label: 'Team', value: (r) => r.team },
      { label: 'Active', value: (r) => String(r.active), numeric: true },
      { label: 'Holders', value: (r) => String(r.holders), numeric: true },
      { label: 'Active rate', value: (r) => pct(r.rate), raw: (r) => r.rate ?? '', numeric: true },
      {
        label: 'Repeat usage (4 weeks)',
        value: (r) => pct(r.repeat),
        raw: (r) => r.repeat ?? '',
        numeric: true,
      },
      {
        label: 'Tools per person',
        value: (r) => (r.tools === null ? '—' : r.tools.toFixed(1)),
        raw: (r) => r.tools ?? '',
        numeric: true,
      },
      { label: 'New', value: (r) => String(r.newPeople), numeric: true },
      { label: 'Lapsed', value: (r) => String(r.lapsed), numeric: true },
    ],
    rows,
    'No one has made a request yet.',
  );
  const { labels, series } = pivot(
    weekly,
    (r) => r.week,
    (r) => r.team_id,
    (r) => r.weekly_active_rate ?? 0,
    12,
  );
  lines(byId<HTMLCanvasElement>('adoption-chart'), labels, series, (v) => `${Math.round(v * 100)}%`);
}

/** What each rule served instead of what was asked for, summed over the days in range. */
function renderRouting(days: RoutingRow[]): void {
  renderTable(
    byId<HTMLTableElement>('routing-table'),
    [
      { label: 'Rule', value: (r) => r.rule },
      { label: 'Asked for → served by', value: (r) => `${r.model_requested} → ${r.model_used}` },
      { label: 'Requests', value: (r) => formatCount(r.requests), raw: (r) => r.requests, numeric: true },
      {
        label: 'List cost',
        value: (r) => money(r.shadow_cost_micros),
        raw: (r) => r.shadow_cost_micros,
        numeric: true,
      },
      {
        label: 'As asked',
        value: (r) => money(r.cost_as_requested_micros),
        raw: (r) => r.cost_as_requested_micros,
        numeric: true,
      },
      { label: 'Moved', value: (r) => money(r.moved_micros), raw: (r) => r.moved_micros, numeric: true },
      {
        label: 'Fallbacks',
        value: (r) => formatCount(r.fallback_requests),
        raw: (r) => r.fallback_requests,
        numeric: true,
      },
    ],
    routingTotals(days),
    'No rule changed where a request went in this range.',
  );
}

function renderLatency(rollup: OrgRollup): void {
  const ms = (v: number | null) => (v === null ? '—' : formatCount(Math.round(v)));
  renderTable(
    byId<HTMLTableElement>('latency-table'),
    [
      { label: 'Model', value: (r) => r.model },
      { label: 'Provider', value: (r) => r.provider },
      { label: 'Requests', value: (r) => formatCount(r.requests), raw: (r) => r.requests, numeric: true },
      { label: 'p50 ms', value: (r) => ms(r.latency_ms.p50), numeric: true },
      { label: 'p90 ms', value: (r) => ms(r.latency_ms.p90), numeric: true },
      { label: 'p99 ms', value: (r) => ms(r.latency_ms.p99), numeric: true },
      { label: 'First byte p50 ms', value: (r) => ms(r.ttfb_ms.p50), numeric: true },
      { label: 'Gateway p50 ms', value: (r) => ms(r.overhead_ms.p50), numeric: true },
    ],
    rollup.latency,
    'No successful requests yet.',
  );
}

/** The latest ISO week (`YYYY-MM-DD` Mondays sort as text) among the rows, or '' for none. */
function latestWeek(rows: Array<{ week: string }>): string {
  return (
    rows
      .map((r) => r.week)
      .sort()
      .at(-1) ?? ''
  );
}
