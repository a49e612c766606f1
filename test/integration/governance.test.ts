import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';
import { collectingNotifier } from '../support/stores.ts';

/**
 * Who may spend what, through the running gateway: user, org, key×model budgets shared by many keys,
 * the binding scope, parallel limits, period rollover on an injected clock, alerts once per crossing.
 *
 * gpt-4.1-mini ($0.40 in, $1.60 out per M), the mock answering 10 prompt and 100 output tokens:
 * each request costs 4 + 160 = 164 µ$. The gateway reserves (body bytes / 2) × 0.40 + 100 × 1.60 ≈ 184 µ$.
 */
const COST = 164;
let mock: MockUpstream;
let gateway: TestGateway;
let now = new Date('2026-11-30T12:00:00.000Z');
const notifier = collectingNotifier();

beforeAll(async () => {
  mock = await startMockUpstream({ script: { usage: { input_tokens: 10, output_tokens: 100 } } });
  gateway = await startTestGateway(mock.url, {}, { clock: { now: () => now }, notifier });
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});

const admin = async (path: string, body?: unknown, key = MASTER_KEY) => {
  const response = await fetch(`${gateway.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: answers are read loosely in assertions
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};
const chat = async (key: string, model = 'gpt-4.1-mini', url = gateway.url) => {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_completion_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const body = (await response.json()) as { error?: { message: string } };
  return { status: response.status, headers: response.headers, message: body.error?.message ?? '' };
};

describe('user budgets', () => {
  it("shares a person's budget across all their keys, and /user/new hands out the first key", async () => {
    // Prepare: 500 µ$ pays for two requests (164 + 164 + a 184 reservation > 500).
    const created = await admin('/user/new', { user_id: 'ada', max_budget: 0.0005 });
    const first = String(created.body.key);
    const second = (await admin('/key/generate', { user_id: 'ada', key_alias: 'ada-laptop' })).body.key;

    // Act
    const statuses = [(await chat(first)).status, (await chat(second)).status];
    const refused = await chat(first);

    // Assess
    expect(created.status).toBe(200);
    expect(first).toMatch(/^sk-tg-/);
    expect(statuses).toEqual([200, 200]);
    expect(refused.status).toBe(402);
    expect(refused.message).toMatch(/user 'ada'/);
    const info = await admin('/user/info?user_id=ada');
    expect(info.body.user_info.spend_micros).toBe(2 * COST);
    expect(info.body.keys).toHaveLength(2);
  });

  it("rejects a model outside the person's allow-list before any upstream call", async () => {
    // Prepare
    // The key itself allows any model; the person's record does not.
    await admin('/user/new', { user_id: 'bo', models: ['gpt-4.1-mini'], auto_create_key: false });
    const { key } = await gateway.createKey({ user_id: 'bo' });
    const before = mock.requests.length;

    // Act
    const refused = await chat(key, 'gpt-4.1');

    // Assess
    expect(refused.status).toBe(403);
    expect(refused.message).toMatch(/User 'bo' may not use model 'gpt-4.1'/);
    expect(mock.requests.length).toBe(before);
  });
});

describe('budgets on parts of a key', () => {
  it('caps one model through model_max_budget while the key may still use others', async () => {
    // Prepare
    const { key } = await gateway.createKey({
      key_alias: 'per-model',
      model_max_budget: { 'gpt-4.1-mini': { budget_limit: 0.0003, time_period: '1d' } },
    });

    // Act
    const first = await chat(key);
    const second = await chat(key);
    const other = await chat(key, 'gpt-4.1');

    // Assess
    expect([first.status, second.status, other.status]).toEqual([200, 402, 200]);
    expect(second.message).toMatch(/key_model 'per-model on gpt-4.1-mini'/);
  });
});

describe('precedence', () => {
  it('applies every budget and names the one with least left as binding', async () => {
    // Prepare: key $1, person $0.50, team $0.20 — the team binds; once the team is raised, the person.
    await admin('/team/new', { team_id: 'prec', max_budget: 0.2 });
    await admin('/user/new', { user_id: 'cy', max_budget: 0.5, auto_create_key: false });
    const { key } = await gateway.createKey({ user_id: 'cy', team_id: 'prec', max_budget: 1 });

    // Act
    const teamBinds = await chat(key);
    await admin('/team/update', { team_id: 'prec', max_budget: 5 });
    const userBinds = await chat(key);

    // Assess
    expect(teamBinds.headers.get('x-tollgate-budget-scope')).toBe('team:prec');
    expect(userBinds.headers.get('x-tollgate-budget-scope')).toBe('user:cy');
    expect(Number(userBinds.headers.get('x-tollgate-budget-remaining-micros'))).toBeLessThan(500_000 - COST);
  });
});

describe('period rollover', () => {
  it('refuses a spent daily budget until the next UTC day, when a new counter starts from zero', async () => {
    // Prepare
    const { key } = await gateway.createKey({
      key_alias: 'daily',
      max_budget: 0.0003,
      budget_duration: 'daily',
    });
    await chat(key);
    const spent = await chat(key);

    // Act
    now = new Date('2026-12-01T00:00:01.000Z');
    const nextDay = await chat(key);

    // Assess
    expect(spent.status).toBe(402);
    expect(spent.message).toMatch(/resets at 2026-12-01T00:00:00.000Z/);
    expect(nextDay.status).toBe(200);
    expect((await gateway.keyInfo(key)).spend_micros).toBe(COST);
  });
});

describe('alerts', () => {
  it('raises one alert when forty concurrent settlements cross 50 %, and one for the soft budget', async () => {
    // Prepare: 40 × 164 = 6,560 µ$ of a 10,000 µ$ budget crosses 50 % (5,000) and the 6,000 soft budget.
    const { key } = await gateway.createKey({ key_alias: 'alerting', max_budget: 0.01, soft_budget: 0.006 });
    notifier.alerts.length = 0;

    // Act
    const statuses = await Promise.all(Array.from({ length: 40 }, async () => (await chat(key)).status));
    await gateway.proxy.drain();

    // Assess
    expect(statuses.every((s) => s === 200)).toBe(true);
    const mine = notifier.alerts.filter((a) => a.details?.label === 'alerting');
    expect(mine.map((a) => a.details?.level).sort()).toEqual([50, 'soft_budget']);
    expect(mine.find((a) => a.details?.level === 50)?.message).toMatch(/50% of its budget/);
  });
});

describe('team rate limits', () => {
  it("counts every key of a team against the team's rpm_limit", async () => {
    // Prepare
    await admin('/team/new', { team_id: 'rpm-team', rpm_limit: 2 });
    const a = await gateway.createKey({ team_id: 'rpm-team' });
    const b = await gateway.createKey({ team_id: 'rpm-team' });

    // Act
    const statuses = [(await chat(a.key)).status, (await chat(b.key)).status];
    const third = await chat(a.key);

    // Assess
    expect(statuses).toEqual([200, 200]);
    expect(third.status).toBe(429);
    expect(third.message).toMatch(/team:rpm-team: 2 of 2 requests per minute/);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('parallel requests', () => {
  let slow: MockUpstream;
  let slowGateway: TestGateway;

  beforeAll(async () => {
    slow = await startMockUpstream({
      script: { delayMs: 300, usage: { input_tokens: 10, output_tokens: 100 } },
    });
    slowGateway = await startTestGateway(slow.url);
  });
  afterAll(async () => {
    await slowGateway?.close();
    await slow?.close();
  });

  it('answers 429 with retry-after past max_parallel_requests, and frees the slots when requests end', async () => {
    // Prepare
    const { key } = await slowGateway.createKey({ key_alias: 'two-at-once', max_parallel_requests: 2 });

    // Act
    const burst = await Promise.all([1, 2, 3].map(() => chat(key, 'gpt-4.1-mini', slowGateway.url)));
    await slowGateway.proxy.drain();
    const after = await chat(key, 'gpt-4.1-mini', slowGateway.url);

    // Assess
    expect(burst.map((r) => r.status).sort()).toEqual([200, 200, 429]);
    const refused = burst.find((r) => r.status === 429);
    expect(refused?.headers.get('retry-after')).toBe('1');
    expect(refused?.message).toMatch(/Parallel request limit reached for key:.*2 requests already in flight/);
    expect(after.status).toBe(200);
  });
});

describe('the org budget', () => {
  let org: TestGateway;

  beforeAll(async () => {
    org = await startTestGateway(mock.url, { TOLLGATE_ORG_MAX_BUDGET: '0.0005' });
  });
  afterAll(async () => {
    await org?.close();
  });

  it('is shared by every key of the deployment, whatever team they are in', async () => {
    // Prepare
    const a = await org.createKey({ key_alias: 'org-a' });
    const b = await org.createKey({ key_alias: 'org-b' });

    // Act
    const statuses = [
      (await chat(a.key, 'gpt-4.1-mini', org.url)).status,
      (await chat(b.key, 'gpt-4.1-mini', org.url)).status,
    ];
    const refused = await chat(b.key, 'gpt-4.1-mini', org.url);

    // Assess
    expect(statuses).toEqual([200, 200]);
    expect(refused.status).toBe(402);
    expect(refused.message).toMatch(/org 'org'/);
  });
});
