/**
 * Where the newest price version wins — the copy of a request every report keeps, and whether a
 * re-pricing has a record to correct — versions are compared as versions: `genai-prices@0.1.10` is newer
 * than `genai-prices@0.1.9`, though as text it sorts first. Run on DuckDB, with the SQL Athena runs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDuckDbQueryEngine,
  type DuckDbQueryEngine,
} from '../../functions/adapters/local/duckdb-query.ts';
import { createLakeSink } from '../../functions/adapters/local/lake-sink.ts';
import { costByUser } from '../../functions/core/analytics/queries.ts';
import { priceVersionOrder } from '../../functions/core/analytics/sql.ts';
import { comparePriceVersions } from '../../functions/core/pricing/version.ts';
import { usageRecord } from '../support/usage-fixture.ts';

let dataDir: string;
let engine: DuckDbQueryEngine;
const clock = { now: () => new Date('2026-12-02T09:00:00Z') };

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tollgate-version-order-'));
  engine = createDuckDbQueryEngine({ dataDir });
  const copy = (price_version: string, cost_micros: number) =>
    usageRecord({
      request_id: 'r1',
      user_id: 'ann',
      ts: '2026-11-30T10:00:00.000Z',
      cost_micros,
      price_version,
    });
  await createLakeSink({ dataDir, clock }).write([
    copy('genai-prices@0.1.10', 2_000),
    copy('genai-prices@0.1.9', 9_000),
    copy('genai-prices@0.1.8', 7_000),
  ]);
});

afterAll(async () => {
  await engine?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('the newest price version', () => {
  it('is the copy every report keeps: 0.1.10 over 0.1.9 (its first as text) and 0.1.8', async () => {
    // Prepare
    const day = '2026-11-30';

    // Act
    const rows = await costByUser(engine, day);

    // Assess
    expect(rows).toEqual([expect.objectContaining({ user_id: 'ann', cost_micros: 2_000, requests: 1 })]);
  });

  it('sorts in SQL as priceVersionKey sorts in TypeScript', async () => {
    // Prepare
    const versions = [
      'genai-prices@0.1.10',
      'genai-prices@0.1.9',
      'genai-prices@1.0.0 default:claude-opus-4-8',
      '2026-12-01',
      '2026-11-01',
      'hand-kept',
      null,
    ];
    const values = versions.map((v) => `(${v === null ? 'NULL' : `'${v}'`})`).join(', ');

    // Act
    const rows = await engine.query(
      `SELECT price_version FROM (VALUES ${values}) AS t(price_version) ORDER BY ${priceVersionOrder()} DESC`,
    );

    // Assess
    const expected = [...versions].sort((a, b) => comparePriceVersions(b, a));
    expect(rows.map((r) => r.price_version ?? null)).toEqual(expected);
  });
});
