/**
 * What the money bought, by team: the agents' own telemetry beside billed spend, per team, agent and
 * ISO week (GET /api/reports/agent-outcomes). Never per person; a team with fewer contributors than
 * the gateway's `min_people` shows its people and nothing else.
 */
import type { TeamOutcomeRow } from '../../functions/core/analytics/outcomes.ts';
import { api } from './api.ts';
import { byId, type Column, renderTable, showStatus } from './dom.ts';
import { formatCount, formatUsd } from './format.ts';

interface OutcomesAnswer {
  min_people: number;
  rows: TeamOutcomeRow[];
}

const dollars = (usd: number | null | undefined) =>
  usd === null || usd === undefined ? '—' : formatUsd(Math.round(usd * 1_000_000));
const count = (n: number | undefined) => (n === undefined ? '—' : formatCount(n));

let asked = 0;

export function renderOutcomes(from: string, to: string, team: string | undefined): void {
  const ask = ++asked;
  const table = byId<HTMLTableElement>('outcomes-table');
  table.setAttribute('aria-busy', 'true');
  void api<OutcomesAnswer>(`/api/reports/agent-outcomes?${new URLSearchParams({ from, to })}`)
    .then(({ rows, min_people }) => {
      if (ask !== asked) return;
      byId('outcomes-hint').textContent =
        `Sessions, active time, lines, commits and pull requests as the agents report them, beside what the gateway billed. A team's figures show from ${min_people} people on.`;
      drawOutcomes(rows.filter((r) => !team || r.team_id === team));
    })
    .catch((err: unknown) => showStatus(err instanceof Error ? err.message : String(err), 'error'))
    .finally(() => table.removeAttribute('aria-busy'));
}

const COLUMNS: Column<TeamOutcomeRow>[] = [
  { label: 'Team', value: (r) => r.team_id },
  { label: 'Agent', value: (r) => r.agent },
  { label: 'Week', value: (r) => r.week },
  { label: 'People', value: (r) => formatCount(r.people), raw: (r) => r.people, numeric: true },
  { label: 'Sessions', value: (r) => (r.hidden ? 'too few people' : count(r.sessions)), numeric: true },
  {
    label: 'Active hours',
    value: (r) => (r.active_seconds === undefined ? '—' : (r.active_seconds / 3600).toFixed(1)),
    numeric: true,
  },
  { label: 'Lines added', value: (r) => count(r.lines_added), numeric: true },
  { label: 'Commits', value: (r) => count(r.commits), numeric: true },
  { label: 'Pull requests', value: (r) => count(r.pull_requests), numeric: true },
  {
    label: 'Edits accepted',
    value: (r) =>
      r.edit_acceptance === null || r.edit_acceptance === undefined
        ? '—'
        : `${Math.round(r.edit_acceptance * 100)}%`,
    numeric: true,
  },
  {
    label: 'Billed',
    value: (r) => dollars(r.gateway_cost_usd),
    raw: (r) => r.gateway_cost_usd ?? '',
    numeric: true,
  },
  { label: 'Per PR', value: (r) => dollars(r.cost_per_pull_request_usd), numeric: true },
  { label: 'Per 1,000 lines', value: (r) => dollars(r.cost_per_1k_lines_usd), numeric: true },
  { label: 'Outside the gateway', value: (r) => dollars(r.ungoverned_cost_usd), numeric: true },
];

function drawOutcomes(rows: TeamOutcomeRow[]): void {
  const sorted = [...rows].sort((a, b) => b.week.localeCompare(a.week) || a.team_id.localeCompare(b.team_id));
  renderTable(
    byId<HTMLTableElement>('outcomes-table'),
    COLUMNS,
    sorted,
    'No agent telemetry in this range: see "What the money bought" in the README to turn it on.',
  );
}
