import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDuckDbQueryEngine,
  type DuckDbQueryEngine,
} from '../../functions/adapters/local/duckdb-query.ts';
import { createLocalAggregates } from '../../functions/adapters/local/lake-aggregates.ts';
import { createLakeSink } from '../../functions/adapters/local/lake-sink.ts';
import {
  newAndLapsed,
  repeatUsage,
  toolsPerPerson,
  weeklyActive,
} from '../../functions/core/analytics/adoption.ts';
import type { ReportRange } from '../../functions/core/analytics/aggregates.ts';
import { refreshAggregates } from '../../functions/core/analytics/refresh.ts';
import { routingEffects } from '../../functions/core/analytics/routing.ts';
import {
  denialsAndErrors,
  latencyByModel,
  personalSpend,
  SPEND_DIMENSIONS,
  type SpendDimension,
  spendBy,
  topSpenders,
} from '../../functions/core/analytics/spend.ts';
import { analystViews } from '../../functions/core/analytics/views.ts';
import type { LakeAggregates } from '../../functions/core/ports/lake.ts';
import { createModelCatalog, mergeModelOverrides } from '../../functions/core/pricing/catalog.ts';
import type { UsageRecord } from '../../functions/core/usage/record.ts';
import { repriceRecord } from '../../functions/core/usage/reprice.ts';
import { usageRecord } from '../support/usage-fixture.ts';

/**
 * The daily aggregates against the raw records: the same numbers from every report whether a day is
 * read from its aggregates or from its records, from the analysts' views too, and again after
 * records arrive late and after a re-pricing rewrites a settled day.
 */
const TODAY = '2026-11-30';
const RANGE = { from: '2026-11-16', to: TODAY };
const clock = { now: () => new Date(`${TODAY}T15:00:00Z`) };

const PEOPLE = ['ann', 'ben', 'cat', 'dan', 'eve'];
const MODELS: Array<[string, string]> = [
  ['anthropic', 'claude-sonnet-4-5'],
  ['openai', 'gpt-5-codex'],
  ['anthropic', 'claude-haiku-4-5'],
];
const OUTCOMES = ['success', 'success', 'success', 'denied', 'upstream_error', 'lost'] as const;

/** A deterministic mix over the 15 days: duplicates, lost records, tags, routing, missing users. */
function fixture(): UsageRecord[] {
  const out: UsageRecord[] = [];
  for (let i = 0; i < 400; i++) {
    const day = new Date(Date.parse(`${RANGE.from}T00:00:00Z`) + (i % 15) * 86_400_000);
    const [provider, model] = MODELS[(i * 7) % MODELS.length] as [string, string];
    const person = i % 11 === 0 ? null : (PEOPLE[(i * 3) % PEOPLE.length] ?? null);
    const routed = i % 9 === 0;
    const record = usageRecord({
      request_id: `r${i}`,
      ts: new Date(day.getTime() + ((i * 3_607_000) % 86_400_000)).toISOString(),
      user_id: person,
      team_id: person === null ? 'web' : (['web', 'data'][(i * 5) % 2] ?? null),
      key_id: `key-${person ?? 'bot'}`,
      key_alias: person === null ? 'ci-bot' : `laptop-${person}`,
      agent: ['claude-code', 'codex', 'openai-sdk'][(i * 13) % 3] ?? 'codex',
      provider,
      model_used: model,
      model_requested: routed ? 'claude-opus-4-5' : model,
      outcome: OUTCOMES[(i * 17) % OUTCOMES.length] ?? 'success',
      status: 200,
      error_type: null,
      input_tokens: 1_000 + ((i * 37) % 9_000),
      output_tokens: 100 + ((i * 41) % 900),
      cache_read_tokens: (i * 43) % 5_000,
      cost_micros: 1_000 + ((i * 53) % 20_000),
      shadow_cost_micros: 1_000 + ((i * 53) % 20_000),
      price_version: '2026-11-01',
      latency_ms: 200 + ((i * 61) % 30_000),
      ttfb_ms: i % 4 === 0 ? null : 50 + ((i * 67) % 2_000),
      overhead_ms: (i * 71) % 30,
      tags: [[], ['cli'], ['ci'], ['cli', 'refactor']][(i * 19) % 4] ?? [],
      route_rule_id: routed ? 'rule-1' : null,
      route_rule: routed ? 'step down' : null,
      attempts: routed && i % 2 === 0 ? 2 : 1,
      cost_as_requested_micros: routed ? 30_000 : null,
    });
    out.push(record);
    // At-least-once delivery: every tenth record twice.
    if (i % 10 === 0) out.push({ ...record, ts: new Date(Date.parse(record.ts) + 1000).toISOString() });
  }
  return out;
}

let dataDir: string;
let engine: DuckDbQueryEngine;
let aggregates: LakeAggregates;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tollgate-aggregates-'));
  await createLakeSink({ dataDir, clock }).write(fixture());
  engine = createDuckDbQueryEngine({ dataDir });
  aggregates = createLocalAggregates({ dataDir, engine });
  for (const view of analystViews())
    await engine.query(`CREATE OR REPLACE TEMP VIEW ${view.name} AS ${view.sql}`);
});

