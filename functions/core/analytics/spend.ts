/**
 * Spend, latency and outcome reports over a range of days. Definitions:
 * - spend: the billed `cost_micros` (what budgets were charged) and the list-price
 *   `shadow_cost_micros`, with requests and tokens, per day and per value of one dimension;
 * - latency: percentiles of `latency_ms`, `ttfb_ms` and `overhead_ms` over successful requests, per
 *   provider and model;
 * - outcomes: requests that did not succeed, per day, outcome, error type and status.
 * Every query dedupes on `request_id` and reads only the `dt` partitions of the range.
 */
import type { QueryEngine, Row } from '../ports/lake.ts';
import {
  type AggregateKind,
  type DailyFilters,
  dailyCte,
  dailyParams,
  type ReportRange,
  rangeFilters,
} from './aggregates.ts';
import { day, decimal, integer, NONE, text } from './sql.ts';

/** What spend can be broken down by, and the column (or tag) each reads. */
export const SPEND_DIMENSIONS = {
  team: 'team_id',
  user: 'user_id',
  model: 'model_used',
  provider: 'provider',
  agent: 'agent',
  tag: 'tag',
  key: 'key_alias',
} as const;
export type SpendDimension = keyof typeof SPEND_DIMENSIONS;

const TOTALS = [
  'sum(requests) AS requests',
  'sum(cost_micros) AS cost_micros',
  'sum(shadow_cost_micros) AS shadow_cost_micros',
  'sum(input_tokens) AS input_tokens',
  'sum(output_tokens) AS output_tokens',
  'sum(cache_read_tokens) AS cache_read_tokens',
  'sum(cache_write_5m_tokens + cache_write_1h_tokens) AS cache_write_tokens',
  'sum(reasoning_tokens) AS reasoning_tokens',
];

/** The aggregate kind a dimension's spend reads: the narrow one, or the full grain to filter on a team. */
function spendKind(dimension: SpendDimension, team: boolean): AggregateKind {
  if (dimension === 'tag') return 'tag';
  return team ? 'spend' : `by_${dimension}`;
}

/**
 * Spend per day and dimension value. A request with several tags counts once under each; one with
 * none under `(none)`. Sorted by day, then most expensive first.
 */
export function spendSql(dimension: SpendDimension, options: { team?: boolean } = {}): string {
  // With `team`, one more parameter (on each side, raw and aggregated) names the one team wanted.
  const filters = rangeFilters(options.team ? ' AND team_id = ?' : '');
  return `${spendPerDaySql(dimension, { filters, team: options.team })}
ORDER BY day, cost_micros DESC, value`;
}

/**
 * `spendSql` without its order, over the days `filters` keep, its value column named `valueAs`: the
 * text of the analysts' spend views (analytics/views.ts) and the dashboard's.
 */
export function spendPerDaySql(
  dimension: SpendDimension,
  options: { filters: DailyFilters; team?: boolean; valueAs?: string },
): string {
  const column = SPEND_DIMENSIONS[dimension];
  const value = options.valueAs === undefined ? 'value' : `value AS ${options.valueAs}`;
  return `${dailyCte(spendKind(dimension, options.team === true), options.filters)},
per_value AS (
  SELECT dt AS day, COALESCE(${column}, '${NONE}') AS value, ${TOTALS.join(', ')}
  FROM daily
  GROUP BY dt, COALESCE(${column}, '${NONE}')
)
SELECT day, ${value}, requests, cost_micros, shadow_cost_micros, input_tokens, output_tokens,
  cache_read_tokens, cache_write_tokens, reasoning_tokens
FROM per_value`;
}

export interface SpendRow {
  day: string;
  value: string;
  requests: number;
  cost_micros: number;
  shadow_cost_micros: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
}

