/**
 * The org view: what a team lead reads in ten seconds — spend and its forecast, which budgets are at
 * risk, where the money goes (team, model, agent, tag), whether people keep using the tools (by team,
 * never ranking individuals), and how the gateway behaves. Everything comes from the rollup; the
 * headline figures are in org-tiles.ts, the budgets in org-budgets.ts.
 */
import { type RoutingRow, routingTotals } from '../../functions/core/analytics/routing.ts';
import { type SpendRow, type SpendTotalRow, totalsByValue } from '../../functions/core/analytics/spend.ts';
import { api } from './api.ts';
import { lines, pivot, stackedBars } from './charts.ts';
import { byId, type Column, renderTable, showStatus } from './dom.ts';
import { formatCount, formatUsd } from './format.ts';
import { renderBudgets } from './org-budgets.ts';
import { renderOutcomes } from './org-outcomes.ts';
import { latestWeek, money, type OrgFilters, type OrgRollup, pct } from './org-rollup.ts';
import { renderTiles } from './org-tiles.ts';

export { toggleEveryBudget } from './org-budgets.ts';
export type { OrgFilters } from './org-rollup.ts';

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
  renderOutcomes(from, rollup.range.to, filters.team);
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
