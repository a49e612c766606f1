import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLakeSink, createTelemetryLakeSink } from '../../functions/adapters/local/lake-sink.ts';
import { weeklyDigest } from '../../functions/core/analytics/rollup.ts';
import type { Rollup } from '../../functions/core/analytics/rollup-document.ts';
import { sendForecastAlerts } from '../../functions/core/governance/forecast.ts';
import { formatUsd } from '../../functions/core/money.ts';
import { type DemoSummary, seedDemo } from '../../functions/local/demo-data.ts';
import { NAMES } from '../../functions/local/demo-history.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';
import { collectingNotifier } from '../support/stores.ts';

/** `npm run demo`'s synthetic history: a full org view, budgets near their limits, people lapsing. */
let mock: MockUpstream;
let gateway: TestGateway;
let summary: DemoSummary;
const clock = { now: () => new Date('2026-11-20T15:00:00Z') };

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startTestGateway(mock.url, {}, { clock });
  summary = await seedDemo(gateway, createLakeSink({ dataDir: gateway.dataDir, clock }), clock, {
    telemetry: createTelemetryLakeSink({ dataDir: gateway.dataDir, clock }),
  });
}, 60_000);
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});

const get = async <T>(path: string, key = gateway.masterKey) =>
  (await (await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${key}` } })).json()) as T;

describe('the demo history', () => {
  it('fills every part of the org view', async () => {
    // Act
    const rollup = await get<Rollup>('/api/rollup');

    // Assess
    expect(summary).toMatchObject({ teams: 4, people: 36 });
    expect(summary.records).toBeGreaterThan(20_000);
    expect(new Set(rollup.spend.team.map((r) => r.value))).toEqual(
      new Set(['web', 'data', 'platform', 'mobile']),
    );
    expect(new Set(rollup.spend.agent.map((r) => r.value))).toEqual(
      new Set(['claude-code', 'codex', 'kimi-cli']),
    );
    expect(rollup.latency.length).toBeGreaterThan(3);
    expect(rollup.outcomes.length).toBeGreaterThan(0);
    expect(rollup.adoption.new_and_lapsed.some((r) => r.lapsed_people > 0)).toBe(true);
    expect(rollup.adoption.tools_per_person.some((r) => r.tools >= 2)).toBe(true);
    // The data team's step-down rule served opus requests with sonnet: it saved, and priced them as sonnet.
    const routed = rollup.routing.filter((r) => r.rule === 'data: opus steps down past 85 %');
    expect(routed.length).toBeGreaterThan(0);
    expect(
      routed.every((r) => r.model_requested === 'claude-opus-4-5' && r.model_used === 'claude-sonnet-4-5'),
    ).toBe(true);
    const sum = (f: (r: (typeof routed)[number]) => number) => routed.reduce((total, r) => total + f(r), 0);
    expect(sum((r) => r.moved_micros)).toBeGreaterThan(0);
    expect(sum((r) => r.cost_micros)).toBeLessThan(sum((r) => r.cost_as_requested_micros));
  });

  it('shows what the agents did, with the planted price gap and spend outside the gateway', async () => {
    // Act
    const report = await get<{
      rows: Array<{
        hidden: boolean;
        sessions?: number;
        lines_added?: number;
        commits?: number;
        gateway_cost_usd?: number;
        ungoverned_cost_usd?: number;
      }>;
      reconciliation: Array<{ session_id: string; agent_cost_usd: number; gateway_cost_usd: number }>;
    }>('/api/reports/agent-outcomes');

    // Assess: Claude Code's outcomes by team and week, billed cost beside them
    const shown = report.rows.filter((r) => !r.hidden);
    expect(shown.length).toBeGreaterThan(0);
    const total = (f: (r: (typeof shown)[number]) => number | undefined) =>
      shown.reduce((sum, r) => sum + (f(r) ?? 0), 0);
    expect(total((r) => r.sessions)).toBeGreaterThan(50);
    expect(total((r) => r.lines_added)).toBeGreaterThan(0);
    expect(total((r) => r.commits)).toBeGreaterThan(0);
    expect(total((r) => r.gateway_cost_usd)).toBeGreaterThan(0);
    expect(total((r) => r.ungoverned_cost_usd)).toBeGreaterThan(0);
    // The one person whose Claude Code prices from an old list: their sessions are the findings
    const stale = report.reconciliation.filter((r) => r.session_id.startsWith(`${NAMES[4]}-`));
    expect(stale.length).toBeGreaterThan(0);
    expect(stale.every((r) => r.agent_cost_usd < r.gateway_cost_usd)).toBe(true);
  });

  it('has a team and people near their budgets, their counters agreeing with the lake', async () => {
    // Act
    const rollup = await get<Rollup>('/api/rollup');
    const data = rollup.budgets.find((b) => b.scope === 'team' && b.scope_id === 'data');
    const monthOfData = rollup.spend.team
      .filter((r) => r.value === 'data' && r.day >= '2026-11-01')
      .reduce((sum, r) => sum + r.cost_micros, 0);

    // Assess
    expect(data?.used_pct).toBeGreaterThan(80);
    expect(data?.used_pct).toBeLessThan(100);
    expect(data?.spent_micros).toBe(monthOfData);
    expect(rollup.budgets.filter((b) => b.scope === 'user' && b.used_pct > 80).length).toBeGreaterThan(0);
    // At ~90 % on the 20th, Data is on pace to run out before December, and the riskiest budgets lead.
    expect(data?.forecast_micros).toBeGreaterThan(data?.limit_micros ?? 0);
    expect(
      data?.runs_out_at && data.runs_out_at > '2026-11-20T15:00:00.000Z' && data.runs_out_at < '2026-12-01',
    ).toBe(true);
    expect(rollup.budgets[0]?.runs_out_at).not.toBeNull();
  });

  it("gives the person's key their own page", async () => {
    // Act
    const me = await get<{ user: { user_id: string }; usage: unknown[] }>('/api/me', summary.personKey);

    // Assess
    expect(me.user.user_id).toBe(summary.personId);
    expect(me.usage.length).toBeGreaterThan(0);
  });

  it('warns of the budgets on pace to run out before they reset', async () => {
    // Prepare
    const rollup = await get<Rollup>('/api/rollup');
    const sent = collectingNotifier();

    // Act
    await sendForecastAlerts(rollup.budgets, sent, clock.now());

    // Assess: Data, at ~90 % on the 20th, will run out in November; so will the people near their budgets.
    const data = sent.alerts.find((a) => a.scope === 'team:data');
    expect(data?.subject).toMatch(/^Tollgate: team 'Data' is on pace to run out of budget around \d+ Nov$/);
    expect(sent.alerts.filter((a) => a.scope.startsWith('user:')).length).toBeGreaterThan(0);
  });

  it('sums the last 7 days by team into a weekly digest, sent once per week', async () => {
    // Prepare
    const rollup = await get<Rollup>('/api/rollup');
    const weekAgo = '2026-11-13';
    const expected = rollup.spend.team.filter((r) => r.day > weekAgo).reduce((s, r) => s + r.cost_micros, 0);

    // Act
    const digest = weeklyDigest(rollup, clock.now());

    // Assess
    expect(digest?.subject).toBe(`Tollgate weekly digest: ${formatUsd(expected)} in the last 7 days`);
    expect(
      digest?.message
        .split('\n')
        .slice(1)
        .map((l) => l.split(':')[0])
        .sort(),
    ).toEqual(['data', 'mobile', 'platform', 'web']);
    expect(digest?.once_key).toBe('digest|2026-11-16');
  });
});
