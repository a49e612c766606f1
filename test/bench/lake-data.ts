/**
 * The lake bench's synthetic records: several teams, hundreds of people, several agents and models,
 * some routed, 90 days, 0.5 % delivered twice, as day-partitioned zstd Parquet in the lake's layout.
 * Run as its own process by lake.ts, so what generating costs never counts in the figures measured.
 *
 *   npx tsx test/bench/lake-data.ts --dir <data dir> --records 10000000 --people 400 --last-day 2026-11-30
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { sqlString, usageColumnsForDuckDb } from '../../functions/adapters/local/duckdb-query.ts';
import { USAGE_SCHEMA_VERSION } from '../../functions/core/usage/record.ts';

export const DAYS = 90;

const list = (values: unknown[]) => JSON.stringify(values).replaceAll('"', "'");
const pick = (values: string[], expr: string) =>
  `(${list(values)})[1 + CAST((${expr}) % ${values.length} AS BIGINT)]`;

const MODELS = [
  'claude-sonnet-4-5',
  'claude-opus-4-5',
  'claude-haiku-4-5',
  'gpt-5-codex',
  'gpt-5',
  'gpt-4.1-mini',
  'kimi-k2.5',
  'o4-mini',
];
const PROVIDERS = ['anthropic', 'anthropic', 'anthropic', 'openai', 'openai', 'openai', 'moonshot', 'openai'];
const AGENTS = ['claude-code', 'codex', 'openai-sdk', 'anthropic-sdk', 'kimi-cli'];
/** 17 in 20 succeed. */
const OUTCOMES = [...Array<string>(17).fill('success'), 'denied', 'invalid', 'upstream_error'];
const TAGS = [[], ['cli'], ['ci'], ['cli', 'refactor'], []];

/** One synthetic record per row of `range(n)`: a deterministic mix, not uniform noise. */
function syntheticSql(n: number, people: number, firstDay: string): string {
  const person = `(hash(i * 7919) % ${people})`;
  const model = `(hash(i * 31) % ${MODELS.length})`;
  // One request in twenty goes through a routing rule that steps opus down to sonnet.
  const routed = 'hash(i * 53) % 20 = 0';
  return `SELECT
    ${USAGE_SCHEMA_VERSION} AS schema_version,
    'req-' || CAST(i AS VARCHAR) AS request_id,
    TIMESTAMP '${firstDay} 00:00:00' + to_seconds(CAST(hash(i) % ${DAYS * 86_400} AS BIGINT)) AS ts,
    'key' || CAST(${person} AS VARCHAR) AS key_id,
    'laptop-' || CAST(${person} AS VARCHAR) AS key_alias,
    'user-' || CAST(${person} AS VARCHAR) AS user_id,
    'team-' || CAST(${person} % 8 AS VARCHAR) AS team_id,
    ${pick(AGENTS, `${person} + hash(i) % 3`)} AS agent,
    '1.0.0' AS agent_version,
    'sess-' || CAST(i // 40 AS VARCHAR) AS session_id,
    '/v1/messages' AS route,
    'anthropic-messages' AS protocol,
    ${pick(PROVIDERS, model)} AS provider,
    CASE WHEN ${routed} THEN 'claude-opus-4-5' ELSE ${pick(MODELS, model)} END AS model_requested,
    CASE WHEN ${routed} THEN 'claude-sonnet-4-5' ELSE ${pick(MODELS, model)} END AS model_used,
    true AS stream,
    200 AS status,
    ${pick(OUTCOMES, 'hash(i * 13)')} AS outcome,
    NULL::VARCHAR AS error_type,
    CAST(hash(i * 3) % 20000 AS BIGINT) AS input_tokens,
    CAST(hash(i * 5) % 4000 AS BIGINT) AS output_tokens,
    CAST(hash(i * 11) % 60000 AS BIGINT) AS cache_read_tokens,
    CAST(hash(i * 17) % 3000 AS BIGINT) AS cache_write_5m_tokens,
    0::BIGINT AS cache_write_1h_tokens,
    CAST(hash(i * 19) % 1000 AS BIGINT) AS reasoning_tokens,
    0::BIGINT AS web_search_requests,
    'provider' AS usage_source,
    CAST(hash(i * 23) % 200000 AS BIGINT) AS cost_micros,
    CAST(hash(i * 23) % 200000 AS BIGINT) AS shadow_cost_micros,
    CAST(hash(i * 29) % 900000 AS BIGINT) AS reserved_micros,
    'genai-prices@0.1.8' AS price_version,
    CAST(500 + hash(i * 37) % 60000 AS BIGINT) AS latency_ms,
    CAST(200 + hash(i * 41) % 3000 AS BIGINT) AS ttfb_ms,
    CAST(400 + hash(i * 37) % 59000 AS BIGINT) AS upstream_ms,
    CAST(1 + hash(i * 43) % 20 AS BIGINT) AS overhead_ms,
    CAST(${list(TAGS)} AS VARCHAR[][])[1 + CAST(hash(i * 47) % ${TAGS.length} AS BIGINT)] AS tags,
    CASE WHEN ${routed} THEN 'rule-opus-down' END AS route_rule_id,
    CASE WHEN ${routed} THEN 'opus to sonnet' END AS route_rule,
    CAST(CASE WHEN ${routed} AND hash(i * 59) % 10 = 0 THEN 2 ELSE 1 END AS BIGINT) AS attempts,
    CAST([] AS VARCHAR[]) AS attempt_log,
    CASE WHEN ${routed} THEN CAST(hash(i * 23) % 200000 AS BIGINT) * 5 / 3 END AS cost_as_requested_micros
  FROM range(${n}) t(i)`;
}

