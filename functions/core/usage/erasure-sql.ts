/**
 * The SQL of an erasure on AWS (core/admin/erasure-job.ts), one text for Athena and DuckDB as every
 * report is (DuckDB runs it in `npm test`). Athena takes no parameters inside UNLOAD, so values are
 * written into the text as literals: a user id is any string an admin chose (quotes included), doubled
 * as SQL escapes a quote; days and object paths are checked or escaped the same way.
 */
import { telemetryColumns } from '../telemetry/record.ts';
import { usageColumns } from './record.ts';

/** The lake's tables that hold a person's rows, each under `<table>/dt=<day>/` of the lake bucket. */
export const ERASABLE_TABLES = ['usage', 'telemetry'] as const;
export type ErasableTable = (typeof ERASABLE_TABLES)[number];

/** The partition column, projected by Athena from the object's prefix rather than stored in it. */
const PARTITION = 'dt';

/** A string as a SQL literal: `'` doubled, control characters refused (an id never holds one). */
export function sqlLiteral(value: string): string {
  if (/\p{Cc}/u.test(value)) throw new RangeError('A SQL literal here holds no control characters');
  return `'${value.replaceAll("'", "''")}'`;
}

function checkedDay(day: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new RangeError(`Expected a day as YYYY-MM-DD, got '${day}'`);
  return day;
}

/** The data columns of a table, in its schema's order (what Firehose writes, what the Glue table reads). */
export function erasableColumns(table: ErasableTable): string[] {
  const columns = table === 'usage' ? usageColumns() : telemetryColumns();
  return columns.map((c) => c.name).filter((name) => name !== PARTITION);
}

/**
 * The days holding the person's rows, per table, with how many: columns `lake_table`, `dt`, `records`.
 * Athena reads only the `user_id` and `dt` columns of every partition (one scan of that column).
 */
export function personDaysSql(userId: string): string {
  const id = sqlLiteral(userId);
  return ERASABLE_TABLES.map(
    (table) =>
      `SELECT '${table}' AS lake_table, CAST(${PARTITION} AS VARCHAR) AS dt, count(*) AS records FROM ${table} WHERE user_id = ${id} GROUP BY ${PARTITION}`,
  ).join('\nUNION ALL\n');
}

/**
 * The rows of one day that stay: everyone's but the person's (a row without a user_id stays too),
 * read from exactly the objects listed before the rewrite (`"$path"`, Athena's pseudo-column naming
 * each row's object), so an object Firehose delivers meanwhile is neither copied nor removed.
 */
export function keptRowsSql(table: ErasableTable, day: string, userId: string, paths: string[]): string {
  if (paths.length === 0) throw new RangeError('An erasure reads at least one listed object');
  return `SELECT ${erasableColumns(table).join(', ')} FROM ${table}
WHERE ${PARTITION} = ${sqlLiteral(checkedDay(day))}
  AND user_id IS DISTINCT FROM ${sqlLiteral(userId)}
  AND "$path" IN (${paths.map(sqlLiteral).join(', ')})`;
}