/** Spend per day by the dimension, of every team or of `team` alone. */
export async function spendBy(
  engine: QueryEngine,
  dimension: SpendDimension,
  range: ReportRange,
  team?: string,
): Promise<SpendRow[]> {
  const params = dailyParams(range, team === undefined ? [] : [team]);
  const rows = await engine.query(spendSql(dimension, { team: team !== undefined }), params);
  return rows.map((row) => ({
    day: day(row, 'day'),
    value: text(row, 'value') ?? NONE,
    requests: integer(row, 'requests'),
    cost_micros: integer(row, 'cost_micros'),
    shadow_cost_micros: integer(row, 'shadow_cost_micros'),
    input_tokens: integer(row, 'input_tokens'),
    output_tokens: integer(row, 'output_tokens'),
    cache_read_tokens: integer(row, 'cache_read_tokens'),
    cache_write_tokens: integer(row, 'cache_write_tokens'),
    reasoning_tokens: integer(row, 'reasoning_tokens'),
  }));
}

const PERCENTILES = [
  ['p50', 0.5],
  ['p90', 0.9],
  ['p99', 0.99],
] as const;

/**
 * Percentiles from the daily latency histograms (values to 3 significant digits): the smallest value
 * at or above which the share `p` of the requests lies (nearest rank).
 */
export const LATENCY_SQL = `${dailyCte('latency', rangeFilters())},
histogram AS (
  SELECT COALESCE(provider, '${NONE}') AS provider, COALESCE(model_used, '${NONE}') AS model, metric, bucket,
    sum(requests) AS n
  FROM daily
  GROUP BY COALESCE(provider, '${NONE}'), COALESCE(model_used, '${NONE}'), metric, bucket
),
ranked AS (
  SELECT provider, model, metric, bucket,
    CAST(sum(n) OVER (PARTITION BY provider, model, metric ORDER BY bucket ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS DOUBLE) AS upto,
    CAST(sum(n) OVER (PARTITION BY provider, model, metric) AS DOUBLE) AS total
  FROM histogram
)
SELECT provider, model, CAST(max(CASE WHEN metric = 'latency_ms' THEN total END) AS BIGINT) AS requests,
  ${['latency', 'ttfb', 'overhead']
    .flatMap((metric) =>
      PERCENTILES.map(
        ([name, p]) =>
          `min(CASE WHEN metric = '${metric}_ms' AND upto >= ${p} * total THEN bucket END) AS ${metric}_${name}`,
      ),
    )
    .join(',\n  ')}
FROM ranked
GROUP BY provider, model
ORDER BY requests DESC, provider, model`;

type Percentiles = Record<(typeof PERCENTILES)[number][0], number | null>;

export interface LatencyRow {
  provider: string;
  model: string;
  requests: number;
  latency_ms: Percentiles;
  ttfb_ms: Percentiles;
  overhead_ms: Percentiles;
}

export async function latencyByModel(engine: QueryEngine, range: ReportRange): Promise<LatencyRow[]> {
  const rows = await engine.query(LATENCY_SQL, dailyParams(range));
  const percentiles = (row: Row, metric: string) =>
    Object.fromEntries(PERCENTILES.map(([name]) => [name, decimal(row, `${metric}_${name}`)])) as Percentiles;
  return rows.map((row) => ({
    provider: text(row, 'provider') ?? NONE,
    model: text(row, 'model') ?? NONE,
    requests: integer(row, 'requests'),
    latency_ms: percentiles(row, 'latency'),
    ttfb_ms: percentiles(row, 'ttfb'),
    overhead_ms: percentiles(row, 'overhead'),
  }));
}

export const OUTCOMES_SQL = `${dailyCte('outcome', rangeFilters())}
SELECT dt AS day, outcome, COALESCE(error_type, '${NONE}') AS error_type, status, sum(requests) AS requests
FROM daily
WHERE outcome <> 'success'
GROUP BY dt, outcome, COALESCE(error_type, '${NONE}'), status
ORDER BY day, requests DESC, outcome, error_type, status`;

export interface OutcomeRow {
  day: string;
  /** `denied` (401/402/403/429), `invalid` (400/404/413), `upstream_error`, `truncated`, `error`. */
  outcome: string;
  error_type: string;
  status: number;
  requests: number;
}

/** Denials and errors: every request that did not succeed, counted by what happened. */
export async function denialsAndErrors(engine: QueryEngine, range: ReportRange): Promise<OutcomeRow[]> {
  const rows = await engine.query(OUTCOMES_SQL, dailyParams(range));
  return rows.map((row) => ({
    day: day(row, 'day'),
    outcome: text(row, 'outcome') ?? NONE,
    error_type: text(row, 'error_type') ?? NONE,
    status: integer(row, 'status'),
    requests: integer(row, 'requests'),
  }));
}

