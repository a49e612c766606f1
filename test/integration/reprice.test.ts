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
import { createModelCatalog, mergeModelOverrides } from '../../functions/core/pricing/catalog.ts';
import { repriceRange } from '../../functions/core/usage/reprice.ts';
import { usageRecord } from '../support/usage-fixture.ts';

/**
 * A price correction: claude-sonnet-4-5 was recorded at $3/$15 per million tokens under version
 * 2026-11-01; the corrected list says $2/$10 from version 2026-12-01. Tokens: 1,000,000 in and
 * 100,000 out → before 3,000,000 + 1,500,000 = 4,500,000 µ$, after 2,000,000 + 1,000,000 = 3,000,000 µ$.
 */
let dataDir: string;
let engine: DuckDbQueryEngine;
const clock = { now: () => new Date('2026-12-02T09:00:00Z') };
const tokens = { input_tokens: 1_000_000, output_tokens: 100_000 };

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tollgate-reprice-'));
  engine = createDuckDbQueryEngine({ dataDir });
  await createLakeSink({ dataDir, clock }).write([
    usageRecord({
      request_id: 'a',
      user_id: 'ann',
      ts: '2026-11-30T10:00:00.000Z',
      ...tokens,
      cost_micros: 4_500_000,
      shadow_cost_micros: 4_500_000,
      price_version: '2026-11-01',
    }),
    // Delivered twice: still one record after re-pricing.
    usageRecord({
      request_id: 'a',
      user_id: 'ann',
      ts: '2026-11-30T10:00:02.000Z',
      ...tokens,
      cost_micros: 4_500_000,
      shadow_cost_micros: 4_500_000,
      price_version: '2026-11-01',
    }),
    // A flat-rate plan: bills nothing before and after; only its shadow cost moves.
    usageRecord({
      request_id: 'b',
      user_id: 'bo',
      ts: '2026-11-30T11:00:00.000Z',
      ...tokens,
      cost_micros: 0,
      shadow_cost_micros: 4_500_000,
      price_version: '2026-11-01',
    }),
    // A model the corrected list does not change keeps its record: no copy for an unchanged cost.
    usageRecord({
      request_id: 'c',
      user_id: 'cy',
      ts: '2026-12-01T09:00:00.000Z',
      model_used: 'claude-haiku-4-5',
      input_tokens: 1_000,
      output_tokens: 0,
      cost_micros: 1_000,
      shadow_cost_micros: 1_000,
      price_version: '2026-11-01',
    }),
  ]);
});
afterAll(async () => {
  await engine?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('repriceRange', () => {
  it('writes corrected copies that every report then reads, once each, and reports the change', async () => {
    // Prepare
    const corrected = mergeModelOverrides(
      JSON.stringify([
        {
          model: 'claude-sonnet-4-5',
          provider: 'anthropic',
          price: { input: '2', output: '10' },
          max_output_tokens: 64000,
        },
      ]),
    );
    const catalog = createModelCatalog(corrected, '2026-12-01');

    // Act
    const result = await repriceRange(
      { query: engine, sink: createLakeSink({ dataDir, clock }), catalog },
      { from: '2026-11-30', to: '2026-12-01' },
    );
    const again = await repriceRange(
      { query: engine, sink: createLakeSink({ dataDir, clock }), catalog },
      { from: '2026-11-30', to: '2026-12-01' },
    );

    // Assess
    expect(result).toEqual({
      days: 2,
      next_day: null,
      records: 3,
      repriced: 2,
      cost_before_micros: 4_501_000,
      cost_after_micros: 3_001_000,
    });
    expect(again.repriced).toBe(0);
    // A version that is not newer than the records' changes nothing.
    const older = createModelCatalog(corrected, '2026-10-01');
    const stale = await repriceRange(
      { query: engine, sink: createLakeSink({ dataDir, clock }), catalog: older },
      { from: '2026-11-30', to: '2026-12-01' },
    );
    expect(stale.repriced).toBe(0);
    expect(await costByUser(engine, '2026-11-30')).toEqual([
      {
        user_id: 'ann',
        team_id: 'team-a',
        requests: 1,
        input_tokens: 1_000_000,
        output_tokens: 100_000,
        cost_micros: 3_000_000,
      },
      {
        user_id: 'bo',
        team_id: 'team-a',
        requests: 1,
        input_tokens: 1_000_000,
        output_tokens: 100_000,
        cost_micros: 0,
      },
    ]);
  });
});
