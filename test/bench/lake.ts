/**
 * The usage lake at scale. Generates realistic synthetic usage records (several teams, hundreds of
 * people, several agents and models, 90 days, 0.5 % delivered twice) as day-partitioned zstd Parquet,
 * times every report of the rollup on DuckDB, and estimates what Athena would scan for a monthly
 * rollup: the compressed size of the columns each query reads, over 30 days of partitions (Athena
 * reads whole column chunks of the referenced columns of the partitions a query names). Prints
 * figures; asserts nothing.
 *
 *   npx tsx test/bench/lake.ts [--records 10000000] [--people 400] [--keep]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  createDuckDbQueryEngine,
  sqlString,
  usageColumnsForDuckDb,
} from '../../functions/adapters/local/duckdb-query.ts';
import {
  NEW_AND_LAPSED_SQL,
  newAndLapsed,
  REPEAT_USAGE_SQL,
  repeatUsage,
  TOOLS_PER_PERSON_SQL,
  toolsPerPerson,
  WEEKLY_ACTIVE_SQL,
  weeklyActive,
} from '../../functions/core/analytics/adoption.ts';
import {
  denialsAndErrors,
  LATENCY_SQL,
  latencyByModel,
  OUTCOMES_SQL,
  SPEND_DIMENSIONS,
  type SpendDimension,
  spendBy,
  spendSql,
} from '../../functions/core/analytics/spend.ts';
import type { DayRange } from '../../functions/core/analytics/sql.ts';
import type { QueryEngine } from '../../functions/core/ports/lake.ts';
import { USAGE_SCHEMA_VERSION } from '../../functions/core/usage/record.ts';

const { values: flags } = parseArgs({
  options: {
    records: { type: 'string', default: '10000000' },
    people: { type: 'string', default: '400' },
    keep: { type: 'boolean', default: false },
  },
});
const RECORDS = Number(flags.records);
const PEOPLE = Number(flags.people);
const DAYS = 90;
const LAST_DAY = '2026-11-30';
const FIRST_DAY = new Date(Date.parse(`${LAST_DAY}T00:00:00Z`) - (DAYS - 1) * 86_400_000)
  .toISOString()
  .slice(0, 10);

/** One synthetic record per row of `range(n)`: a deterministic mix, not uniform noise. */
function syntheticSql(n: number): string {
  const pick = (list: string[], expr: string) =>
    `(${JSON.stringify(list).replaceAll('"', "'")})[1 + CAST((${expr}) % ${list.length} AS BIGINT)]`;
  const models = [
    'claude-sonnet-4-5',
    'claude-opus-4-5',
    'claude-haiku-4-5',
    'gpt-5-codex',
    'gpt-5',
    'gpt-4.1-mini',
    'kimi-k2.5',
    'o4-mini',
  ];
  const providers = [
    'anthropic',
    'anthropic',
    'anthropic',
    'openai',
    'openai',
    'openai',
    'moonshot',
    'openai',
  ];
  const agents = ['claude-code', 'codex', 'openai-sdk', 'anthropic-sdk', 'kimi-cli'];
  const outcomes = [
    'success',
    'success',
    'success',
    'success',
    'success',
    'success',
    'success',
    'success',
    'success',
    'success',
    'success',
    'success',
    'success',
    'success',
    'success',
    'success',
    'success',
    'denied',
    'invalid',
    'upstream_error',
  ];
  const tags = [[], ['cli'], ['ci'], ['cli', 'refactor'], []];
  const person = `(hash(i * 7919) % ${PEOPLE})`;
  const modelIndex = `(hash(i * 31) % ${models.length})`;
  return `SELECT
    ${USAGE_SCHEMA_VERSION} AS schema_version,
    'req-' || CAST(i AS VARCHAR) AS request_id,
    TIMESTAMP '${FIRST_DAY} 00:00:00' + to_seconds(CAST(hash(i) % ${DAYS * 86_400} AS BIGINT)) AS ts,
    NULL::VARCHAR AS dt,
    'key' || CAST(${person} AS VARCHAR) AS key_id,
    'laptop-' || CAST(${person} AS VARCHAR) AS key_alias,
    'user-' || CAST(${person} AS VARCHAR) AS user_id,
    'team-' || CAST(${person} % 8 AS VARCHAR) AS team_id,
    ${pick(agents, `${person} + hash(i) % 3`)} AS agent,
    '1.0.0' AS agent_version,
    'sess-' || CAST(i // 40 AS VARCHAR) AS session_id,
    '/v1/messages' AS route,
    'anthropic-messages' AS protocol,
    ${pick(providers, modelIndex)} AS provider,
    ${pick(models, modelIndex)} AS model_requested,
    ${pick(models, modelIndex)} AS model_used,
    true AS stream,
    200 AS status,
    ${pick(outcomes, 'hash(i * 13)')} AS outcome,
    NULL::VARCHAR AS error_type,
    CAST(hash(i * 3) % 20000 AS BIGINT) AS input_tokens,
    CAST(hash(i * 5) % 4000 AS BIGINT) AS output_tokens,
    CAST(hash(i * 11) % 60000 AS BIGINT) AS cache_read_tokens,
    CAST(hash(i * 17) % 3000 AS BIGINT) AS cache_write_5m_tokens,
    0::BIGINT AS cache_write_1h_tokens,
    CAST(hash(i * 19) % 1000 AS BIGINT) AS reasoning_tokens,
    'provider' AS usage_source,
    CAST(hash(i * 23) % 200000 AS BIGINT) AS cost_micros,
    CAST(hash(i * 23) % 200000 AS BIGINT) AS shadow_cost_micros,
    CAST(hash(i * 29) % 900000 AS BIGINT) AS reserved_micros,
    '2026-11' AS price_version,
    CAST(500 + hash(i * 37) % 60000 AS BIGINT) AS latency_ms,
    CAST(200 + hash(i * 41) % 3000 AS BIGINT) AS ttfb_ms,
    CAST(400 + hash(i * 37) % 59000 AS BIGINT) AS upstream_ms,
    CAST(1 + hash(i * 43) % 20 AS BIGINT) AS overhead_ms,
    CAST(${JSON.stringify(tags).replaceAll('"', "'")} AS VARCHAR[][])[1 + CAST(hash(i * 47) % ${tags.length} AS BIGINT)] AS tags
  FROM range(${n}) t(i)`;
}

