import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Database } from 'aws-cdk-lib/aws-glue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDuckDbQueryEngine,
  type DuckDbQueryEngine,
} from '../../functions/adapters/local/duckdb-query.ts';
import { createLakeSink } from '../../functions/adapters/local/lake-sink.ts';
import {
  mondayOf,
  newAndLapsed,
  repeatUsage,
  toolsPerPerson,
  weeklyActive,
} from '../../functions/core/analytics/adoption.ts';
import { recordsOfDay } from '../../functions/core/analytics/queries.ts';
import { type SpendDimension, spendBy } from '../../functions/core/analytics/spend.ts';
import type { UsageRecord } from '../../functions/core/usage/record.ts';
import { AthenaViews } from '../../infra/constructs/athena-views.ts';
import { type StoredView, storedViews } from '../support/glue-views.ts';
import { usageRecord } from '../support/usage-fixture.ts';

/**
 * The analysts' views, decoded from the Glue tables the stack synthesizes, run on DuckDB over the
 * same records as the dashboard's queries: each must give the dashboard's numbers. The adoption views
 * count weeks from today (Athena's current_date), so the records sit in the last five ISO weeks, and the
 * dashboard's range ends today.
 */
const DAY_MS = 86_400_000;
const today = new Date().toISOString().slice(0, 10);
const thisMonday = mondayOf(today);
/** The day `offset` days after the Monday `weeksAgo` weeks before this one. */
const dayOf = (weeksAgo: number, offset = 0) =>
  new Date(Date.parse(`${thisMonday}T00:00:00Z`) + (offset - 7 * weeksAgo) * DAY_MS)
    .toISOString()
    .slice(0, 10);
const RANGE = { from: dayOf(4), to: today };

type R = Partial<UsageRecord> & { request_id: string; day: string };
const record = ({ day, ...r }: R): UsageRecord =>
  usageRecord({
    status: 200,
    outcome: 'success',
    error_type: null,
    tags: [],
    ts: `${day}T09:00:00.000Z`,
    ...r,
  });

const FIXTURE: UsageRecord[] = [
  // Four weeks ago: outside the last four weeks, so only weekly and new/lapsed see it.
  record({
    request_id: 'a1',
    day: dayOf(4),
    user_id: 'eve',
    team_id: 'web',
    agent: 'codex',
    cost_micros: 900,
  }),
  // Three weeks ago: a duplicate delivery, and a re-priced copy (the newer version wins, as versions, not text).
  record({
    request_id: 'b1',
    day: dayOf(3),
    user_id: 'ann',
    team_id: 'web',
    tags: ['cli'],
    cost_micros: 1000,
  }),
  record({
    request_id: 'b1',
    day: dayOf(3),
    user_id: 'ann',
    team_id: 'web',
    tags: ['cli'],
    cost_micros: 1000,
  }),
  record({
    request_id: 'b2',
    day: dayOf(3, 1),
    user_id: 'ben',
    team_id: 'web',
    agent: 'codex',
    model_used: 'gpt-5-codex',
    tags: ['cli', 'ci'],
    cost_micros: 2000,
    price_version: 'genai-prices@0.1.9',
  }),
  record({
    request_id: 'b2',
    day: dayOf(3, 1),
    user_id: 'ben',
    team_id: 'web',
    agent: 'codex',
    model_used: 'gpt-5-codex',
    tags: ['cli', 'ci'],
    cost_micros: 1700,
    price_version: 'genai-prices@0.1.10',
  }),
  // Two weeks ago: a recovered `lost` record beside the request's real one, which wins.
  record({
    request_id: 'c1',
    day: dayOf(2),
    user_id: 'cat',
    team_id: 'data',
    cost_micros: 5000,
    outcome: 'lost',
  }),
  record({ request_id: 'c1', day: dayOf(2), user_id: 'cat', team_id: 'data', cost_micros: 1200 }),
  record({
    request_id: 'c2',
    day: dayOf(2, 2),
    user_id: null,
    team_id: 'web',
    key_alias: 'ci-bot',
    cost_micros: 300,
  }),
  // Last week: ann again (repeat), cat with a second tool, dan denied (not active).
  record({
    request_id: 'd1',
    day: dayOf(1),
    user_id: 'ann',
    team_id: 'web',
    cost_micros: 1500,
    tags: ['cli'],
  }),
  record({
    request_id: 'd2',
    day: dayOf(1, 1),
    user_id: 'cat',
    team_id: 'data',
    agent: 'codex',
    cost_micros: 800,
  }),
  record({
    request_id: 'd3',
    day: dayOf(1, 2),
    user_id: 'dan',
    team_id: 'data',
    outcome: 'denied',
    status: 402,
    error_type: 'budget_exceeded',
    cost_micros: 0,
  }),
  // This week (Monday, so never after today): ben is back; ann lapses.
  record({
    request_id: 'e1',
    day: dayOf(0),
    user_id: 'ben',
    team_id: 'web',
    agent: 'codex',
    cost_micros: 400,
  }),
];

/** The views as `cdk deploy` would store them: synthesized by the stack's construct, then decoded. */
function viewsAsStored(): Record<string, StoredView> {
  const stack = new Stack(new App(), 'Views');
  const database = new Database(stack, 'Database', { databaseName: 'tollgate' });
  new AthenaViews(stack, 'Views', { database, databaseName: 'tollgate' });
  return storedViews(Template.fromStack(stack));
}

