import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDuckDbQueryEngine,
  type DuckDbQueryEngine,
} from '../../functions/adapters/local/duckdb-query.ts';
import { createLakeSink } from '../../functions/adapters/local/lake-sink.ts';
import {
  newAndLapsed,
  repeatUsage,
  toolsPerPerson,
  weeklyActive,
} from '../../functions/core/analytics/adoption.ts';
import {
  denialsAndErrors,
  latencyByModel,
  type SpendRow,
  spendBy,
} from '../../functions/core/analytics/spend.ts';
import type { UsageRecord } from '../../functions/core/usage/record.ts';
import { usageRecord } from '../support/usage-fixture.ts';

/**
 * Every report on a fixed fixture, on DuckDB, against answers worked out by hand (below, per test).
 * Four ISO weeks: W1 = Mon 2026-11-09, W2 = 11-16, W3 = 11-23, W4 = 11-30; the range ends Tue 12-01.
 * Teams web (ann, ben, and a key with no user) and data (cat, dan).
 */
const RANGE = { from: '2026-11-09', to: '2026-12-01' };

type R = Partial<UsageRecord> & { request_id: string; ts: string };
const ok = (r: R): UsageRecord => usageRecord({ status: 200, outcome: 'success', error_type: null, ...r });
const FIXTURE: UsageRecord[] = [
  // W1
  ok({
    request_id: 'r1',
    ts: '2026-11-10T09:00:00.000Z',
    user_id: 'ann',
    team_id: 'web',
    agent: 'claude-code',
    model_used: 'claude-sonnet-4-5',
    provider: 'anthropic',
    cost_micros: 1000,
    latency_ms: 100,
    ttfb_ms: 10,
    overhead_ms: 2,
    tags: ['cli'],
  }),
  // r1 delivered twice (at-least-once): the later copy must be ignored everywhere.
  ok({
    request_id: 'r1',
    ts: '2026-11-10T09:00:05.000Z',
    user_id: 'ann',
    team_id: 'web',
    agent: 'claude-code',
    model_used: 'claude-sonnet-4-5',
    provider: 'anthropic',
    cost_micros: 1000,
    latency_ms: 100,
    ttfb_ms: 10,
    overhead_ms: 2,
    tags: ['cli'],
  }),
  ok({
    request_id: 'r2',
    ts: '2026-11-11T09:00:00.000Z',
    user_id: 'ben',
    team_id: 'web',
    agent: 'codex',
    model_used: 'gpt-5-codex',
    provider: 'openai',
    cost_micros: 2000,
    latency_ms: 200,
    ttfb_ms: 20,
    overhead_ms: 3,
    tags: ['cli', 'ci'],
  }),
  ok({
    request_id: 'r3',
    ts: '2026-11-12T09:00:00.000Z',
    user_id: 'cat',
    team_id: 'data',
    agent: 'claude-code',
    model_used: 'claude-sonnet-4-5',
    provider: 'anthropic',
    cost_micros: 3000,
    latency_ms: 300,
    ttfb_ms: 30,
    overhead_ms: 4,
    tags: [],
  }),
  // W2
  ok({
    request_id: 'r4',
    ts: '2026-11-17T09:00:00.000Z',
    user_id: 'ann',
    team_id: 'web',
    agent: 'codex',
    model_used: 'gpt-5-codex',
    provider: 'openai',
    cost_micros: 500,
    latency_ms: 400,
    ttfb_ms: 40,
    overhead_ms: 5,
    tags: ['ci'],
  }),
  ok({
    request_id: 'r5',
    ts: '2026-11-18T09:00:00.000Z',
    user_id: 'cat',
    team_id: 'data',
    agent: 'claude-code',
    model_used: 'claude-sonnet-4-5',
    provider: 'anthropic',
    outcome: 'denied',
    status: 402,
    error_type: 'budget_exceeded',
    cost_micros: 0,
    latency_ms: 5,
    ttfb_ms: null,
    tags: [],
  }),
  ok({
    request_id: 'r6',
    ts: '2026-11-18T10:00:00.000Z',
    user_id: null,
    team_id: 'web',
    agent: 'other',
    model_used: 'claude-haiku-4-5',
    provider: 'anthropic',
    cost_micros: 100,
    latency_ms: 50,
    ttfb_ms: 5,
    overhead_ms: 1,
    tags: [],
  }),
  // W3
  ok({
    request_id: 'r7',
    ts: '2026-11-24T09:00:00.000Z',
    user_id: 'ann',
    team_id: 'web',
    agent: 'claude-code',
    model_used: 'claude-sonnet-4-5',
    provider: 'anthropic',
    cost_micros: 1500,
    latency_ms: 500,
    ttfb_ms: 50,
    overhead_ms: 6,
    tags: ['cli'],
  }),
  ok({
    request_id: 'r8',
    ts: '2026-11-25T09:00:00.000Z',
    user_id: 'dan',
    team_id: 'data',
    agent: 'claude-code',
    model_used: 'claude-haiku-4-5',
    provider: 'anthropic',
    outcome: 'upstream_error',
    status: 502,
    error_type: 'upstream',
    cost_micros: 0,
    latency_ms: 60,
    tags: [],
  }),
  ok({
    request_id: 'r9',
    ts: '2026-11-26T09:00:00.000Z',
    user_id: 'cat',
    team_id: 'data',
    agent: 'codex',
    model_used: 'gpt-5-codex',
    provider: 'openai',
    cost_micros: 700,
    latency_ms: 600,
    ttfb_ms: 60,
    overhead_ms: 7,
    tags: [],
  }),
  // W4
  ok({
    request_id: 'r10',
    ts: '2026-12-01T09:00:00.000Z',
    user_id: 'ann',
    team_id: 'web',
    agent: 'claude-code',
    model_used: 'claude-sonnet-4-5',
    provider: 'anthropic',
    cost_micros: 800,
    latency_ms: 700,
    ttfb_ms: 70,
    overhead_ms: 8,
    tags: [],
  }),
  ok({
    request_id: 'r11',
    ts: '2026-12-01T10:00:00.000Z',
    user_id: 'dan',
    team_id: 'data',
    agent: 'claude-code',
    model_used: 'claude-sonnet-4-5',
    provider: 'anthropic',
    cost_micros: 900,
    latency_ms: 800,
    ttfb_ms: 80,
    overhead_ms: 9,
    tags: ['cli'],
  }),
  // After the range: no report may see it.
  ok({
    request_id: 'r12',
    ts: '2026-12-02T09:00:00.000Z',
    user_id: 'ben',
    team_id: 'web',
    agent: 'codex',
    cost_micros: 99_999,
    tags: ['cli'],
  }),
];

