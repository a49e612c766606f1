/**
 * The usage lake at scale, as the dashboard reads it. Generates synthetic records (lake-data.ts, in a
 * process of its own), builds the daily aggregates of all 90 days once on DuckDB, then times the
 * rollup's report set over them plus today's raw partition, and estimates what Athena bills for an
 * hourly rollup at that volume: per query, the compressed bytes of the columns it reads in the
 * partitions it reads (aggregates of 89 days of its kind, today's raw records), at least 10 MB (Athena
 * bills a query no less), plus the day's build spread over its 24 runs. Peak RSS is this process's
 * (building and reports), not the generator's. Prints figures; asserts nothing. Its last line is read
 * by tooling:
 *
 *   report set: <seconds> s, peak RSS <MiB> MiB, hourly athena scan <MB> MB
 *
 *   npx tsx test/bench/lake.ts [--records 10000000] [--people 400] [--keep]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { createDuckDbQueryEngine, sqlString } from '../../functions/adapters/local/duckdb-query.ts';
import { createLocalAggregates } from '../../functions/adapters/local/lake-aggregates.ts';
import {
  newAndLapsed,
  repeatUsage,
  toolsPerPerson,
  weeklyActive,
} from '../../functions/core/analytics/adoption.ts';
import {
  type AggregateKind,
  addDays,
  kindColumns,
  type ReportRange,
} from '../../functions/core/analytics/aggregates.ts';
import { refreshAggregates } from '../../functions/core/analytics/refresh.ts';
import { routingEffects } from '../../functions/core/analytics/routing.ts';
import {
  denialsAndErrors,
  latencyByModel,
  SPEND_DIMENSIONS,
  type SpendDimension,
  spendBy,
} from '../../functions/core/analytics/spend.ts';
import type { QueryEngine } from '../../functions/core/ports/lake.ts';
import { DAYS } from './lake-data.ts';

const { values: flags } = parseArgs({
  options: {
    records: { type: 'string', default: '10000000' },
    people: { type: 'string', default: '400' },
    keep: { type: 'boolean', default: false },
  },
});
const RECORDS = Number(flags.records);
const PEOPLE = Number(flags.people);
const TODAY = '2026-11-30';
/** Athena bills at least 10 MB a query (taken as MiB, the larger reading); figures in MB of 10^6 bytes. */
const MIN_BILLED = 10 * 1024 * 1024;
const MB = 1_000_000;

interface Report {
  name: string;
  kind: AggregateKind;
  run: (q: QueryEngine, range: ReportRange) => Promise<unknown[]>;
}

/** The rollup's report set (core/analytics/rollup.ts), each with the aggregate kind it reads. */
function reportSet(): Report[] {
  const dims = Object.keys(SPEND_DIMENSIONS) as SpendDimension[];
  return [
    ...dims.map((d) => ({
      name: `spend by ${d}`,
      kind: (d === 'tag' ? 'tag' : `by_${d}`) as AggregateKind,
      run: (q: QueryEngine, r: ReportRange) => spendBy(q, d, r),
    })),
    { name: 'latency by model', kind: 'latency', run: latencyByModel },
    { name: 'denials and errors', kind: 'outcome', run: denialsAndErrors },
    { name: 'weekly active', kind: 'active', run: weeklyActive },
    { name: 'repeat usage', kind: 'active', run: repeatUsage },
    { name: 'tools per person', kind: 'active', run: toolsPerPerson },
    { name: 'new and lapsed', kind: 'active', run: newAndLapsed },
    { name: 'routing', kind: 'routing', run: routingEffects },
  ];
}

async function generateInChild(dir: string) {
  const script = fileURLToPath(new URL('./lake-data.ts', import.meta.url));
  const args = ['--import', 'tsx', script, '--dir', dir, '--records', String(RECORDS)];
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...args, '--people', String(PEOPLE), '--last-day', TODAY],
    { maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { ms: number; firstDay: string };
}

/** Compressed bytes per (partition path, column), from the Parquet footers under `root`. */
async function columnBytes(root: string): Promise<Array<{ file: string; column: string; bytes: number }>> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const reader = await c.runAndReadAll(
    `SELECT file_name AS file, split_part(path_in_schema, ',', 1) AS col, sum(total_compressed_size) AS bytes
     FROM parquet_metadata(${sqlString(join(root, '**', '*.parquet'))})
     GROUP BY 1, 2`,
  );
  const out = reader
    .getRowObjectsJS()
    .map((r) => ({ file: String(r.file), column: String(r.col), bytes: Number(r.bytes) }));
  c.closeSync();
  db.closeSync();
  return out;
}