afterAll(async () => {
  await engine?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Every report the rollup and the dashboard run, over `range`. */
async function everyReport(range: ReportRange) {
  const dims = Object.keys(SPEND_DIMENSIONS) as SpendDimension[];
  return {
    spend: await Promise.all(dims.map((d) => spendBy(engine, d, range))),
    teamSpend: await Promise.all(dims.map((d) => spendBy(engine, d, range, 'data'))),
    latency: await latencyByModel(engine, range),
    outcomes: await denialsAndErrors(engine, range),
    weekly: await weeklyActive(engine, range),
    repeat: await repeatUsage(engine, range),
    tools: await toolsPerPerson(engine, range),
    newLapsed: await newAndLapsed(engine, range),
    routing: await routingEffects(engine, range),
    personal: await personalSpend(engine, 'ann', range),
    top: await topSpenders(engine, { scope: 'team', scope_id: 'web' }, range),
  };
}

const refresh = () => refreshAggregates(aggregates, RANGE, { now: clock.now });
const totalCost = async (range: ReportRange) =>
  (await spendBy(engine, 'team', range)).reduce((sum, row) => sum + row.cost_micros, 0);

describe('daily aggregates', () => {
  it('give every report the numbers the raw records give', async () => {
    // Prepare
    const raw = await everyReport(RANGE);

    // Act
    const refreshed = await refresh();
    const aggregated = await everyReport({ ...RANGE, aggregatedThrough: refreshed.aggregatedThrough });

    // Assess
    expect(refreshed.aggregatedThrough).toBe('2026-11-29');
    expect(refreshed.built).toHaveLength(14);
    expect(raw.spend[0]?.length).toBeGreaterThan(10);
    expect(raw.routing.length).toBeGreaterThan(0);
    expect(aggregated).toEqual(raw);
  });

  it('give the analysts views the same numbers, aggregated days and raw ones alike', async () => {
    // Act
    const view = await engine.query(
      'SELECT day, team_id AS value, requests, cost_micros FROM spend_daily_by_team WHERE day BETWEEN ? AND ? ORDER BY day, value',
      [RANGE.from, RANGE.to],
    );
    const report = await spendBy(engine, 'team', { ...RANGE, aggregatedThrough: '2026-11-29' });

    // Assess
    const pick = (rows: Array<Record<string, unknown>>) =>
      rows.map((r) => `${String(r.day).slice(0, 10)} ${r.value} ${r.requests} ${r.cost_micros}`).sort();
    expect(view.length).toBeGreaterThan(20);
    expect(pick(view)).toEqual(pick(report as unknown as Array<Record<string, unknown>>));
  });

  it("read only the days an analyst's filter names: the filter on the day reaches the scan, below the dedup window", async () => {
    // Act: the plan of a view query for one day (Athena's planner pushes a filter through a window
    // the same way, when it is on the window's partition columns).
    const plan = (await engine.query("EXPLAIN SELECT * FROM spend_daily_by_team WHERE day = '2026-11-20'"))
      .flatMap((row) => Object.values(row).map(String))
      .join('\n')
      .split('\n');
    const window = plan.findIndex((line) => line.includes('WINDOW'));

    // Assess
    expect(window).toBeGreaterThan(-1);
    expect(plan.slice(window).some((line) => line.includes("dt = '2026-11-20'"))).toBe(true);
  });

  it('build a settled day again once records arrive for it late, and leave fresh days alone', async () => {
    // Prepare
    await refresh();
    const late = usageRecord({
      request_id: 'late-1',
      ts: '2026-11-20T23:59:00.000Z',
      team_id: 'data',
      cost_micros: 777_000,
      shadow_cost_micros: 777_000,
    });

    // Act
    await createLakeSink({ dataDir, clock }).write([late]);
    const refreshed = await refresh();

    // Assess
    expect(refreshed.built).toEqual(['2026-11-20']);
    const range = { ...RANGE, aggregatedThrough: refreshed.aggregatedThrough };
    expect(await everyReport(range)).toEqual(await everyReport(RANGE));
  });

  it('follow a re-pricing of settled days: the rewritten days are rebuilt and agree with the raw records', async () => {
    // Prepare
    await refresh();
    const before = await totalCost({ ...RANGE, aggregatedThrough: '2026-11-29' });
    const catalog = createModelCatalog(
      mergeModelOverrides(
        JSON.stringify([
          {
            model: 'claude-sonnet-4-5',
            provider: 'anthropic',
            price: { input: '1', output: '5' },
            max_output_tokens: 64000,
          },
        ]),
      ),
      '2026-12-01',
    );
    const days = ['2026-11-17', '2026-11-18'];
    const records = fixture().filter((r) => days.includes(r.dt));
    const repriced = records.flatMap((r) => repriceRecord(r, catalog) ?? []);

    // Act
    await createLakeSink({ dataDir, clock }).write(repriced);
    const refreshed = await refresh();
    const range = { ...RANGE, aggregatedThrough: refreshed.aggregatedThrough };

    // Assess
    expect(repriced.length).toBeGreaterThan(0);
    expect(refreshed.built).toEqual(days);
    expect(await totalCost(range)).toBeLessThan(before);
    expect(await everyReport(range)).toEqual(await everyReport(RANGE));
  });
});