/** Spend over the whole range per value: SpendRow without the day. */
export type SpendTotalRow = Omit<SpendRow, 'day'>;

/** Sums per-day rows into one per value, most expensive first. */
export function totalsByValue(rows: SpendRow[]): SpendTotalRow[] {
  const totals = new Map<string, SpendTotalRow>();
  for (const { day: _day, ...row } of rows) {
    const t = totals.get(row.value);
    if (!t) {
      totals.set(row.value, { ...row });
      continue;
    }
    for (const k of Object.keys(row) as Array<keyof SpendTotalRow>) if (k !== 'value') t[k] += row[k];
  }
  return [...totals.values()].sort((a, b) => b.cost_micros - a.cost_micros || a.value.localeCompare(b.value));
}

/**
 * One person's spend per day by agent and by model (their own page). Reads the same partitions as the
 * team reports, filtered to their `user_id`.
 */
export const PERSONAL_SPEND_SQL = `${dailyCte('spend', rangeFilters(' AND user_id = ?'))}
SELECT dt AS day, agent, COALESCE(model_used, '${NONE}') AS model, sum(requests) AS requests,
  sum(cost_micros) AS cost_micros, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens
FROM daily
GROUP BY dt, agent, COALESCE(model_used, '${NONE}')
ORDER BY day, cost_micros DESC, agent, model`;

export interface PersonalSpendRow {
  day: string;
  agent: string;
  model: string;
  requests: number;
  cost_micros: number;
  input_tokens: number;
  output_tokens: number;
}

export async function personalSpend(
  engine: QueryEngine,
  userId: string,
  range: ReportRange,
): Promise<PersonalSpendRow[]> {
  const rows = await engine.query(PERSONAL_SPEND_SQL, dailyParams(range, [userId]));
  return rows.map((row) => ({
    day: day(row, 'day'),
    agent: text(row, 'agent') ?? NONE,
    model: text(row, 'model') ?? NONE,
    requests: integer(row, 'requests'),
    cost_micros: integer(row, 'cost_micros'),
    input_tokens: integer(row, 'input_tokens'),
    output_tokens: integer(row, 'output_tokens'),
  }));
}

const SCOPE_COLUMN: Record<string, string | null> = {
  team: 'team_id',
  user: 'user_id',
  key: 'key_id',
  key_model: 'key_id',
  key_provider: 'key_id',
  org: null,
};

/** The three biggest spenders by `by` within one budget's scope and days. */
export function topSpendersSql(scope: string, by: 'user_id' | 'model_used' | 'agent'): string {
  const column = SCOPE_COLUMN[scope];
  return `${dailyCte('spend', rangeFilters(column ? ` AND ${column} = ?` : ''))}
SELECT COALESCE(${by}, '${NONE}') AS value, sum(cost_micros) AS cost_micros
FROM daily
GROUP BY COALESCE(${by}, '${NONE}')
ORDER BY cost_micros DESC, value
LIMIT 3`;
}

/** A type, not an interface, so it reads as a record of rankings wherever one is expected. */
export type TopSpenders = Record<
  'users' | 'models' | 'agents',
  Array<{ value: string; cost_micros: number }>
>;

/** Who and what spent most of one budget (key ids for the key scopes), for an alert's message. */
export async function topSpenders(
  engine: QueryEngine,
  budget: { scope: string; scope_id: string },
  range: ReportRange,
): Promise<TopSpenders> {
  const id = budget.scope.startsWith('key_') ? (budget.scope_id.split('/')[0] ?? '') : budget.scope_id;
  const params = dailyParams(range, SCOPE_COLUMN[budget.scope] ? [id] : []);
  const run = async (by: 'user_id' | 'model_used' | 'agent') =>
    (await engine.query(topSpendersSql(budget.scope, by), params)).map((row) => ({
      value: text(row, 'value') ?? NONE,
      cost_micros: integer(row, 'cost_micros'),
    }));
  const [users, models, agents] = await Promise.all([run('user_id'), run('model_used'), run('agent')]);
  return { users, models, agents };
}
