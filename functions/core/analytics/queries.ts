import type { QueryEngine, Row, SqlValue } from '../ports/lake.ts';
import { type UsageRecord, UsageRecordSchema, usageColumns } from '../usage/record.ts';
import { checkDay, dedupedUsage, integer, text } from './sql.ts';

/**
 * Reports over the usage lake. Every SQL text here runs unchanged on Athena (Trino) and on DuckDB, so
 * it keeps to what both accept. Delivery is at-least-once, so every query first keeps one row per
 * `request_id`, and filters on `dt`, the partition column Athena prunes on, wherever the caller gives a day.
 */

export const NO_USER = '(no user)';

// The outer SELECT sorts by output names only, so no engine has to guess whether `cost_micros`
// means the column or the sum.
export const COST_BY_USER_SQL = `${dedupedUsage(
  ['user_id', 'team_id', 'input_tokens', 'output_tokens', 'cost_micros'],
  'dt = ?',
)},
per_user AS (
  SELECT
    COALESCE(user_id, '${NO_USER}') AS user_id,
    team_id,
    count(*) AS requests,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(cost_micros) AS cost_micros
  FROM deduped
  WHERE copy_number = 1
  GROUP BY user_id, team_id
)
SELECT user_id, team_id, requests, input_tokens, output_tokens, cost_micros
FROM per_user
ORDER BY cost_micros DESC, user_id, team_id`;

export interface CostByUserRow {
  /** `(no user)` for requests made with keys that belong to no user. */
  user_id: string;
  team_id: string | null;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cost_micros: number;
}

/**
 * Spend per user (and team) on one UTC day, most expensive first. A user whose requests carried two
 * different teams that day gets one row per team.
 */
export async function costByUser(engine: QueryEngine, day: string): Promise<CostByUserRow[]> {
  const rows = await engine.query(COST_BY_USER_SQL, [checkDay(day)]);
  return rows.map((row) => ({
    user_id: text(row, 'user_id') ?? NO_USER,
    team_id: text(row, 'team_id'),
    requests: integer(row, 'requests'),
    input_tokens: integer(row, 'input_tokens'),
    output_tokens: integer(row, 'output_tokens'),
    cost_micros: integer(row, 'cost_micros'),
  }));
}

export interface RecentUsageOptions {
  /** How many records at most, 1 to MAX_RECENT_LIMIT. */
  limit: number;
  /** Only records from this UTC day on (`YYYY-MM-DD`). Set it on AWS: without it Athena reads every partition. */
  sinceDay?: string;
}

export const MAX_RECENT_LIMIT = 10_000;

/** Arrays have no common result form, so they travel as JSON text (the same text on both engines). */
const RECORD_SELECT = usageColumns().map(({ name, sqlType }) =>
  sqlType.startsWith('ARRAY') ? `CAST(${name} AS JSON) AS ${name}` : name,
);

/**
 * The latest usage records, newest first (the admin API's `GET /spend/logs`). The limit is part of the
 * SQL text, not a parameter: Athena does not bind parameters in LIMIT. It is checked to be an integer.
 */
export function recentUsageSql(limit: number, since: boolean): string {
  return `${dedupedUsage(
    usageColumns().map((c) => c.name),
    since ? 'dt >= ?' : '1 = 1',
  )}
SELECT ${RECORD_SELECT.join(', ')}
FROM deduped
WHERE copy_number = 1
ORDER BY ts DESC, request_id DESC
LIMIT ${checkLimit(limit)}`;
}

/** Every record of one day, once each: what re-pricing reads. */
export async function recordsOfDay(engine: QueryEngine, day: string): Promise<UsageRecord[]> {
  const sql = `${dedupedUsage(
    usageColumns().map((c) => c.name),
    'dt = ?',
  )}
SELECT ${RECORD_SELECT.join(', ')}
FROM deduped
WHERE copy_number = 1
ORDER BY ts, request_id`;
  return (await engine.query(sql, [checkDay(day)])).map(toUsageRecord);
}

export async function recentUsage(engine: QueryEngine, options: RecentUsageOptions): Promise<UsageRecord[]> {
  const params: SqlValue[] = options.sinceDay === undefined ? [] : [checkDay(options.sinceDay)];
  const rows = await engine.query(recentUsageSql(options.limit, params.length > 0), params);
  return rows.map(toUsageRecord);
}

function toUsageRecord(row: Row): UsageRecord {
  const arrays = usageColumns().filter((c) => c.sqlType.startsWith('ARRAY'));
  const decoded: Record<string, unknown> = { ...row };
  for (const { name } of arrays) {
    const value = row[name];
    decoded[name] = typeof value === 'string' ? JSON.parse(value) : [];
  }
  return UsageRecordSchema.parse(decoded);
}

function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_RECENT_LIMIT) {
    throw new RangeError(`Expected a limit between 1 and ${MAX_RECENT_LIMIT}, got ${limit}`);
  }
  return limit;
}