const seconds = (ms: number) => (ms / 1000).toFixed(2);
const peakRssMib = () => process.resourceUsage().maxRSS / 1024;

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-bench-lake-'));
  try {
    console.log(
      `Generating ${RECORDS.toLocaleString('en-US')} records (${PEOPLE} people, 8 teams, 5 agents, 8 models, ${DAYS} days) ...`,
    );
    const generated = await generateInChild(dir);
    const raw = await columnBytes(join(dir, 'usage'));
    const rawTotal = raw.reduce((s, r) => s + r.bytes, 0);
    console.log(
      `  written in ${seconds(generated.ms)} s by its own process; ${(rawTotal / 2 ** 20).toFixed(1)} MiB of zstd Parquet column data\n`,
    );

    const engine = createDuckDbQueryEngine({ dataDir: dir });
    const aggregates = createLocalAggregates({ dataDir: dir, engine });
    const range = { from: generated.firstDay, to: TODAY };
    const buildStarted = performance.now();
    // As the day after: all 90 days are settled, each built once.
    const refreshed = await refreshAggregates(aggregates, range, {
      now: () => new Date(`${addDays(TODAY, 1)}T01:00:00Z`),
    });
    const buildMs = performance.now() - buildStarted;
    const aggregated = await columnBytes(join(dir, 'aggregates'));
    console.log(
      `Aggregates of ${refreshed.built.length} days built once in ${seconds(buildMs)} s ` +
        `(${seconds(buildMs / Math.max(1, refreshed.built.length))} s a day); ` +
        `${(aggregated.reduce((s, r) => s + r.bytes, 0) / 2 ** 20).toFixed(1)} MiB of Parquet; peak RSS so far ${peakRssMib().toFixed(0)} MiB\n`,
    );

    // The hourly rollup's view: 89 settled days from the aggregates, today from its raw records.
    const reading = { ...range, aggregatedThrough: addDays(TODAY, -1) };
    const runs: Array<{ name: string; kind: AggregateKind; ms: number; rows: number }> = [];
    for (const report of reportSet()) {
      const started = performance.now();
      const rows = await report.run(engine, reading);
      runs.push({ name: report.name, kind: report.kind, ms: performance.now() - started, rows: rows.length });
    }
    await engine.close();
    const total = runs.reduce((s, r) => s + r.ms, 0);

    console.log(
      `Report set on DuckDB (${availableParallelism()} CPUs), one query at a time: aggregates of ${DAYS - 1} days + today raw`,
    );
    console.log('report                   seconds  rows out   athena MB (aggregates + today raw, billed)');
    let hourly = 0;
    for (const r of runs) {
      const cols = kindColumns(r.kind);
      const agg = aggregated
        .filter((b) => b.file.includes(`kind=${r.kind}/`) && !b.file.includes(`dt=${TODAY}/`))
        .filter((b) => cols.aggregated.includes(b.column))
        .reduce((s, b) => s + b.bytes, 0);
      const today = raw
        .filter((b) => b.file.includes(`dt=${TODAY}/`) && cols.raw.includes(b.column))
        .reduce((s, b) => s + b.bytes, 0);
      const billed = Math.max(MIN_BILLED, agg + today);
      hourly += billed;
      console.log(
        `${r.name.padEnd(24)} ${seconds(r.ms).padStart(7)}  ${String(r.rows).padStart(8)}   ` +
          `${(agg / MB).toFixed(2)} + ${(today / MB).toFixed(2)} → ${(billed / MB).toFixed(2)}`,
      );
    }
    // Building yesterday once a day: its raw partition, the columns the kinds read, over 24 runs.
    const buildColumns = new Set(runs.flatMap((r) => kindColumns(r.kind).raw));
    const oneDay = raw
      .filter((b) => b.file.includes(`dt=${addDays(TODAY, -1)}/`) && buildColumns.has(b.column))
      .reduce((s, b) => s + b.bytes, 0);
    const buildShare = Math.max(MIN_BILLED, oneDay) / 24;
    hourly += buildShare;
    console.log(
      `${'day build / 24 runs'.padEnd(24)} ${''.padStart(7)}  ${''.padStart(8)}   ${(buildShare / MB).toFixed(2)}`,
    );
    console.log(
      `${'total'.padEnd(24)} ${seconds(total).padStart(7)}  ${''.padStart(8)}   ${(hourly / MB).toFixed(1)} MB an hour ≈ $${((hourly / 1e12) * 5 * 720).toFixed(2)} a month at $5/TB`,
    );
    console.log(
      '  Firehose and UNLOAD write their own Parquet: expect the same order of magnitude, not these exact bytes.\n',
    );
    console.log(
      `report set: ${seconds(total)} s, peak RSS ${peakRssMib().toFixed(0)} MiB, hourly athena scan ${(hourly / MB).toFixed(0)} MB`,
    );
  } finally {
    if (flags.keep) console.log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

await main();
