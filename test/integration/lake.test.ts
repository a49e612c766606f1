import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createDuckDbQueryEngine,
  type DuckDbQueryEngine,
} from '../../functions/adapters/local/duckdb-query.ts';
import { compactLake } from '../../functions/adapters/local/lake-compaction.ts';
import { createLakeSink, createTelemetryLakeSink } from '../../functions/adapters/local/lake-sink.ts';
import { costByUser, recentUsage } from '../../functions/core/analytics/queries.ts';
import type { Clock } from '../../functions/core/ports/clock.ts';
import { USAGE_SCHEMA_VERSION } from '../../functions/core/usage/record.ts';
import { telemetryRecord } from '../support/telemetry-fixture.ts';
import { usageRecord } from '../support/usage-fixture.ts';

function fixedClock(iso: string): Clock {
  return { now: () => new Date(iso) };
}

let dataDir: string;
let engine: DuckDbQueryEngine;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tollgate-lake-'));
  engine = createDuckDbQueryEngine({ dataDir });
});

afterEach(async () => {
  await engine.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function readLines(path: string): Promise<unknown[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
}

describe('one record per request_id', () => {
  it("keeps a request's own record over the lost one recovery wrote for it, whichever landed first", async () => {
    // Prepare: recovery wrote `lost` for r1 (its process died after recording, before forgetting it).
    const sink = createLakeSink({ dataDir, clock: fixedClock('2026-03-01T12:00:00Z') });
    const ts = '2026-03-01T10:00:00.000Z';
    await sink.write([usageRecord({ request_id: 'r1', ts, outcome: 'lost', cost_micros: 9_000 })]);
    await sink.write([usageRecord({ request_id: 'r1', ts, outcome: 'success', cost_micros: 1_200 })]);
    await sink.write([usageRecord({ request_id: 'r2', ts, outcome: 'lost', cost_micros: 500 })]);

    // Act
    const rows = await costByUser(engine, '2026-03-01');

    // Assess
    expect(rows.map((r) => [r.requests, r.cost_micros])).toEqual([[2, 1_700]]);
  });
});

describe('lake sink', () => {
  it('writes each record as a JSON line under the dt partition of its own day', async () => {
    // Prepare
    const sink = createLakeSink({ dataDir, clock: fixedClock('2026-03-02T07:15:00Z') });
    const lateMonday = usageRecord({ request_id: 'a', ts: '2026-03-01T23:59:59.000Z' });
    const earlyTuesday = usageRecord({ request_id: 'b', ts: '2026-03-02T00:00:01.000Z' });

    // Act
    await sink.write([lateMonday, earlyTuesday]);

    // Assess
    expect((await readdir(join(dataDir, 'usage'))).sort()).toEqual(['dt=2026-03-01', 'dt=2026-03-02']);
    const [mondayFile] = await readdir(join(dataDir, 'usage', 'dt=2026-03-01'));
    const [tuesdayFile] = await readdir(join(dataDir, 'usage', 'dt=2026-03-02'));
    expect(mondayFile).toMatch(/^usage-20260302T07-[0-9a-f]{8}\.jsonl$/);
    expect(tuesdayFile).toBe(mondayFile);
    expect(await readLines(join(dataDir, 'usage', 'dt=2026-03-01', mondayFile!))).toEqual([lateMonday]);
    expect(await readLines(join(dataDir, 'usage', 'dt=2026-03-02', tuesdayFile!))).toEqual([earlyTuesday]);
  });

  it('appends later writes in the same hour to the same file', async () => {
    // Prepare
    const sink = createLakeSink({ dataDir, clock: fixedClock('2026-03-01T10:30:00Z') });
    const first = usageRecord({ request_id: 'first' });
    const second = usageRecord({ request_id: 'second' });

    // Act
    await Promise.all([sink.write([first]), sink.write([second])]);

    // Assess
    const dir = join(dataDir, 'usage', 'dt=2026-03-01');
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    expect(await readLines(join(dir, files[0]!))).toEqual([first, second]);
  });

  it('rejects a batch holding an invalid record and writes none of it', async () => {
    // Prepare
    const sink = createLakeSink({ dataDir, clock: fixedClock('2026-03-01T10:30:00Z') });
    const invalid = { ...usageRecord({ request_id: 'bad' }), dt: '01/03/2026' };

    // Act
    const result = sink.write([usageRecord({ request_id: 'good' }), invalid]);

    // Assess
    await expect(result).rejects.toThrow(/Invalid usage record 'bad'/);
    await expect(readdir(join(dataDir, 'usage'))).rejects.toThrow(/ENOENT/);
  });
});

describe('DuckDB over the lake', () => {
  it('answers an empty result, not an error, before anything was written', async () => {
    // Prepare: a fresh data dir with no usage directory at all.

    // Act
    const report = await costByUser(engine, '2026-03-01');
    const count = await engine.query('SELECT count(*) AS n, sum(cost_micros) AS spent FROM usage');

    // Assess
    expect(report).toEqual([]);
    expect(count).toEqual([{ n: 0, spent: null }]);
  });

  it('keeps the typed columns on an empty lake', async () => {
    // Prepare: nothing written.

    // Act
    const described = await engine.query('DESCRIBE usage');

    // Assess
    expect(Object.fromEntries(described.map((c) => [c.column_name, c.column_type]))).toMatchObject({
      ts: 'TIMESTAMP',
      cost_micros: 'BIGINT',
      stream: 'BOOLEAN',
      tags: 'VARCHAR[]',
      user_id: 'VARCHAR',
    });
  });

  it('sees files written after its first query', async () => {
    // Prepare
    const sink = createLakeSink({ dataDir, clock: fixedClock('2026-03-01T10:30:00Z') });
    await engine.query('SELECT count(*) AS n FROM usage');
    await sink.write([usageRecord({ request_id: 'late', cost_micros: 700 })]);

    // Act
    const rows = await engine.query('SELECT count(*) AS n, sum(cost_micros) AS spent FROM usage');

    // Assess
    expect(rows).toEqual([{ n: 1, spent: 700 }]);
  });

  it('returns plain JSON values: numbers for BIGINT, ISO strings for TIMESTAMP, booleans', async () => {
    // Prepare
    const sink = createLakeSink({ dataDir, clock: fixedClock('2026-03-01T10:30:00Z') });
    await sink.write([usageRecord({ ts: '2026-03-01T10:00:00.250Z', cost_micros: 1_234, stream: false })]);

    // Act
    const rows = await engine.query('SELECT ts, cost_micros, stream, dt FROM usage WHERE dt = ?', [
      '2026-03-01',
    ]);

    // Assess
    expect(rows).toEqual([
      { ts: '2026-03-01T10:00:00.250Z', cost_micros: 1_234, stream: false, dt: '2026-03-01' },
    ]);
  });

  it('rejects bad SQL with an error that names DuckDB', async () => {
    // Prepare: nothing written.

    // Act
    const result = engine.query('SELECT no_such_column FROM usage');

    // Assess
    await expect(result).rejects.toThrow(/DuckDB query failed/);
  });

  describe('with a day of usage by three users, one record delivered twice', () => {
    // 2026-03-01, by hand (the duplicate of r2 must count once; r6 and r7 are the next day):
    //   bob:       r3 + r5 → 2 requests, 500+2000 = 2500 in, 100+1000 = 1100 out, 5000+70000 = 75000 µ$
    //   alice:     r1 + r2 → 2 requests, 1000+3000 = 4000 in, 200+500 = 700 out, 12500+40000 = 52500 µ$
    //   (no user): r4      → 1 request, 100 in, 0 out, 0 µ$
    const r1 = usageRecord({
      request_id: 'r1',
      ts: '2026-03-01T09:00:00.000Z',
      input_tokens: 1_000,
      output_tokens: 200,
      cost_micros: 12_500,
    });
    const r2 = usageRecord({
      request_id: 'r2',
      ts: '2026-03-01T10:00:00.000Z',
      input_tokens: 3_000,
      output_tokens: 500,
      cost_micros: 40_000,
    });
    const bob = { user_id: 'bob', team_id: 'team-b', key_id: 'bbbbbbbbbbbb' };
    const r3 = usageRecord({
      ...bob,
      request_id: 'r3',
      ts: '2026-03-01T11:00:00.000Z',
      input_tokens: 500,
      output_tokens: 100,
      cost_micros: 5_000,
    });
    const r4 = usageRecord({
      request_id: 'r4',
      ts: '2026-03-01T12:00:00.000Z',
      user_id: null,
      team_id: null,
      outcome: 'denied',
      status: 402,
      input_tokens: 100,
      output_tokens: 0,
      cost_micros: 0,
    });
    const r5 = usageRecord({
      ...bob,
      request_id: 'r5',
      ts: '2026-03-01T23:59:59.000Z',
      input_tokens: 2_000,
      output_tokens: 1_000,
      cost_micros: 70_000,
    });
    const r6 = usageRecord({
      request_id: 'r6',
      ts: '2026-03-02T00:00:01.000Z',
      input_tokens: 9_999,
      output_tokens: 9_999,
      cost_micros: 999_999,
    });
    const r7 = usageRecord({ ...bob, request_id: 'r7', ts: '2026-03-02T08:00:00.000Z', cost_micros: 1 });

    beforeEach(async () => {
      const sink = createLakeSink({ dataDir, clock: fixedClock('2026-03-01T12:00:00Z') });
      await sink.write([r1, r2, r3, r4, r5]);
      // A redelivery of r2 by another writer an hour later, as at-least-once delivery allows.
      const retry = createLakeSink({ dataDir, clock: fixedClock('2026-03-01T13:00:00Z') });
      await retry.write([r2, r6, r7]);
    });

    it('sums cost by user for the day, counting the redelivered record once, most expensive first', async () => {
      // Prepare: the fixture above.

      // Act
      const report = await costByUser(engine, '2026-03-01');

      // Assess
      expect(report).toEqual([
        {
          user_id: 'bob',
          team_id: 'team-b',
          requests: 2,
          input_tokens: 2_500,
          output_tokens: 1_100,
          cost_micros: 75_000,
        },
        {
          user_id: 'alice',
          team_id: 'team-a',
          requests: 2,
          input_tokens: 4_000,
          output_tokens: 700,
          cost_micros: 52_500,
        },
        {
          user_id: '(no user)',
          team_id: null,
          requests: 1,
          input_tokens: 100,
          output_tokens: 0,
          cost_micros: 0,
        },
      ]);
    });

    it('reports only the asked day', async () => {
      // Prepare: the fixture above.

      // Act
      const report = await costByUser(engine, '2026-03-02');

      // Assess
      expect(report.map((r) => [r.user_id, r.cost_micros])).toEqual([
        ['alice', 999_999],
        ['bob', 1],
      ]);
    });

    it('lists recent records newest first, once each, as the records that were written', async () => {
      // Prepare: the fixture above.

      // Act
      const recent = await recentUsage(engine, { limit: 4 });

      // Assess
      expect(recent).toEqual([r7, r6, r5, r4]);
    });

    it('lists each recent record once, however often it was delivered', async () => {
      // Prepare: the fixture above.

      // Act
      const recent = await recentUsage(engine, { limit: 100 });

      // Assess
      expect(recent.map((r) => r.request_id)).toEqual(['r7', 'r6', 'r5', 'r4', 'r3', 'r2', 'r1']);
    });

    it('lists recent records from the first day asked for on', async () => {
      // Prepare: the fixture above.

      // Act
      const recent = await recentUsage(engine, { limit: 100, sinceDay: '2026-03-02' });

      // Assess
      expect(recent.map((r) => r.request_id)).toEqual(['r7', 'r6']);
    });
  });
});

/** Sets every lake file's modification time, as if written then. */
async function touchAll(when: Date, table: 'usage' | 'telemetry' = 'usage'): Promise<void> {
  for (const day of await readdir(join(dataDir, table))) {
    for (const f of await readdir(join(dataDir, table, day)))
      await utimes(join(dataDir, table, day, f), when, when);
  }
}

describe('lake files', () => {
  it('start a new file once the open one has reached its size limit', async () => {
    // Prepare: each record is about 900 bytes of JSON; a 2,000-byte limit holds two.
    const sink = createLakeSink({ dataDir, clock: fixedClock('2026-03-01T10:15:00Z'), maxFileBytes: 2_000 });

    // Act
    for (let i = 0; i < 5; i++) await sink.write([usageRecord({ request_id: `roll-${i}` })]);

    // Assess
    const files = (await readdir(join(dataDir, 'usage', 'dt=2026-03-01'))).sort();
    expect(files).toHaveLength(3);
    expect(files.map((f) => f.replace(/(T\d\d)-[0-9a-f]{8}/, '$1-w'))).toEqual([
      'usage-20260301T10-w-1.jsonl',
      'usage-20260301T10-w-2.jsonl',
      'usage-20260301T10-w.jsonl',
    ]);
    const lines = (
      await Promise.all(files.map((f) => readLines(join(dataDir, 'usage', 'dt=2026-03-01', f))))
    ).flat();
    expect(lines).toHaveLength(5);
  });

  it('are compacted to Parquet once a day has settled, and every report reads the same as before', async () => {
    // Prepare: three days of records, one delivered twice; compaction runs on 3 March at noon.
    const sink = createLakeSink({ dataDir, clock: fixedClock('2026-03-02T10:00:00Z') });
    const records = [
      usageRecord({ request_id: 'c1', ts: '2026-02-28T10:00:00.000Z', cost_micros: 100, tags: ['a', 'b'] }),
      usageRecord({ request_id: 'c2', ts: '2026-03-01T10:00:00.000Z', cost_micros: 200, user_id: 'bob' }),
      usageRecord({ request_id: 'c2', ts: '2026-03-01T10:00:01.000Z', cost_micros: 200, user_id: 'bob' }),
      usageRecord({ request_id: 'c3', ts: '2026-03-02T10:00:00.000Z', cost_micros: 300, ttfb_ms: null }),
    ];
    await sink.write(records);
    await touchAll(new Date('2026-03-02T10:00:00Z'));
    // A late record for 1 March, written an hour ago: its file waits for a later compaction.
    await createLakeSink({ dataDir, clock: fixedClock('2026-03-03T11:00:00Z') }).write([
      usageRecord({ request_id: 'late', ts: '2026-03-01T23:59:00.000Z', cost_micros: 50 }),
    ]);
    const marchFirst = join(dataDir, 'usage', 'dt=2026-03-01');
    const late = (await readdir(marchFirst)).find((f) => f.includes('T11')) ?? '';
    const anHourAgo = new Date('2026-03-03T11:00:00Z');
    await utimes(join(marchFirst, late), anHourAgo, anHourAgo);
    const before = await recentUsage(engine, { limit: 100 });

    // Act
    const result = await compactLake({ dataDir, clock: fixedClock('2026-03-03T12:00:00Z') });
    const after = await recentUsage(engine, { limit: 100 });

    // Assess: 28 Feb and 1 Mar ended over a day ago; 2 Mar did not; the late file stays as it is.
    expect(result).toEqual({ days: ['2026-02-28', '2026-03-01'], records: 3 });
    expect((await readdir(marchFirst)).sort()).toEqual([expect.stringMatching(/^part-.*\.parquet$/), late]);
    expect((await readdir(join(dataDir, 'usage', 'dt=2026-03-02')))[0]).toMatch(/\.jsonl$/);
    expect(after).toEqual(before);
    expect(after.map((r) => r.request_id).sort()).toEqual(['c1', 'c2', 'c3', 'late']);
    expect(after.find((r) => r.request_id === 'c1')?.tags).toEqual(['a', 'b']);
  });
  it("compacts the agents' telemetry like the usage records, each point still read once", async () => {
    // Prepare: two settled days of telemetry, one point delivered twice, and today's
    const sink = createTelemetryLakeSink({ dataDir, clock: fixedClock('2026-03-02T10:00:00Z') });
    const point = telemetryRecord({ telemetry_id: 't-twice', ts: '2026-02-28T10:00:00.000Z', value: 3 });
    await sink.write([
      point,
      point,
      telemetryRecord({ telemetry_id: 't-mar1', ts: '2026-03-01T10:00:00.000Z', value: 4 }),
      telemetryRecord({ telemetry_id: 't-mar3', ts: '2026-03-03T09:00:00.000Z', value: 5 }),
    ]);
    await touchAll(new Date('2026-03-02T10:00:00Z'), 'telemetry');
    const read = () =>
      engine.query(
        'SELECT telemetry_id, count(DISTINCT telemetry_id) AS n, max(value) AS value FROM telemetry GROUP BY telemetry_id ORDER BY telemetry_id',
      );
    const before = await read();

    // Act
    const result = await compactLake({
      dataDir,
      clock: fixedClock('2026-03-03T12:00:00Z'),
      table: 'telemetry',
    });

    // Assess: both settled days are Parquet now (the duplicate kept, as Firehose would), today is not
    expect(result).toEqual({ days: ['2026-02-28', '2026-03-01'], records: 3 });
    expect(await readdir(join(dataDir, 'telemetry', 'dt=2026-02-28'))).toEqual([
      expect.stringMatching(/^part-.*\.parquet$/),
    ]);
    expect((await readdir(join(dataDir, 'telemetry', 'dt=2026-03-03')))[0]).toMatch(/\.jsonl$/);
    expect(await read()).toEqual(before);
    expect(before.map((r) => r.telemetry_id)).toEqual(['t-mar1', 't-mar3', 't-twice']);
  });

  it('still reads lines and Parquet days written before the routing fields (schema 2)', async () => {
    // Prepare: a day compacted to Parquet by a build before schema 3 (without its columns), a day still
    // in JSON lines from then, and one new record.
    const { route_rule_id, route_rule, attempts, attempt_log, cost_as_requested_micros, ...old } =
      usageRecord({
        schema_version: 2,
      });
    const oldLine = (request_id: string, ts: string) =>
      `${JSON.stringify({ ...old, request_id, ts, dt: ts.slice(0, 10) })}\n`;
    const febFirst = join(dataDir, 'usage', 'dt=2026-02-01');
    const febSecond = join(dataDir, 'usage', 'dt=2026-02-02');
    await mkdir(febFirst, { recursive: true });
    await mkdir(febSecond, { recursive: true });
    await writeFile(join(dataDir, 'old.jsonl'), oldLine('o1', '2026-02-01T10:00:00.000Z'));
    const duckdb = await DuckDBInstance.create(':memory:');
    const connection = await duckdb.connect();
    await connection.run(
      `COPY (SELECT * FROM read_json('${join(dataDir, 'old.jsonl')}')) TO '${join(febFirst, 'part-old.parquet')}' (FORMAT parquet)`,
    );
    connection.closeSync();
    duckdb.closeSync();
    await writeFile(join(febSecond, 'old.jsonl'), oldLine('o2', '2026-02-02T10:00:00.000Z'));
    await createLakeSink({ dataDir, clock: fixedClock('2026-03-01T10:00:00Z') }).write([
      usageRecord({ request_id: 'n1', route_rule: 'r', route_rule_id: 'id', attempts: 2 }),
    ]);

    // Act
    const records = await recentUsage(engine, { limit: 10 });

    // Assess
    expect(records.map((r) => [r.request_id, r.route_rule, r.attempts, r.attempt_log])).toEqual([
      ['n1', 'r', 2, ['anthropic/claude-sonnet-4-5 200']],
      ['o2', null, null, []],
      ['o1', null, null, []],
    ]);
  });

  it('reads lines and Parquet days written before web searches were counted (schema 3) as null', async () => {
    // Prepare: a Parquet day and a JSON-lines day without the column, and one new record with searches.
    const { web_search_requests, ...old } = usageRecord({ schema_version: 3 });
    const oldLine = (request_id: string, ts: string) =>
      `${JSON.stringify({ ...old, request_id, ts, dt: ts.slice(0, 10) })}\n`;
    const janFirst = join(dataDir, 'usage', 'dt=2026-01-01');
    const janSecond = join(dataDir, 'usage', 'dt=2026-01-02');
    await mkdir(janFirst, { recursive: true });
    await mkdir(janSecond, { recursive: true });
    await writeFile(join(dataDir, 'old3.jsonl'), oldLine('s1', '2026-01-01T10:00:00.000Z'));
    const duckdb = await DuckDBInstance.create(':memory:');
    const connection = await duckdb.connect();
    await connection.run(
      `COPY (SELECT * FROM read_json('${join(dataDir, 'old3.jsonl')}')) TO '${join(janFirst, 'part-old.parquet')}' (FORMAT parquet)`,
    );
    connection.closeSync();
    duckdb.closeSync();
    await writeFile(join(janSecond, 'old.jsonl'), oldLine('s2', '2026-01-02T10:00:00.000Z'));
    await createLakeSink({ dataDir, clock: fixedClock('2026-03-01T10:00:00Z') }).write([
      usageRecord({ request_id: 's3', web_search_requests: 4 }),
    ]);

    // Act
    const records = await recentUsage(engine, { limit: 10 });

    // Assess
    expect(web_search_requests).toBe(0);
    expect(records.map((r) => [r.request_id, r.schema_version, r.web_search_requests])).toEqual([
      ['s3', USAGE_SCHEMA_VERSION, 4],
      ['s2', 3, null],
      ['s1', 3, null],
    ]);
  });

  it("reads lines and Parquet days written before the provider's request id was kept (schema 4) as null", async () => {
    // Prepare: a Parquet day and a JSON-lines day without the column, and one new record with an id.
    const { provider_request_id, ...old } = usageRecord({ schema_version: 4 });
    const oldLine = (request_id: string, ts: string) =>
      `${JSON.stringify({ ...old, request_id, ts, dt: ts.slice(0, 10) })}\n`;
    const decFirst = join(dataDir, 'usage', 'dt=2025-12-01');
    const decSecond = join(dataDir, 'usage', 'dt=2025-12-02');
    await mkdir(decFirst, { recursive: true });
    await mkdir(decSecond, { recursive: true });
    await writeFile(join(dataDir, 'old4.jsonl'), oldLine('p1', '2025-12-01T10:00:00.000Z'));
    const duckdb = await DuckDBInstance.create(':memory:');
    const connection = await duckdb.connect();
    await connection.run(
      `COPY (SELECT * FROM read_json('${join(dataDir, 'old4.jsonl')}')) TO '${join(decFirst, 'part-old.parquet')}' (FORMAT parquet)`,
    );
    connection.closeSync();
    duckdb.closeSync();
    await writeFile(join(decSecond, 'old.jsonl'), oldLine('p2', '2025-12-02T10:00:00.000Z'));
    await createLakeSink({ dataDir, clock: fixedClock('2026-03-01T10:00:00Z') }).write([
      usageRecord({ request_id: 'p3', provider_request_id: 'req_011CNew' }),
    ]);

    // Act
    const records = await recentUsage(engine, { limit: 10 });

    // Assess
    expect(provider_request_id).not.toBeNull();
    expect(records.map((r) => [r.request_id, r.schema_version, r.provider_request_id])).toEqual([
      ['p3', USAGE_SCHEMA_VERSION, 'req_011CNew'],
      ['p2', 4, null],
      ['p1', 4, null],
    ]);
  });
});
