import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rollup } from '../../functions/core/analytics/rollup-document.ts';
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

/**
 * The dashboard's rollup through the running gateway: built on DuckDB from the lake the requests
 * wrote, with budget status from the ledger and key holders from the key store.
 * gpt-4.1-mini with 10 prompt and 100 output tokens: 4 + 160 = 164 µ$ a request.
 */
let mock: MockUpstream;
let gateway: TestGateway;
let now = new Date('2026-12-01T12:00:00.000Z');

beforeAll(async () => {
  mock = await startMockUpstream({ script: { usage: { input_tokens: 10, output_tokens: 100 } } });
  gateway = await startTestGateway(mock.url, {}, { clock: { now: () => now } });
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});

const get = async (path: string, key = MASTER_KEY) => {
  const response = await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: response.status, body: (await response.json()) as Rollup };
};
const chat = (key: string) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'hi' }] }),
  }).then((r) => r.text());

describe('GET /api/rollup', () => {
  it('reports spend, adoption against key holders, and budget status, and keeps it for a minute', async () => {
    // Prepare: team web with three key holders, of whom two make requests (three in all).
    await fetch(`${gateway.url}/team/new`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}` },
      body: JSON.stringify({ team_id: 'web', max_budget: 1 }),
    });
    const ann = await gateway.createKey({
      user_id: 'ann',
      team_id: 'web',
      max_budget: 0.01,
      key_alias: 'ann-cc',
    });
    const ben = await gateway.createKey({ user_id: 'ben', team_id: 'web' });
    await gateway.createKey({ user_id: 'cy', team_id: 'web' });
    await chat(ann.key);
    await chat(ann.key);
    await chat(ben.key);
    await gateway.proxy.drain();

    // Act
    const first = await get('/api/rollup');
    await chat(ben.key);
    await gateway.proxy.drain();
    const cached = await get('/api/rollup');
    now = new Date(now.getTime() + 61_000);
    const rebuilt = await get('/api/rollup');

    // Assess
    expect(first.status).toBe(200);
    const rollup = first.body;
    expect(rollup.range).toEqual({ from: '2026-09-03', to: '2026-12-01' });
    expect(rollup.spend.team).toEqual([
      expect.objectContaining({ day: '2026-12-01', value: 'web', requests: 3, cost_micros: 3 * 164 }),
    ]);
    expect(rollup.spend.user.map((r) => [r.value, r.cost_micros])).toEqual([
      ['ann', 328],
      ['ben', 164],
    ]);
    expect(rollup.adoption.weekly_active).toEqual([
      { week: '2026-11-30', team_id: 'web', active_people: 2, key_holders: 3, weekly_active_rate: 2 / 3 },
    ]);
    const annBudget = rollup.budgets.find((b) => b.label === 'ann-cc');
    expect(annBudget).toMatchObject({ scope: 'key', limit_micros: 10_000, spent_micros: 328, used_pct: 3.3 });
    expect(rollup.budgets.find((b) => b.scope === 'team')).toMatchObject({
      scope_id: 'web',
      spent_micros: 492,
    });
    expect(cached.body.spend.team[0]?.requests).toBe(3);
    expect(rebuilt.body.spend.team[0]?.requests).toBe(4);
  });

  it('is for the master key only', async () => {
    // Prepare
    const { key } = await gateway.createKey({ key_alias: 'nosy' });

    // Act
    const [asKey, anonymous] = [await get('/api/rollup', key), await fetch(`${gateway.url}/api/rollup`)];

    // Assess
    expect([asKey.status, anonymous.status]).toEqual([403, 401]);
  });
});

describe('who sees what', () => {
  const asPerson = async (body: Record<string, unknown>) => {
    const response = await fetch(`${gateway.url}/user/new`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}` },
      body: JSON.stringify(body),
    });
    return String(((await response.json()) as { key: string }).key);
  };
  const read = async (path: string, key: string) => {
    const response = await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> & Rollup };
  };

  it('gives admins the whole org view, viewers the org view without per-person spend, others none', async () => {
    // Prepare
    const admin = await asPerson({ user_id: 'lead', user_role: 'proxy_admin' });
    const viewer = await asPerson({ user_id: 'finance', user_role: 'proxy_admin_viewer' });
    const engineer = await asPerson({ user_id: 'dev' });

    // Act
    const [a, v, e] = [
      await read('/api/rollup', admin),
      await read('/api/rollup', viewer),
      await read('/api/rollup', engineer),
    ];

    // Assess
    expect([a.status, v.status, e.status]).toEqual([200, 200, 403]);
    expect(a.body.spend.user.length).toBeGreaterThan(0);
    expect(v.body.spend).not.toHaveProperty('user');
    expect(v.body.spend).not.toHaveProperty('key');
    expect(v.body.spend.team.length).toBeGreaterThan(0);
    expect(v.body.budgets.every((b) => b.scope === 'team' || b.scope === 'org')).toBe(true);
  });

  it("shows a person their own budgets, keys and usage by agent and model, and nobody else's", async () => {
    // Prepare: Ann already spent 2 × 164 µ$ on one key; she makes a second key and uses it once.
    const ann = await asPerson({ user_id: 'ann-2', max_budget: 0.01, teams: ['web'] });
    await chat(ann);
    await gateway.proxy.drain();
    now = new Date(now.getTime() + 61_000);

    // Act
    const me = await read('/api/me', ann);
    const master = await read('/api/me', MASTER_KEY);

    // Assess
    expect(me.status).toBe(200);
    const body = me.body as unknown as {
      user: { user_id: string; spend_micros: number };
      budgets: Array<{ scope: string; spent_micros: number; limit_micros: number }>;
      keys: Array<{ user_id: string }>;
      usage: Array<{ agent: string; model: string; requests: number; cost_micros: number }>;
    };
    expect(body.user).toMatchObject({ user_id: 'ann-2', spend_micros: 164 });
    expect(body.budgets).toContainEqual(
      expect.objectContaining({ scope: 'user', spent_micros: 164, limit_micros: 10_000 }),
    );
    expect(body.budgets).toContainEqual(expect.objectContaining({ scope: 'team' }));
    expect(body.keys.map((k) => k.user_id)).toEqual(['ann-2']);
    expect(body.usage).toEqual([
      expect.objectContaining({ agent: 'other', model: 'gpt-4.1-mini', requests: 1, cost_micros: 164 }),
    ]);
    expect(JSON.stringify(body)).not.toContain('"ben"');
    expect(master.status).toBe(400);
  });
});

