/**
 * What the money bought: the agents' own telemetry (sessions, active time, lines, commits, pull
 * requests, edit decisions) beside the gateway's billed cost, by team, agent and ISO week; the
 * reconciliation of the agent's cost estimate with the gateway's; and spend that never passed the
 * gateway. The SQL is in outcomes-sql.ts, one text for both engines; the shaping is here.
 */
import type { QueryEngine, Row } from '../ports/lake.ts';
import type { ModelCatalog } from '../pricing/catalog.ts';
import { costMicros, ZERO_USAGE } from '../pricing/cost.ts';
import { RECONCILIATION_SQL, SESSION_OUTCOMES_SQL, UNGOVERNED_CALLS_SQL } from './outcomes-sql.ts';
import { checkRange, type DayRange, decimal, integer, NONE, text } from './sql.ts';

export type { DayRange };

export interface SessionOutcome {
  session_id: string;
  user_id: string | null;
  team_id: string | null;
  agent: string;
  /** Monday of the session's ISO week, `YYYY-MM-DD`. */
  week: string;
  active_seconds: number;
  lines_added: number;
  lines_removed: number;
  commits: number;
  pull_requests: number;
  edits_accepted: number;
  edits_rejected: number;
  gateway_cost_micros: number;
  agent_cost_micros: number;
  ungoverned_cost_micros: number;
}

/** The figures of a group of sessions (a team's week with one agent, or one person's range). */
export interface OutcomeFigures {
  people: number;
  sessions: number;
  active_seconds: number;
  lines_added: number;
  lines_removed: number;
  commits: number;
  pull_requests: number;
  edits_accepted: number;
  edits_rejected: number;
  gateway_cost_usd: number;
  agent_cost_usd: number;
  ungoverned_cost_usd: number;
  /** Billed cost per session, commit, pull request and 1,000 accepted lines; null where there are none. */
  cost_per_session_usd: number | null;
  cost_per_commit_usd: number | null;
  cost_per_pull_request_usd: number | null;
  cost_per_1k_lines_usd: number | null;
  /** Accepted edits over decided edits; null with no decisions. */
  edit_acceptance: number | null;
}

export interface TeamOutcomeRow extends Partial<OutcomeFigures> {
  team_id: string;
  agent: string;
  week: string;
  people: number;
  /** True when fewer than `min_people` people contributed: the outcome figures are left out. */
  hidden: boolean;
}

export async function sessionOutcomes(
  engine: QueryEngine,
  catalog: ModelCatalog,
  range: DayRange,
): Promise<SessionOutcome[]> {
  const [from, to] = checkRange(range);
  const params = [from, to, from, to];
  const [sessions, ungoverned] = await Promise.all([
    engine.query(SESSION_OUTCOMES_SQL, params),
    engine.query(UNGOVERNED_CALLS_SQL, params),
  ]);
  const catalogPriced = pricedFromCatalog(ungoverned, catalog);
  return sessions.map((row) => {
    const session_id = text(row, 'session_id') ?? '';
    return {
      session_id,
      user_id: text(row, 'user_id'),
      team_id: text(row, 'team_id'),
      agent: text(row, 'agent') ?? NONE,
      week: text(row, 'week') ?? '',
      active_seconds: decimal(row, 'active_seconds') ?? 0,
      lines_added: whole(row, 'lines_added'),
      lines_removed: whole(row, 'lines_removed'),
      commits: whole(row, 'commits'),
      pull_requests: whole(row, 'pull_requests'),
      edits_accepted: whole(row, 'edits_accepted'),
      edits_rejected: whole(row, 'edits_rejected'),
      gateway_cost_micros: integer(row, 'gateway_cost_micros'),
      agent_cost_micros: integer(row, 'agent_cost_micros'),
      ungoverned_cost_micros: integer(row, 'ungoverned_cost_micros') + (catalogPriced.get(session_id) ?? 0),
    };
  });
}

/** Codex reports tokens and no cost: its calls outside the gateway are priced from the catalog. */
function pricedFromCatalog(rows: Row[], catalog: ModelCatalog): Map<string, number> {
  const priced = new Map<string, number>();
  for (const row of rows) {
    if (integer(row, 'unpriced_calls') === 0) continue;
    const model = catalog.resolve(text(row, 'model') ?? '');
    if (!model) continue;
    const usage = {
      ...ZERO_USAGE,
      input_tokens: Math.max(0, integer(row, 'input_tokens') - integer(row, 'cache_read_tokens')),
      output_tokens: integer(row, 'output_tokens'),
      cache_read_tokens: integer(row, 'cache_read_tokens'),
      cache_write_5m_tokens: integer(row, 'cache_write_tokens'),
    };
    const session = text(row, 'session_id') ?? '';
    priced.set(session, (priced.get(session) ?? 0) + costMicros(usage, model.price));
  }
  return priced;
}

