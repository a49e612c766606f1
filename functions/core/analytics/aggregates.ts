/**
 * Daily aggregates: each settled day's records reduced once to what the reports read, in the table
 * `usage_daily` beside the raw `usage` (partitioned by `dt`, then `kind`). A report reads the
 * aggregates of the days built and the raw records of the days after (today), through one CTE `daily`
 * whose rows are the same whichever side they came from: the raw side runs the very SELECT that built
 * the aggregates. Every text here runs on Athena and on DuckDB.
 *
 * Kinds (each a grain; the by_<dimension> ones keep the dashboard's hourly reads small):
 * - `spend`: day × team × person × key × provider × model × agent, for filtered reads (a team's view,
 *   a person's page, top spenders);
 * - `by_team`, `by_user`, `by_key`, `by_model`, `by_provider`, `by_agent`: day × that one column;
 * - `tag`: day × team × tag (a request with two tags counts under each);
 * - `outcome`: day × outcome × error type × status;
 * - `active`: day × team × person × agent with a successful request (adoption);
 * - `routing`: day × rule × model asked for × model served;
 * - `latency`: day × provider × model × metric × value rounded to 3 significant digits, a histogram
 *   the percentiles are read from.
 */
import type { SqlValue } from '../ports/lake.ts';
import { checkRange, type DayRange, dedupedUsage } from './sql.ts';

export const AGGREGATE_TABLE = 'usage_daily';
/** Where the aggregates live in the lake bucket (AWS) or under the data dir (locally). */
export const AGGREGATES_PREFIX = `aggregates/${AGGREGATE_TABLE}/`;

/** The key columns of the aggregate rows, all text, NULL where a kind does not group by them. */
const KEYS = [
  'team_id',
  'user_id',
  'key_id',
  'key_alias',
  'provider',
  'model_used',
  'model_requested',
  'agent',
  'tag',
  'outcome',
  'error_type',
  'route_rule_id',
  'route_rule',
  'metric',
] as const;
/** What the spend grains sum, each as `sum(column)`. */
const SPEND_READS = [
  'cost_micros',
  'shadow_cost_micros',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_write_5m_tokens',
  'cache_write_1h_tokens',
  'reasoning_tokens',
] as const;
/** The measures, all BIGINT (`status` and `bucket` are grouped on, but numbers). */
const NUMBERS = [
  'status',
  'bucket',
  'requests',
  ...SPEND_READS,
  'cost_as_requested_micros',
  'fallback_requests',
] as const;
type Column = (typeof KEYS)[number] | (typeof NUMBERS)[number];

const SPEND_SUMS: Partial<Record<Column, string>> = {
  requests: 'count(*)',
  ...Object.fromEntries(SPEND_READS.map((column) => [column, `sum(${column})`])),
};

interface Kind {
  /** Raw columns read, besides request_id, ts, dt (and what the dedupe reads). */
  reads: string[];
  /** Grouped columns: aggregate column → expression over the raw row. */
  keys: Partial<Record<Column, string>>;
  /** Measures: aggregate column → aggregate expression. */
  sums: Partial<Record<Column, string>>;
  /** FROM over `deduped`; `copy_number = 1` is its default filter. */
  from?: string;
  where?: string;
}

/** Latency values in ms: exact below 1 s, then to 3 significant digits (at most 0.5 % off). */
const rounded = (v: string) => `CASE
      WHEN ${v} < 1000 THEN ${v}
      WHEN ${v} < 10000 THEN CAST(round(CAST(${v} AS DOUBLE) / 10) AS BIGINT) * 10
      WHEN ${v} < 100000 THEN CAST(round(CAST(${v} AS DOUBLE) / 100) AS BIGINT) * 100
      ELSE CAST(round(CAST(${v} AS DOUBLE) / 1000) AS BIGINT) * 1000
    END`;
const LATENCY_METRICS = ['latency_ms', 'ttfb_ms', 'overhead_ms'];
const latencyFrom = `(${LATENCY_METRICS.map(
  (m) =>
    `SELECT dt, provider, model_used, '${m}' AS metric, ${rounded(m)} AS bucket FROM deduped WHERE copy_number = 1 AND outcome = 'success' AND ${m} IS NOT NULL`,
).join('\n  UNION ALL ')}) m`;