let dataDir: string;
let engine: DuckDbQueryEngine;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tollgate-analytics-'));
  await createLakeSink({ dataDir, clock: { now: () => new Date('2026-12-02T12:00:00Z') } }).write(FIXTURE);
  engine = createDuckDbQueryEngine({ dataDir });
});
afterAll(async () => {
  await engine?.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** Rows summed over the days of the range, per value: requests and cost. */
const totals = (rows: SpendRow[]) => {
  const out: Record<string, [number, number]> = {};
  for (const r of rows) {
    const [n, c] = out[r.value] ?? [0, 0];
    out[r.value] = [n + r.requests, c + r.cost_micros];
  }
  return out;
};

describe('spend', () => {
  it('by team, per day, most expensive first within a day', async () => {
    // Hand: web 1000 (11-10), 2000 (11-11), 500 (11-17), 100 (11-18), 1500 (11-24), 800 (12-01);
    // data 3000 (11-12), 0 (11-18, denied), 0 (11-25, failed), 700 (11-26), 900 (12-01).
    const rows = await spendBy(engine, 'team', RANGE);
    expect(rows.map((r) => [r.day, r.value, r.requests, r.cost_micros])).toEqual([
      ['2026-11-10', 'web', 1, 1000],
      ['2026-11-11', 'web', 1, 2000],
      ['2026-11-12', 'data', 1, 3000],
      ['2026-11-17', 'web', 1, 500],
      ['2026-11-18', 'web', 1, 100],
      ['2026-11-18', 'data', 1, 0],
      ['2026-11-24', 'web', 1, 1500],
      ['2026-11-25', 'data', 1, 0],
      ['2026-11-26', 'data', 1, 700],
      ['2026-12-01', 'data', 1, 900],
      ['2026-12-01', 'web', 1, 800],
    ]);
  });

  it('by user, counting the twice-delivered r1 once and the user-less key as (none)', async () => {
    // Hand: ann 1000 + 500 + 1500 + 800 = 3800 (4); ben 2000 (1); cat 3000 + 0 + 700 = 3700 (3);
    // dan 0 + 900 = 900 (2); (none) 100 (1).
    expect(totals(await spendBy(engine, 'user', RANGE))).toEqual({
      ann: [4, 3800],
      ben: [1, 2000],
      cat: [3, 3700],
      dan: [2, 900],
      '(none)': [1, 100],
    });
  });

  it('by model, provider and agent', async () => {
    // Hand: sonnet r1 r3 r5 r7 r10 r11 = 1000 + 3000 + 0 + 1500 + 800 + 900 = 7200; codex r2 r4 r9 =
    // 3200; haiku r6 r8 = 100. anthropic = 7200 + 100; openai = 3200. Agents: claude-code r1 r3 r5 r7
    // r8 r10 r11 = 7200; codex 3200; other 100.
    expect(totals(await spendBy(engine, 'model', RANGE))).toEqual({
      'claude-sonnet-4-5': [6, 7200],
      'gpt-5-codex': [3, 3200],
      'claude-haiku-4-5': [2, 100],
    });
    expect(totals(await spendBy(engine, 'provider', RANGE))).toEqual({
      anthropic: [8, 7300],
      openai: [3, 3200],
    });
    expect(totals(await spendBy(engine, 'agent', RANGE))).toEqual({
      'claude-code': [7, 7200],
      codex: [3, 3200],
      other: [1, 100],
    });
  });

  it('by tag, counting a request under each of its tags and an untagged one under (none)', async () => {
    // Hand: cli r1 r2 r7 r11 = 1000 + 2000 + 1500 + 900 = 5400; ci r2 r4 = 2500;
    // (none) r3 r5 r6 r8 r9 r10 = 3000 + 0 + 100 + 0 + 700 + 800 = 4600.
    expect(totals(await spendBy(engine, 'tag', RANGE))).toEqual({
      cli: [4, 5400],
      ci: [2, 2500],
      '(none)': [6, 4600],
    });
  });
});

describe('latency and outcomes', () => {
  it('gives percentiles per provider and model over successful requests only', async () => {
    // Hand: sonnet successes r1 r3 r7 r10 r11 → latency 100 300 500 700 800: median 500; codex r2 r4
    // r9 → 200 400 600: median 400; haiku r6 alone → 50 (r8 failed). Most requests first.
    const rows = await latencyByModel(engine, RANGE);
    expect(
      rows.map((r) => [r.provider, r.model, r.requests, r.latency_ms.p50, r.ttfb_ms.p50, r.overhead_ms.p50]),
    ).toEqual([
      ['anthropic', 'claude-sonnet-4-5', 5, 500, 50, 6],
      ['openai', 'gpt-5-codex', 3, 400, 40, 5],
      ['anthropic', 'claude-haiku-4-5', 1, 50, 5, 1],
    ]);
    // The slowest value of five is the 99th percentile whichever rank rule is used.
    expect(rows[0]?.latency_ms.p99).toBe(800);
  });

  it('lists every request that did not succeed, by day, outcome, error type and status', async () => {
    expect(await denialsAndErrors(engine, RANGE)).toEqual([
      { day: '2026-11-18', outcome: 'denied', error_type: 'budget_exceeded', status: 402, requests: 1 },
      { day: '2026-11-25', outcome: 'upstream_error', error_type: 'upstream', status: 502, requests: 1 },
    ]);
  });
});

describe('adoption', () => {
  it('counts people active in each ISO week per team (successes only, never a user-less key)', async () => {
    // Hand: W1 web ann ben, data cat; W2 web ann (cat was denied, r6 has no user); W3 web ann, data cat
    // (dan failed); W4 web ann, data dan.
    expect(await weeklyActive(engine, RANGE)).toEqual([
      { week: '2026-11-09', team_id: 'data', active_people: 1 },
      { week: '2026-11-09', team_id: 'web', active_people: 2 },
      { week: '2026-11-16', team_id: 'web', active_people: 1 },
      { week: '2026-11-23', team_id: 'data', active_people: 1 },
      { week: '2026-11-23', team_id: 'web', active_people: 1 },
      { week: '2026-11-30', team_id: 'data', active_people: 1 },
      { week: '2026-11-30', team_id: 'web', active_people: 1 },
    ]);
  });

  it('gives repeat usage over the last four weeks', async () => {
    // Hand: web ann 4 weeks, ben 1 → 1 of 2; data cat 2 weeks (W1, W3), dan 1 → 1 of 2.
    expect(await repeatUsage(engine, RANGE)).toEqual([
      { team_id: 'data', active_people: 2, repeat_people: 1, repeat_rate: 0.5 },
      { team_id: 'web', active_people: 2, repeat_people: 1, repeat_rate: 0.5 },
    ]);
  });

  it('gives the distribution of tools per person', async () => {
    // Hand: ann claude-code + codex = 2, ben codex = 1; cat claude-code + codex = 2, dan claude-code = 1.
    expect(await toolsPerPerson(engine, RANGE)).toEqual([
      { team_id: 'data', tools: 1, people: 1 },
      { team_id: 'data', tools: 2, people: 1 },
      { team_id: 'web', tools: 1, people: 1 },
      { team_id: 'web', tools: 2, people: 1 },
    ]);
  });

  it('counts new and lapsed people per week', async () => {
    // Hand: first weeks ann ben cat W1, dan W4. Lapsed (active the week before, not this one): ben and
    // cat at W2, cat again at W4; ann and dan at W5, after the range.
    expect(await newAndLapsed(engine, RANGE)).toEqual([
      { week: '2026-11-09', team_id: 'data', new_people: 1, lapsed_people: 0 },
      { week: '2026-11-09', team_id: 'web', new_people: 2, lapsed_people: 0 },
      { week: '2026-11-16', team_id: 'data', new_people: 0, lapsed_people: 1 },
      { week: '2026-11-16', team_id: 'web', new_people: 0, lapsed_people: 1 },
      { week: '2026-11-30', team_id: 'data', new_people: 1, lapsed_people: 1 },
    ]);
  });
});
