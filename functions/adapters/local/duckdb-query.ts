import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { AGGREGATE_TABLE, aggregateColumns } from '../../core/analytics/aggregates.ts';
import type { QueryEngine, Row, SqlValue } from '../../core/ports/lake.ts';
import { telemetryColumns } from '../../core/telemetry/record.ts';
import { usageColumns } from '../../core/usage/record.ts';

export interface DuckDbQueryEngineOptions {
  /** The lake sink's data dir; the view reads `<dataDir>/usage/<partition>/*.jsonl` and `*.parquet`. */
  dataDir: string;
}

export type DuckDbQueryEngine = QueryEngine & { close(): Promise<void> };

/** Lake column types (Hive/Athena spelling, from the record schema) in DuckDB's spelling. */
const DUCKDB_TYPES: Record<string, string> = {
  STRING: 'VARCHAR',
  BIGINT: 'BIGINT',
  DOUBLE: 'DOUBLE',
  BOOLEAN: 'BOOLEAN',
  TIMESTAMP: 'TIMESTAMP',
  'ARRAY<STRING>': 'VARCHAR[]',
};

/**
 * Trino functions the shared SQL uses that DuckDB spells differently, defined under Trino's names at
 * connect time. `approx_percentile` is approximate on Athena; locally the exact `quantile_disc`
 * (a value that occurs in the data) stands in, which is what the fixture tests compare.
 */
const ATHENA_SHIMS = ['CREATE MACRO approx_percentile(x, p) AS quantile_disc(x, p)'];

/**
 * DuckDB 1.5's top-N window elimination fails an internal assertion on the dedupe (`row_number()`
 * per request_id, keep the first) over the JSON view when the outer query groups; without that
 * rewrite the same plan runs, a little slower.
 */
const SETTINGS = ["SET disabled_optimizers = 'top_n_window_elimination'"];

/**
 * The local QueryEngine: an in-memory DuckDB with a view `usage` over the lake's JSON lines, so the
 * SQL Athena runs on AWS runs here unchanged.
 */