const byColumn = (column: string): Kind => ({
  reads: [column, ...SPEND_READS],
  keys: { [column]: column },
  sums: SPEND_SUMS,
});

export const KINDS = {
  spend: {
    reads: ['team_id', 'user_id', 'key_id', 'key_alias', 'provider', 'model_used', 'agent', ...SPEND_READS],
    keys: Object.fromEntries(
      ['team_id', 'user_id', 'key_id', 'key_alias', 'provider', 'model_used', 'agent'].map((c) => [c, c]),
    ),
    sums: SPEND_SUMS,
  },
  by_team: byColumn('team_id'),
  by_user: byColumn('user_id'),
  by_key: byColumn('key_alias'),
  by_model: byColumn('model_used'),
  by_provider: byColumn('provider'),
  by_agent: byColumn('agent'),
  tag: {
    reads: ['team_id', 'tags', ...SPEND_READS],
    keys: { team_id: 'team_id', tag: 'tag' },
    sums: SPEND_SUMS,
    // A request without tags keeps its one row (tag NULL): LEFT JOIN, not CROSS.
    from: 'deduped LEFT JOIN UNNEST(tags) AS t(tag) ON true',
  },
  outcome: {
    reads: ['outcome', 'error_type', 'status'],
    keys: { outcome: 'outcome', error_type: 'error_type', status: 'status' },
    sums: { requests: 'count(*)' },
  },
  active: {
    reads: ['team_id', 'user_id', 'agent', 'outcome'],
    keys: { team_id: 'team_id', user_id: 'user_id', agent: 'agent' },
    sums: { requests: 'count(*)' },
    where: "copy_number = 1 AND outcome = 'success' AND user_id IS NOT NULL",
  },
  routing: {
    reads: [
      'route_rule_id',
      'route_rule',
      'model_requested',
      'model_used',
      'attempts',
      'cost_micros',
      'shadow_cost_micros',
      'cost_as_requested_micros',
    ],
    keys: {
      route_rule_id: 'route_rule_id',
      route_rule: 'route_rule',
      model_requested: 'model_requested',
      model_used: 'model_used',
    },
    sums: {
      requests: 'count(*)',
      cost_micros: 'sum(cost_micros)',
      shadow_cost_micros: 'sum(shadow_cost_micros)',
      cost_as_requested_micros: 'sum(COALESCE(cost_as_requested_micros, shadow_cost_micros))',
      fallback_requests: 'sum(CASE WHEN attempts > 1 THEN 1 ELSE 0 END)',
    },
    where: 'copy_number = 1 AND route_rule_id IS NOT NULL',
  },
  latency: {
    reads: ['provider', 'model_used', 'outcome', ...LATENCY_METRICS],
    keys: { provider: 'provider', model_used: 'model_used', metric: 'metric', bucket: 'bucket' },
    sums: { requests: 'count(*)' },
    from: latencyFrom,
    where: '1 = 1',
  },
} satisfies Record<string, Kind>;
export type AggregateKind = keyof typeof KINDS;

/** The aggregate table's columns, `dt` and `kind` (its partitions) last, in Hive types. */
export function aggregateColumns(): Array<{ name: string; sqlType: 'STRING' | 'BIGINT' }> {
  return [
    ...KEYS.map((name) => ({ name, sqlType: 'STRING' as const })),
    ...NUMBERS.map((name) => ({ name, sqlType: 'BIGINT' as const })),
    { name: 'dt', sqlType: 'STRING' },
    { name: 'kind', sqlType: 'STRING' },
  ];
}

const COLUMN_LIST = aggregateColumns().map((c) => c.name);

