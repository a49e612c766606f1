import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../functions/core/usage/record.ts';
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

/**
 * Self-service never raises what a person can spend: whatever keys they issue themselves, their total
 * settled spend stays within the budget an admin set for them — their user budget, or else the budget
 * of the key they were given.
 *
 * gpt-4.1-mini ($0.40 in, $1.60 out per M), the mock answering 10 prompt and 100 output tokens: each
 * request costs 4 + 160 = 164 µ$, and reserves about 184 µ$. A $0.002 budget pays for about a dozen.
 */
const LIMIT_USD = 0.002;
const LIMIT_MICROS = 2_000;

let mock: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream({ script: { usage: { input_tokens: 10, output_tokens: 100 } } });
  gateway = await startTestGateway(mock.url);
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});

async function call(path: string, body?: unknown, key = MASTER_KEY) {
  const response = await fetch(`${gateway.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: answers are read loosely in assertions
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function chat(key: string) {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'gpt-4.1-mini',
      max_completion_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
    }),
  });
  const body = (await response.json()) as { error?: { message: string } };
  return { status: response.status, message: body.error?.message ?? '' };
}

/** A person (a user record, with `user` settings) and the key an admin gave them. */
async function personWithKey(
  user_id: string,
  key: Record<string, unknown>,
  user: Record<string, unknown> = {},
) {
  expect((await call('/user/new', { user_id, auto_create_key: false, ...user })).status).toBe(200);
  return (await gateway.createKey({ user_id, ...key })).key;
}

/** Issues a key with the caller's key; fails the test unless it is made. */
async function issue(caller: string, body: Record<string, unknown> = {}) {
  const made = await call('/key/generate', body, caller);
  expect(made.status, JSON.stringify(made.body)).toBe(200);
  return String(made.body.key);
}

/**
 * Spends through every key until each is refused: first a concurrent storm over all of them, then
 * rounds one key at a time. Answers every status seen.
 */
async function spendThroughAll(keys: string[]): Promise<number[]> {
  const statuses = await Promise.all(keys.flatMap((key) => [1, 2, 3, 4].map(() => chat(key))));
  const seen = statuses.map((s) => s.status);
  for (let round = 0; round < 20; round++) {
    const served = [];
    for (const key of keys) served.push((await chat(key)).status);
    seen.push(...served);
    if (served.every((s) => s !== 200)) break;
  }
  await gateway.proxy.drain();
  return seen;
}

async function recordsOf(user_id: string): Promise<UsageRecord[]> {
  return (await gateway.records()).filter((r) => r.user_id === user_id);
}

const total = (records: UsageRecord[]) => records.reduce((sum, r) => sum + r.cost_micros, 0);

/** Each key's own counter is the sum of its records, and nothing is left reserved on it. */
async function expectCountersMatchRecords(keys: string[], records: UsageRecord[]) {
  for (const key of keys) {
    const info = (await gateway.keyInfo(key)) as Awaited<ReturnType<TestGateway['keyInfo']>> & {
      key_id: string;
    };
    expect(info.reserved_micros).toBe(0);
    expect(info.spend_micros).toBe(total(records.filter((r) => r.key_id === info.key_id)));
  }
}

describe('a person with no user budget, whose key is capped', () => {
  it('cannot make a key whose budget resets every second', async () => {
    // Prepare
    const given = await personWithKey('ivy-1s', { max_budget: LIMIT_USD, budget_duration: '1mo' });

    // Act
    const refused = await call('/key/generate', { max_budget: LIMIT_USD, budget_duration: '1s' }, given);

    // Assess
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/budget_duration/);
  });

  it("spends at most the given key's budget through all the keys she issues herself, concurrently and in turn", async () => {
    // Prepare: the tester's attack — five keys with defaults, one of them issued by another self-issued key.
    const given = await personWithKey('ivy', { max_budget: LIMIT_USD, budget_duration: '1mo' });
    const own = [await issue(given), await issue(given), await issue(given), await issue(given)];
    own.push(await issue(own[0] as string));
    const keys = [given, ...own];
    const givenInfo = (await call(`/key/info?key=${encodeURIComponent(given)}`)).body.info;
    const grandchild = (await call(`/key/info?key=${encodeURIComponent(own[4] as string)}`)).body.info;
    expect([givenInfo.budget_parent, grandchild.budget_parent]).toEqual([null, givenInfo.key_id]);

    // Act
    const statuses = await spendThroughAll(keys);

    // Assess
    const records = await recordsOf('ivy');
    expect(statuses.filter((s) => s !== 200).every((s) => s === 402)).toBe(true);
    expect(records).toHaveLength(statuses.length);
    expect(new Set(records.map((r) => r.request_id)).size).toBe(statuses.length);
    expect(total(records)).toBeLessThanOrEqual(LIMIT_MICROS);
    expect(total(records)).toBeGreaterThan(LIMIT_MICROS / 2);
    await expectCountersMatchRecords(own, records);
    // The given key's counter is the pot every key of hers draws on.
    const pot = await gateway.keyInfo(given);
    expect(pot.spend_micros).toBe(total(records));
    expect(pot.reserved_micros).toBe(0);
  });

  it('keeps within the lowered budget when an admin lowers the given key afterwards', async () => {
    // Prepare
    const given = await personWithKey('lea', { max_budget: LIMIT_USD, budget_duration: '1mo' });
    const own = await issue(given);
    expect((await call('/key/update', { key: given, max_budget: 0.0005 })).status).toBe(200);

    // Act
    const statuses = await spendThroughAll([own, given]);

    // Assess
    const records = await recordsOf('lea');
    expect(records).toHaveLength(statuses.length);
    expect(total(records)).toBeLessThanOrEqual(500);
    expect(total(records)).toBeGreaterThan(0);
  });

  it.each([
    ['its budget is removed', (given: string) => call('/key/update', { key: given, max_budget: null })],
    ['it is revoked', (given: string) => call('/key/block', { key: given })],
    ['it is deleted', (given: string) => call('/key/delete', { keys: [given] })],
  ])('stops the keys she issued when the given key %s', async (name, change) => {
    // Prepare
    const user_id = `mia-${name.split(' ').at(-1)}`;
    const given = await personWithKey(user_id, { max_budget: LIMIT_USD, budget_duration: '1mo' });
    const own = await issue(given);
    expect((await chat(own)).status).toBe(200);

    // Act
    expect((await change(given)).status).toBe(200);
    const refused = await chat(own);

    // Assess
    expect(refused.status).toBe(403);
    expect(refused.message).toMatch(/issued from/);
    await gateway.proxy.drain();
    expect(await recordsOf(user_id)).toHaveLength(2);
  });
});

describe('a person with a user budget', () => {
  it('spends at most the user budget through all the keys she issues herself', async () => {
    // Prepare: the given key has no budget; the person's does.
    const given = await personWithKey('una', {}, { max_budget: LIMIT_USD, budget_duration: '1mo' });
    const own = [];
    for (let i = 0; i < 5; i++) own.push(await issue(given));
    const keys = [given, ...own];

    // Act
    const statuses = await spendThroughAll(keys);

    // Assess
    const records = await recordsOf('una');
    expect(records).toHaveLength(statuses.length);
    expect(total(records)).toBeLessThanOrEqual(LIMIT_MICROS);
    expect(total(records)).toBeGreaterThan(LIMIT_MICROS / 2);
    await expectCountersMatchRecords(keys, records);
    const user = await call('/user/info?user_id=una');
    expect(user.body.user_info.spend_micros).toBe(total(records));
  });

  it('falls back to the given key when the user budget is removed, and keeps within it', async () => {
    // Prepare: both budgets; the person spends some, then an admin removes the user budget.
    const given = await personWithKey(
      'ula',
      { max_budget: LIMIT_USD, budget_duration: '1mo' },
      { max_budget: 1, budget_duration: '1mo' },
    );
    const own = await issue(given);
    expect((await call('/user/update', { user_id: 'ula', max_budget: null })).status).toBe(200);

    // Act
    const statuses = await spendThroughAll([own, given]);

    // Assess
    const records = await recordsOf('ula');
    expect(records).toHaveLength(statuses.length);
    expect(total(records)).toBeLessThanOrEqual(LIMIT_MICROS);
  });

  it('may give a key her budget period, or none, and a budget given without one resets with hers', async () => {
    // Prepare
    const given = await personWithKey('uli', {}, { max_budget: 1, budget_duration: 'monthly' });

    // Act
    const same = await call('/key/generate', { max_budget: 0.5, budget_duration: 'monthly' }, given);
    const lifetime = await call('/key/generate', { max_budget: 0.5, budget_duration: null }, given);
    const unset = await call('/key/generate', { max_budget: 0.5 }, given);
    const shorter = await call('/key/generate', { max_budget: 0.5, budget_duration: 'daily' }, given);
    const window = await call('/key/generate', { max_budget: 0.5, budget_duration: '1mo' }, given);

    // Assess
    expect([same.status, lifetime.status, unset.status]).toEqual([200, 200, 200]);
    expect([same.body.budget_duration, lifetime.body.budget_duration, unset.body.budget_duration]).toEqual([
      'monthly',
      null,
      'monthly',
    ]);
    expect([shorter.status, window.status]).toEqual([403, 403]);
    expect(shorter.body.error.message).toMatch(/budget_duration 'monthly'.*not 'daily'/);
  });
});

describe('a person with no budget at all', () => {
  it('cannot issue keys, and is told why', async () => {
    // Prepare: neither the person nor the key they were given has a budget.
    const given = await personWithKey('noa', {});

    // Act
    const refused = await call('/key/generate', {}, given);

    // Assess
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/no budget/);
    expect((await call('/key/list?user_id=noa')).body.total_count).toBe(1);
  });
});
