import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rollup } from '../../functions/core/analytics/rollup.ts';
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