/** Sums a group of sessions into the report's figures. */
export function figuresOf(sessions: SessionOutcome[]): OutcomeFigures {
  const sum = (f: (s: SessionOutcome) => number) => sessions.reduce((n, s) => n + f(s), 0);
  const billed = sum((s) => s.gateway_cost_micros);
  const per = (count: number, scale = 1) => (count > 0 ? usd((billed * scale) / count) : null);
  const accepted = sum((s) => s.edits_accepted);
  const decided = accepted + sum((s) => s.edits_rejected);
  const lines = sum((s) => s.lines_added);
  return {
    people: new Set(sessions.map((s) => s.user_id ?? s.session_id)).size,
    sessions: sessions.length,
    active_seconds: Math.round(sum((s) => s.active_seconds)),
    lines_added: lines,
    lines_removed: sum((s) => s.lines_removed),
    commits: sum((s) => s.commits),
    pull_requests: sum((s) => s.pull_requests),
    edits_accepted: accepted,
    edits_rejected: decided - accepted,
    gateway_cost_usd: usd(billed),
    agent_cost_usd: usd(sum((s) => s.agent_cost_micros)),
    ungoverned_cost_usd: usd(sum((s) => s.ungoverned_cost_micros)),
    cost_per_session_usd: per(sessions.length),
    cost_per_commit_usd: per(sum((s) => s.commits)),
    cost_per_pull_request_usd: per(sum((s) => s.pull_requests)),
    // Lines an accepted edit added: Claude Code counts lines only for edits that were applied.
    cost_per_1k_lines_usd: per(lines, 1_000),
    edit_acceptance: decided > 0 ? accepted / decided : null,
  };
}

/**
 * Rows per team × agent × week. A team's figures are hidden when fewer than `minPeople` people
 * contributed that week: the org view is about teams, not a per-person leaderboard.
 */
export function teamOutcomes(sessions: SessionOutcome[], minPeople: number): TeamOutcomeRow[] {
  const groups = new Map<string, SessionOutcome[]>();
  for (const s of sessions) {
    const id = JSON.stringify([s.team_id ?? NONE, s.agent, s.week]);
    groups.set(id, [...(groups.get(id) ?? []), s]);
  }
  return [...groups].map(([id, group]) => {
    const [team_id, agent, week] = JSON.parse(id) as [string, string, string];
    const figures = figuresOf(group);
    const hidden = figures.people < minPeople;
    return hidden
      ? { team_id, agent, week, people: figures.people, hidden }
      : { team_id, agent, week, hidden, ...figures };
  });
}

export interface ReconciliationRow {
  session_id: string;
  model: string;
  calls: number;
  agent_cost_usd: number;
  gateway_cost_usd: number;
  /** Whether the gap is over the tolerance: a price out of date on one side. */
  finding: boolean;
}

/** A gap counts when over 2 % of the gateway's cost and over 100 µ$ (rounding across a few calls). */
export const RECONCILIATION_TOLERANCE = { fraction: 0.02, micros: 100 } as const;

export async function reconciliation(engine: QueryEngine, range: DayRange): Promise<ReconciliationRow[]> {
  const [from, to] = checkRange(range);
  const rows = await engine.query(RECONCILIATION_SQL, [from, to, from, to]);
  return rows.map((row) => {
    const agent = integer(row, 'agent_cost_micros');
    const gateway = integer(row, 'gateway_cost_micros');
    const gap = Math.abs(agent - gateway);
    return {
      session_id: text(row, 'session_id') ?? '',
      model: text(row, 'model') ?? NONE,
      calls: integer(row, 'calls'),
      agent_cost_usd: usd(agent),
      gateway_cost_usd: usd(gateway),
      finding: gap > RECONCILIATION_TOLERANCE.micros && gap > gateway * RECONCILIATION_TOLERANCE.fraction,
    };
  });
}

function whole(row: Row, column: string): number {
  return Math.round(decimal(row, column) ?? 0);
}

function usd(micros: number): number {
  return Math.round(micros) / 1_000_000;
}