/** One kind's aggregate rows from the CTE `deduped`, every column of the table in its order. */
function kindSelect(name: AggregateKind): string {
  const kind: Kind = KINDS[name];
  const keys = kind.keys;
  const groups = Object.values(keys) as string[];
  const select = [
    ...KEYS.map((c) => (keys[c] ? `${keys[c]} AS ${c}` : `CAST(NULL AS VARCHAR) AS ${c}`)),
    ...NUMBERS.map((c) => {
      const sum = kind.sums[c];
      if (sum) return `CAST(${sum} AS BIGINT) AS ${c}`;
      return keys[c] ? `CAST(${keys[c]} AS BIGINT) AS ${c}` : `CAST(NULL AS BIGINT) AS ${c}`;
    }),
    'dt',
    `'${name}' AS kind`,
  ];
  return `SELECT ${select.join(', ')}
  FROM ${kind.from ?? 'deduped'}
  WHERE ${kind.where ?? 'copy_number = 1'}
  GROUP BY dt, ${groups.join(', ')}`;
}

const BASE_READS = ['request_id', 'ts', 'dt', 'outcome', 'price_version'];
const readsOf = (kinds: AggregateKind[]) => [
  ...new Set([...BASE_READS, ...kinds.flatMap((k) => KINDS[k].reads)]),
];

/** The columns a kind reads: of the aggregate rows (besides `dt`, `kind`), and of raw records. */
export function kindColumns(name: AggregateKind): { aggregated: string[]; raw: string[] } {
  const kind: Kind = KINDS[name];
  return {
    aggregated: [...Object.keys(kind.keys), ...Object.keys(kind.sums)],
    raw: readsOf([name]).filter((c) => c !== 'dt'),
  };
}

/** The aggregate rows of one day (`?`), every kind: what a build writes, in `kind` order. */
export function buildDaySql(): string {
  const kinds = Object.keys(KINDS) as AggregateKind[];
  return `${dedupedUsage(readsOf(kinds), 'dt = ?')}
${kinds.map(kindSelect).join('\nUNION ALL\n')}`;
}

/** Which days a `daily` CTE reads raw and which from the aggregates: SQL filters on `dt` (and more). */
export interface DailyFilters {
  raw: string;
  aggregated: string;
}

/** A report's days: the raw ones and the aggregated ones, each `dt BETWEEN ? AND ?` plus `extra`. */
export function rangeFilters(extra = ''): DailyFilters {
  return { raw: `dt BETWEEN ? AND ?${extra}`, aggregated: `dt BETWEEN ? AND ?${extra}` };
}

/**
 * Every day, for the analysts' views: the aggregates where a day has them, raw records where it has
 * none (today, or a day not built yet).
 */
export const EVERY_DAY_FILTERS: DailyFilters = {
  raw: `dt NOT IN (SELECT DISTINCT dt FROM ${AGGREGATE_TABLE})`,
  aggregated: '1 = 1',
};

/** `WITH deduped AS (...), daily AS (...)`: one kind's rows over the days the filters keep. */
export function dailyCte(kind: AggregateKind, filters: DailyFilters): string {
  return `${dedupedUsage(readsOf([kind]), filters.raw)},
daily AS (
  SELECT ${COLUMN_LIST.join(', ')}
  FROM ${AGGREGATE_TABLE}
  WHERE kind = '${kind}' AND ${filters.aggregated}
  UNION ALL
  ${kindSelect(kind)}
)`;
}

/** A range of days, and the last day whose aggregates are built (null or absent: none are). */
export interface ReportRange extends DayRange {
  aggregatedThrough?: string | null;
}

/**
 * The parameters of `rangeFilters`: the raw days (after `aggregatedThrough`) then the aggregated ones
 * (up to it), each followed by `extra`'s values. An empty side gets a range that ends before it starts.
 */
export function dailyParams(range: ReportRange, extra: SqlValue[] = []): SqlValue[] {
  const [from, to] = checkRange(range);
  const through = range.aggregatedThrough ?? addDays(from, -1);
  // biome-ignore lint/complexity/useMathMinMax: days as text; Math.min would make them NaN.
  const aggregatedTo = through < to ? through : to;
  const rawFrom = through < from ? from : addDays(through, 1);
  return [rawFrom, to, ...extra, from, aggregatedTo, ...extra];
}

export function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}