describe('GET /api/spend', () => {
  it("answers one team's spend by model for the org view's roles, and a clear 400 for a bad query", async () => {
    // Prepare
    const headers = { authorization: `Bearer ${MASTER_KEY}` };
    const q = (params: string) => fetch(`${gateway.url}/api/spend?${params}`, { headers });

    // Act
    const ok = await q('dimension=model&team=web&from=2026-11-01&to=2026-12-31');
    const bad = await q('dimension=colour&team=web&from=2026-11-01&to=2026-12-31');
    const backwards = await q('dimension=model&team=web&from=2026-12-31&to=2026-11-01');

    // Assess
    const { rows } = (await ok.json()) as {
      rows: Array<{ value: string; requests: number; cost_micros: number }>;
    };
    expect(rows.map((r) => r.value)).toEqual(['gpt-4.1-mini']);
    // Team web: ann twice, ben twice, ann-2 once, all gpt-4.1-mini.
    expect(rows.reduce((s, r) => s + r.cost_micros, 0)).toBe(5 * 164);
    expect([bad.status, backwards.status]).toEqual([400, 400]);
  });

  it('answers the same from the daily aggregates once the days are settled and the rollup built them', async () => {
    // Prepare: two days later the requests' day is settled; the org view's rollup builds its aggregates.
    const headers = { authorization: `Bearer ${MASTER_KEY}` };
    const params = 'dimension=model&team=web&from=2026-11-01&to=2026-12-31';
    const before = await (await fetch(`${gateway.url}/api/spend?${params}`, { headers })).json();
    now = new Date('2026-12-03T12:00:00.000Z');
    const rollup = await get('/api/rollup');

    // Act
    const after = await (await fetch(`${gateway.url}/api/spend?${params}`, { headers })).json();

    // Assess
    expect(rollup.body.aggregated_through).toBe('2026-12-02');
    const built = await readdir(join(gateway.dataDir, 'aggregates', 'usage_daily'));
    expect(built).toContain('dt=2026-12-01');
    expect(after).toEqual(before);
  });
});