async function generate(dir: string): Promise<number> {
  const started = performance.now();
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run(`CREATE TEMP VIEW synthetic AS ${syntheticSql(RECORDS)}`);
  // Every column of the record schema, in its order: a column the generator does not make (one added
  // to the schema since) is written as NULL, as in records from before it existed.
  const generated = new Set(
    (await c.runAndReadAll('DESCRIBE synthetic')).getRowObjectsJS().map((r) => String(r.column_name)),
  );
  const columns = usageColumnsForDuckDb()
    .map((col) =>
      col.name === 'dt'
        ? `strftime(ts, '%Y-%m-%d') AS dt`
        : generated.has(col.name)
          ? `CAST(${col.name} AS ${col.type}) AS ${col.name}`
          : `CAST(NULL AS ${col.type}) AS ${col.name}`,
    )
    .join(', ');
  // 0.5 % of the records delivered a second time, a second later: at-least-once delivery.
  const duplicates = Math.floor(RECORDS * 0.005);
  await c.run(
    `COPY (
      SELECT ${columns} FROM synthetic
      UNION ALL
      SELECT ${columns.replace('CAST(ts AS TIMESTAMP) AS ts', "CAST(ts + INTERVAL '1' SECOND AS TIMESTAMP) AS ts")} FROM synthetic WHERE hash(request_id) % ${RECORDS} < ${duplicates}
    ) TO ${sqlString(join(dir, 'usage'))} (FORMAT parquet, PARTITION_BY (dt), WRITE_PARTITION_COLUMNS true, COMPRESSION zstd, OVERWRITE true)`,
  );
  c.closeSync();
  db.closeSync();
  return performance.now() - started;
}

/** Every report of the rollup: its name, its SQL text, and how to run it. */
function reportsOf(dims: SpendDimension[]) {
  type Report = { name: string; sql: string; run: (q: QueryEngine, range: DayRange) => Promise<unknown[]> };
  const reports: Report[] = dims.map((d) => ({
    name: `spend by ${d}`,
    sql: spendSql(d),
    run: (q, r) => spendBy(q, d, r),
  }));
  reports.push(
    { name: 'latency by model', sql: LATENCY_SQL, run: latencyByModel },
    { name: 'denials and errors', sql: OUTCOMES_SQL, run: denialsAndErrors },
    { name: 'weekly active', sql: WEEKLY_ACTIVE_SQL, run: weeklyActive },
    { name: 'repeat usage', sql: REPEAT_USAGE_SQL, run: repeatUsage },
    { name: 'tools per person', sql: TOOLS_PER_PERSON_SQL, run: toolsPerPerson },
    { name: 'new and lapsed', sql: NEW_AND_LAPSED_SQL, run: newAndLapsed },
  );
  return reports;
}