/** Writes the records under `<dir>/usage/dt=<day>/`; resolves with the time it took. */
export async function generateLake(
  dir: string,
  options: { records: number; people: number; lastDay: string },
) {
  const started = performance.now();
  const firstDay = new Date(Date.parse(`${options.lastDay}T00:00:00Z`) - (DAYS - 1) * 86_400_000)
    .toISOString()
    .slice(0, 10);
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run(`CREATE TEMP VIEW synthetic AS ${syntheticSql(options.records, options.people, firstDay)}`);
  // Every column of the record schema, in its order: a column the generator does not make (one added
  // to the schema since) is written as NULL, as in records from before it existed.
  const generated = new Set(
    (await c.runAndReadAll('DESCRIBE synthetic')).getRowObjectsJS().map((r) => String(r.column_name)),
  );
  const columns = (shift: string) =>
    usageColumnsForDuckDb()
      .map((col) =>
        col.name === 'dt'
          ? `strftime(ts, '%Y-%m-%d') AS dt`
          : col.name === 'ts'
            ? `CAST(ts${shift} AS TIMESTAMP) AS ts`
            : generated.has(col.name)
              ? `CAST(${col.name} AS ${col.type}) AS ${col.name}`
              : `CAST(NULL AS ${col.type}) AS ${col.name}`,
      )
      .join(', ');
  // 0.5 % of the records delivered a second time, a second later: at-least-once delivery.
  const duplicates = Math.floor(options.records * 0.005);
  await c.run(
    `COPY (
      SELECT ${columns('')} FROM synthetic
      UNION ALL
      SELECT ${columns(" + INTERVAL '1' SECOND")} FROM synthetic WHERE hash(request_id) % ${options.records} < ${duplicates}
    ) TO ${sqlString(join(dir, 'usage'))} (FORMAT parquet, PARTITION_BY (dt), WRITE_PARTITION_COLUMNS true, COMPRESSION zstd, OVERWRITE true)`,
  );
  c.closeSync();
  db.closeSync();
  return { ms: performance.now() - started, firstDay };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      records: { type: 'string', default: '10000000' },
      people: { type: 'string', default: '400' },
      'last-day': { type: 'string', default: '2026-11-30' },
    },
  });
  if (!values.dir) throw new Error('--dir is required');
  const done = await generateLake(values.dir, {
    records: Number(values.records),
    people: Number(values.people),
    lastDay: values['last-day'],
  });
  console.log(JSON.stringify(done));
}