export function createDuckDbQueryEngine({ dataDir }: DuckDbQueryEngineOptions): DuckDbQueryEngine {
  const columns = usageColumnsForDuckDb();
  const telemetry = telemetryColumnsForDuckDb();
  // Loaded and opened on the first query, so the engine can be created at start like an SDK client and
  // a gateway nobody asks for a report never maps DuckDB's native library (tens of MB of RSS).
  let opened:
    | Promise<{ instance: DuckDBInstance; connection: DuckDBConnection; views: ViewState }>
    | undefined;
  const open = () => {
    opened ??= openDuckDb().then(async (instance) => {
      const connection = await instance.connect();
      for (const statement of [...SETTINGS, ...ATHENA_SHIMS]) await connection.run(statement);
      return { instance, connection, views: {} };
    });
    return opened;
  };
  // One query at a time: each query redefines the view first, and the two must not interleave.
  let tail: Promise<unknown> = Promise.resolve();

  return {
    query(sql: string, params: SqlValue[] = []): Promise<Row[]> {
      const run = tail.then(async () => {
        const { connection, views } = await open();
        await defineLakeView(connection, dataDir, 'usage', columns, views);
        await defineLakeView(connection, dataDir, 'telemetry', telemetry, views);
        await defineAggregatesView(connection, dataDir, views);
        const reader = await connection.runAndReadAll(sql, params);
        return reader.getRowObjectsJS().map(toRow);
      });
      tail = run.catch(() => undefined);
      return run.catch((cause: unknown) => {
        throw new Error(`DuckDB query failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
          cause,
        });
      });
    },
    async close(): Promise<void> {
      await tail;
      if (!opened) return;
      const { instance, connection } = await opened;
      opened = undefined;
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** A new in-memory DuckDB, its module imported on first call only. */
export async function openDuckDb(): Promise<DuckDBInstance> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  return DuckDBInstance.create(':memory:');
}

/** The telemetry records' columns in DuckDB types, from their schema. */
export function telemetryColumnsForDuckDb(): Array<{ name: string; type: string }> {
  return telemetryColumns().map(({ name, sqlType }) => ({ name, type: duckDbType(sqlType) }));
}

/** The lake's columns in DuckDB types, from the record schema. */
export function usageColumnsForDuckDb(): Array<{ name: string; type: string }> {
  return usageColumns().map(({ name, sqlType }) => ({ name, type: duckDbType(sqlType) }));
}

function duckDbType(sqlType: string): string {
  const type = DUCKDB_TYPES[sqlType];
  if (!type) throw new Error(`No DuckDB type for lake column type ${sqlType}`);
  return type;
}

/**
 * What the views were last defined over: a view is defined again only when that changes (a file
 * appears, a day is compacted), since looking at every Parquet footer costs more than a small query.
 */
interface ViewState {
  usage?: string;
  telemetry?: string;
  aggregates?: string;
}

/**
 * The view `usage` (or `telemetry`) over the lake: JSON-lines files as the sink writes them, and Parquet files where a
 * day was compacted (JSON lines lacking a newer field read it as NULL; so do Parquet files, below).
 * `read_json` and `read_parquet` fail when their glob matches nothing, so each
 * source is added only when it has files; an empty lake gets the same typed columns and no rows, so a
 * report over a fresh install is empty, not an error.
 */
async function defineLakeView(
  connection: DuckDBConnection,
  dataDir: string,
  table: 'usage' | 'telemetry',
  columns: Array<{ name: string; type: string }>,
  state: ViewState,
): Promise<void> {
  const typed = columns.map((c) => `${c.name}: '${c.type}'`).join(', ');
  const names = columns.map((c) => c.name).join(', ');
  const sources: string[] = [];
  const json = sqlString(join(dataDir, table, '*', '*.jsonl'));
  const parquet = sqlString(join(dataDir, table, '*', '*.parquet'));
  const hasJson = await hasFiles(connection, json);
  const parquetFiles = (await connection.runAndReadAll(`SELECT file FROM glob(${parquet}) ORDER BY file`))
    .getRowObjectsJS()
    .map((row) => String(row.file));
  const signature = `${hasJson}|${parquetFiles.join('|')}`;
  if (state[table] === signature) return;
  if (hasJson) {
    sources.push(
      `SELECT ${names} FROM read_json(${json}, columns = {${typed}}, format = 'newline_delimited', hive_partitioning = false)`,
    );
  }
  if (parquetFiles.length > 0) {
    // Files of one schema are read by the first one's; only a lake with days compacted by an older
    // build needs union by name, which reads every footer each time a query is bound.
    const schemas = new Set(
      (
        await connection.runAndReadAll(
          `SELECT string_agg(name, ',' ORDER BY name) AS cols FROM parquet_schema(${parquet}) GROUP BY file_name`,
        )
      )
        .getRowObjectsJS()
        .map((row) => String(row.cols)),
    );
    const union = schemas.size > 1 ? ', union_by_name = true' : '';
    const files = `read_parquet(${parquet}, hive_partitioning = false${union})`;
    // Days compacted by an older build lack the columns added since: those read as NULL.
    const present = new Set(
      (await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${files}`))
        .getRowObjectsJS()
        .map((row) => String(row.column_name)),
    );
    const selected = columns.map((c) =>
      present.has(c.name) ? c.name : `CAST(NULL AS ${c.type}) AS ${c.name}`,
    );
    sources.push(`SELECT ${selected.join(', ')} FROM ${files}`);
  }
  const empty = `SELECT ${columns.map((c) => `CAST(NULL AS ${c.type}) AS ${c.name}`).join(', ')} WHERE false`;
  await connection.run(`CREATE OR REPLACE TEMP VIEW ${table} AS ${sources.join(' UNION ALL ') || empty}`);
  state[table] = signature;
}

/**
 * The view `usage_daily` over the daily aggregates (adapters/local/lake-aggregates.ts): Parquet files
 * under `dt=<day>/kind=<kind>/`, the partitions read from the path as text, as Athena's projection does.
 */
async function defineAggregatesView(
  connection: DuckDBConnection,
  dataDir: string,
  state: ViewState,
): Promise<void> {
  const columns = aggregateColumns();
  const typed = (c: { name: string; sqlType: string }) => (c.sqlType === 'BIGINT' ? 'BIGINT' : 'VARCHAR');
  const parquet = sqlString(join(dataDir, 'aggregates', AGGREGATE_TABLE, '*', '*', '*.parquet'));
  const present = await hasFiles(connection, parquet);
  if (state.aggregates === String(present)) return;
  state.aggregates = String(present);
  const source = present
    ? // One writer (lake-aggregates.ts) and one schema: no union by name, whose reading of every
      // footer at bind time cost more than the query; dt and kind bare, so filters on them prune files.
      `SELECT ${columns.map((c) => c.name).join(', ')}
       FROM read_parquet(${parquet}, hive_partitioning = true, hive_types = {'dt': VARCHAR, 'kind': VARCHAR})`
    : `SELECT ${columns.map((c) => `CAST(NULL AS ${typed(c)}) AS ${c.name}`).join(', ')} WHERE false`;
  await connection.run(`CREATE OR REPLACE TEMP VIEW ${AGGREGATE_TABLE} AS ${source}`);
}

async function hasFiles(connection: DuckDBConnection, pattern: string): Promise<boolean> {
  return (await connection.runAndReadAll(`SELECT 1 FROM glob(${pattern}) LIMIT 1`)).currentRowCount > 0;
}

export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function toRow(values: Record<string, unknown>): Row {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, toSqlValue(value)]));
}

/** DuckDB's JS values to plain JSON ones: BIGINT/HUGEINT (SUM) → number, TIMESTAMP → ISO string. */
function toSqlValue(value: unknown): SqlValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') {
    // Beyond 2^53 a number would silently lose digits; a string keeps them.
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  }
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  // Lists and structs have no SqlValue; queries cast them `AS JSON` to get the same text on Athena.
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
}