async function timed<T>(name: string, run: () => Promise<T>, rows: (r: T) => number) {
  const started = performance.now();
  const result = await run();
  return { name, ms: performance.now() - started, rows: rows(result) };
}

/** Compressed bytes per column over the partitions of `range`, from the Parquet footers. */
async function columnBytes(dir: string, range: DayRange): Promise<Map<string, number>> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const reader = await c.runAndReadAll(
    `SELECT split_part(path_in_schema, ',', 1) AS col, sum(total_compressed_size) AS bytes
     FROM parquet_metadata(${sqlString(join(dir, 'usage', '*', '*.parquet'))})
     WHERE regexp_extract(file_name, 'dt=([0-9-]+)', 1) BETWEEN ? AND ?
     GROUP BY 1`,
    [range.from, range.to],
  );
  const out = new Map(reader.getRowObjectsJS().map((r) => [String(r.col), Number(r.bytes)]));
  c.closeSync();
  db.closeSync();
  return out;
}

/** The usage columns a SQL text names: what Athena reads of each partition. */
function columnsOf(sql: string): string[] {
  return usageColumnsForDuckDb()
    .map((c) => c.name)
    .filter((name) => name !== 'dt' && new RegExp(`\\b${name}\\b`).test(sql));
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-bench-lake-'));
  try {
    console.log(
      `Generating ${RECORDS.toLocaleString('en-US')} records (${PEOPLE} people, 8 teams, 5 agents, 8 models, ${DAYS} days) ...`,
    );
    const generateMs = await generate(dir);
    const onDisk = [...(await columnBytes(dir, { from: FIRST_DAY, to: LAST_DAY })).values()].reduce(
      (a, b) => a + b,
      0,
    );
    console.log(
      `  written in ${(generateMs / 1000).toFixed(1)} s; ${mib(onDisk)} of zstd Parquet column data\n`,
    );

    const engine = createDuckDbQueryEngine({ dataDir: dir });
    const q: QueryEngine = engine;
    const range = { from: FIRST_DAY, to: LAST_DAY };
    const dims = Object.keys(SPEND_DIMENSIONS) as SpendDimension[];
    const runs = [];
    for (const report of reportsOf(dims)) {
      runs.push(
        await timed(
          report.name,
          () => report.run(q, range),
          (rows) => rows.length,
        ),
      );
    }
    await engine.close();
    const total = runs.reduce((s, r) => s + r.ms, 0);
    console.log(
      `Rollup set on DuckDB over ${DAYS} days (${availableParallelism()} CPUs), one query at a time`,
    );
    console.log('report                   seconds  rows out');
    for (const r of runs)
      console.log(
        `${r.name.padEnd(24)} ${(r.ms / 1000).toFixed(2).padStart(7)}  ${String(r.rows).padStart(8)}`,
      );
    console.log(`${'total'.padEnd(24)} ${(total / 1000).toFixed(2).padStart(7)}\n`);

    const month = { from: '2026-11-01', to: LAST_DAY };
    const bytes = await columnBytes(dir, month);
    const sqls = reportsOf(dims).map((r): [string, string] => [r.name, r.sql]);
    console.log(
      `Athena bytes scanned for a monthly rollup (${month.from} to ${month.to}, partition projection on dt)`,
    );
    console.log('report                   scanned     columns');
    let scanned = 0;
    for (const [name, sql] of sqls) {
      const cols = columnsOf(sql);
      const b = cols.reduce((s, c) => s + (bytes.get(c) ?? 0), 0);
      scanned += b;
      console.log(`${name.padEnd(24)} ${mib(b).padStart(10)}  ${cols.join(', ')}`);
    }
    const monthRecords = Math.round((RECORDS * 30) / DAYS);
    console.log(
      `${'total'.padEnd(24)} ${mib(scanned).padStart(10)}  ≈ $${((scanned / 1024 ** 4) * 5).toFixed(4)} at $5/TB ` +
        `(Athena bills at least 10 MB a query: ${sqls.length} queries ≥ ${sqls.length * 10} MB); ~${monthRecords.toLocaleString('en-US')} records in the month\n` +
        '  Firehose writes its own Parquet (Snappy, its row groups): expect the same order of magnitude, not these exact bytes.',
    );
  } finally {
    if (flags.keep) console.log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

await main();