let dataDir: string;
let engine: DuckDbQueryEngine;
let views: Record<string, StoredView>;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tollgate-views-'));
  await createLakeSink({ dataDir, clock: { now: () => new Date() } }).write(FIXTURE);
  engine = createDuckDbQueryEngine({ dataDir });
  views = viewsAsStored();
  for (const view of Object.values(views))
    await engine.query(`CREATE OR REPLACE TEMP VIEW ${view.name} AS ${view.definition.originalSql}`);
});

afterAll(async () => {
  await engine?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Rows as plain, comparable values, in one order. */
const plain = (rows: object[]) =>
  rows
    .map((row) =>
      Object.fromEntries(
        Object.entries(row).map(([k, v]) => [
          k,
          typeof v === 'bigint' ? Number(v) : v instanceof Date ? v.toISOString().slice(0, 10) : v,
        ]),
      ),
    )
    .map((row) => JSON.stringify(row))
    .sort();

const read = (sql: string, params: string[] = []) => engine.query(sql, params);

describe('the analysts’ Athena views give the dashboard’s numbers', () => {
  const SPEND: Array<[string, SpendDimension, string]> = [
    ['spend_daily_by_team', 'team', 'team_id'],
    ['spend_daily_by_person', 'user', 'user_id'],
    ['spend_daily_by_model', 'model', 'model'],
    ['spend_daily_by_agent', 'agent', 'agent'],
    ['spend_daily_by_tag', 'tag', 'tag'],
  ];

  it.each(SPEND)('%s matches the dashboard’s spend by %s, day by day', async (name, dimension, column) => {
    const rows = await read(
      `SELECT day, ${column} AS value, requests, cost_micros, shadow_cost_micros, input_tokens, output_tokens,
         cache_read_tokens, cache_write_tokens, reasoning_tokens
       FROM ${name} WHERE day BETWEEN ? AND ?`,
      [RANGE.from, RANGE.to],
    );

    const dashboard = await spendBy(engine, dimension, RANGE);

    expect(dashboard.length).toBeGreaterThan(3);
    expect(plain(rows)).toEqual(plain(dashboard));
  });

  it('the tag view counts a two-tag request under each tag and an untagged one under (none)', async () => {
    const rows = await read('SELECT tag, sum(cost_micros) AS cost FROM spend_daily_by_tag GROUP BY tag');

    expect(Object.fromEntries(rows.map((r) => [r.tag, Number(r.cost)]))).toEqual({
      cli: 1000 + 1700 + 1500,
      ci: 1700,
      '(none)': 900 + 1200 + 300 + 800 + 0 + 400,
    });
  });

  it('usage_deduped keeps, per request, the copy the re-pricing reads: newest version, lost yields', async () => {
    const days = [...new Set(FIXTURE.map((r) => r.dt))];
    const kept = (await Promise.all(days.map((d) => recordsOfDay(engine, d)))).flat();

    const rows = await read('SELECT request_id, price_version, outcome, cost_micros FROM usage_deduped');

    expect(rows.map((r) => r.request_id).sort()).toEqual(
      [...new Set(FIXTURE.map((r) => r.request_id))].sort(),
    );
    expect(plain(rows)).toEqual(
      plain(
        kept.map(({ request_id, price_version, outcome, cost_micros }) => ({
          request_id,
          price_version,
          outcome,
          cost_micros,
        })),
      ),
    );
    expect(rows.find((r) => r.request_id === 'b2')).toMatchObject({ price_version: 'genai-prices@0.1.10' });
    expect(rows.find((r) => r.request_id === 'c1')).toMatchObject({ outcome: 'success' });
  });

  it('adoption_weekly_active matches the dashboard’s weekly active people', async () => {
    const rows = await read('SELECT week, team_id, active_people FROM adoption_weekly_active');

    expect(plain(rows)).toEqual(plain(await weeklyActive(engine, RANGE)));
  });

  it('adoption_new_lapsed matches the dashboard’s new and lapsed people up to this week', async () => {
    const rows = await read('SELECT week, team_id, new_people, lapsed_people FROM adoption_new_lapsed');

    const dashboard = await newAndLapsed(engine, RANGE);

    expect(dashboard.some((r) => r.lapsed_people > 0 && r.week === thisMonday)).toBe(true);
    expect(plain(rows)).toEqual(plain(dashboard));
  });

  it('adoption_repeat_usage and adoption_tools_per_person match the dashboard’s last four weeks', async () => {
    const repeat = await read('SELECT team_id, active_people, repeat_people FROM adoption_repeat_usage');
    const tools = await read('SELECT team_id, tools, people FROM adoption_tools_per_person');

    const dashboardRepeat = (await repeatUsage(engine, RANGE)).map(({ repeat_rate: _, ...r }) => r);

    expect(plain(repeat)).toEqual(plain(dashboardRepeat));
    // eve, active only four weeks ago, is outside the window on both.
    expect(dashboardRepeat).toContainEqual({ team_id: 'web', active_people: 2, repeat_people: 2 });
    expect(plain(tools)).toEqual(plain(await toolsPerPerson(engine, RANGE)));
  });
});
