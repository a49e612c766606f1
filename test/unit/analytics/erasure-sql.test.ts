/**
 * The SQL of an erasure on AWS (functions/core/usage/erasure-sql.ts), run here on DuckDB as every
 * report's SQL is: the same text Athena runs inside `UNLOAD (...)`. The lake is Parquet files under
 * `<table>/dt=<day>/`; the views give each row its object's path as `"$path"`, as Athena does.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openDuckDb,
  sqlString,
  telemetryColumnsForDuckDb,
  usageColumnsForDuckDb,
} from '../../../functions/adapters/local/duckdb-query.ts';
import { erasableColumns, keptRowsSql, personDaysSql } from '../../../functions/core/usage/erasure-sql.ts';
import { telemetryRecord } from '../../support/telemetry-fixture.ts';
import { usageRecord } from '../../support/usage-fixture.ts';

const QUOTED = "o'brien";
const dir = mkdtempSync(join(tmpdir(), 'tollgate-erasure-sql-'));
let connection: DuckDBConnection;
const close: Array<() => void> = [];

/** Writes rows as one Parquet object of the lake; answers its path. */
async function object(table: 'usage' | 'telemetry', name: string, rows: object[]) {
  const columns = table === 'usage' ? usageColumnsForDuckDb() : telemetryColumnsForDuckDb();
  const json = join(dir, `${table}-${name}.jsonl`);
  writeFileSync(json, rows.map((r) => JSON.stringify(r)).join('\n'));
  const day = (rows[0] as { dt: string }).dt;
  const path = join(dir, table, `dt=${day}`, `${name}.parquet`);
  const typed = columns.map((c) => `${c.name}: '${c.type}'`).join(', ');
  await connection.run(`COPY (SELECT * FROM read_json(${sqlString(json)}, columns = {${typed}},
    format = 'newline_delimited')) TO ${sqlString(path)} (FORMAT parquet)`);
  return path;
}

async function rows(sql: string) {
  return (await connection.runAndReadAll(sql)).getRowObjectsJS();
}

let usagePaths: string[];
let latePath: string;

beforeAll(async () => {
  const instance = await openDuckDb();
  connection = await instance.connect();
  close.push(
    () => connection.closeSync(),
    () => instance.closeSync(),
  );
  for (const p of ['usage/dt=2026-10-01', 'usage/dt=2026-10-02', 'telemetry/dt=2026-10-01'])
    mkdirSync(join(dir, p), { recursive: true });
  const at = (day: string) => `${day}T10:00:00.000Z`;
  usagePaths = [
    await object('usage', 'a', [
      usageRecord({ request_id: 'q1', user_id: QUOTED, ts: at('2026-10-01') }),
      usageRecord({ request_id: 'i1', user_id: 'ian', ts: at('2026-10-01') }),
      usageRecord({ request_id: 'n1', user_id: null, ts: at('2026-10-01') }),
    ]),
    await object('usage', 'b', [
      usageRecord({ request_id: 'q2', user_id: QUOTED, ts: at('2026-10-01') }),
      usageRecord({ request_id: 'o1', user_id: 'obrien', ts: at('2026-10-01') }),
    ]),
  ];
  // Delivered after the listing: not read by the rewrite.
  latePath = await object('usage', 'late', [
    usageRecord({ request_id: 'i9', user_id: 'ian', ts: at('2026-10-01') }),
  ]);
  await object('usage', 'c', [usageRecord({ request_id: 'q3', user_id: QUOTED, ts: at('2026-10-02') })]);
  await object('telemetry', 't', [
    telemetryRecord({ user_id: QUOTED, ts: '2026-10-01T10:00:01.000Z' }),
    telemetryRecord({ user_id: 'ian', ts: '2026-10-01T10:00:02.000Z' }),
  ]);
  for (const table of ['usage', 'telemetry'])
    await connection.run(`CREATE VIEW ${table} AS SELECT *, filename AS "$path"
      FROM read_parquet(${sqlString(join(dir, table, '*', '*.parquet'))}, hive_partitioning = false, filename = true)`);
});
afterAll(() => {
  for (const f of close) f();
});

describe('the erasure SQL on DuckDB', () => {
  it('finds the days holding the person’s rows per table, a quote in their id included', async () => {
    const found = await rows(`${personDaysSql(QUOTED)} ORDER BY lake_table, dt`);
    expect(found.map((r) => ({ ...r, records: Number(r.records) }))).toEqual([
      { lake_table: 'telemetry', dt: '2026-10-01', records: 1 },
      { lake_table: 'usage', dt: '2026-10-01', records: 2 },
      { lake_table: 'usage', dt: '2026-10-02', records: 1 },
    ]);
  });

  it('keeps every row of the listed objects of a day but the person’s, rows without a person included', async () => {
    // Act
    const kept = await rows(
      `SELECT request_id FROM (${keptRowsSql('usage', '2026-10-01', QUOTED, usagePaths)}) ORDER BY 1`,
    );

    // Assess: not the person's two rows, not the object delivered after the listing; `obrien` stays.
    expect(kept.map((r) => r.request_id)).toEqual(['i1', 'n1', 'o1']);
    expect(latePath).not.toBe(usagePaths[0]);
  });

  it('selects the table’s columns without the partition, in the schema’s order', async () => {
    const [row] = await rows(keptRowsSql('usage', '2026-10-01', QUOTED, usagePaths.slice(0, 1)));
    expect(Object.keys(row ?? {})).toEqual(erasableColumns('usage'));
    expect(erasableColumns('usage')).not.toContain('dt');
    const telemetry = await rows(
      keptRowsSql('telemetry', '2026-10-01', QUOTED, [join(dir, 'telemetry/dt=2026-10-01/t.parquet')]),
    );
    expect(telemetry.map((r) => r.user_id)).toEqual(['ian']);
  });

  it('cannot be turned into other SQL by an id, a day or a path', () => {
    const sql = keptRowsSql('usage', '2026-10-01', "x' OR '1'='1", [
      "s3://lake/usage/dt=2026-10-01/it's.parquet",
    ]);
    expect(sql).toContain("user_id IS DISTINCT FROM 'x'' OR ''1''=''1'");
    expect(sql).toContain("'s3://lake/usage/dt=2026-10-01/it''s.parquet'");
    expect(() => keptRowsSql('usage', "2026-10-01' OR true --", 'zoe', ['p'])).toThrow(/YYYY-MM-DD/);
    expect(() => personDaysSql('zoe\n')).toThrow(/control characters/);
  });
});
