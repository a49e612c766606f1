import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

/**
 * A person manages their own keys with their own key: list, create, revoke — bounded by their own
 * budget and models, blind to everyone else's keys, never needing the master key; all audited.
 */
let mock: MockUpstream;
let gateway: TestGateway;
let alice: string;
let bobKey: string;

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startTestGateway(mock.url);
  await call('/team/new', { team_id: 'web', max_budget: 100 });
  const created = await call('/user/new', {
    user_id: 'alice',
    max_budget: 20,
    teams: ['web'],
    models: ['gpt-4.1-mini', 'claude-haiku-4-5'],
  });
  alice = String(created.body.key);
  bobKey = String((await call('/user/new', { user_id: 'bob' })).body.key);
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

const chatStatus = async (key: string) =>
  (
    await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'hi' }] }),
    })
  ).status;

describe('self-service keys', () => {
  it("creates a key for the caller's own person and team, with their models, and it works", async () => {
    // Act
    const made = await call('/key/generate', { key_alias: 'alice-laptop', max_budget: 5 }, alice);

    // Assess
    expect(made.status).toBe(200);
    expect(made.body).toMatchObject({ user_id: 'alice', team_id: 'web', max_budget: 5 });
    expect(made.body.models).toEqual(['gpt-4.1-mini', 'claude-haiku-4-5']);
    expect(await chatStatus(String(made.body.key))).toBe(200);
  });

  it.each([
    ['for someone else', { user_id: 'bob' }, /must be yours/],
    ['in another team', { team_id: 'other' }, /stays in your team/],
    ['with a model their key lacks', { models: ['claude-opus-4-5'] }, /not claude-opus-4-5/],
    ['above their own budget', { max_budget: 21 }, /budget above your own/],
    ['on a flat-rate plan', { billing_type: 'subscription' }, /billed as yours is/],
  ])('refuses a key %s with 403 and creates nothing', async (_name, body, message) => {
    // Prepare
    const before = (await call('/key/list?size=100', undefined, alice)).body.total_count;

    // Act
    const refused = await call('/key/generate', body, alice);

    // Assess
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(message);
    expect((await call('/key/list?size=100', undefined, alice)).body.total_count).toBe(before);
  });

  it("takes what it leaves unset from the caller: the person's budget, and no later expiry than the caller's key", async () => {
    // Prepare: Eli's key expires in a day; the key Eli makes asks for no budget and no expiry.
    await call('/user/new', { user_id: 'eli', max_budget: 7, auto_create_key: false });
    const eli = (await gateway.createKey({ user_id: 'eli', duration: '1d', rpm_limit: 30 })).key;
    const callerInfo = await call(`/key/info?key=${encodeURIComponent(eli)}`);

    // Act
    const made = await call('/key/generate', { key_alias: 'eli-2', duration: '30d' }, eli);

    // Assess
    expect(made.status).toBe(200);
    expect(made.body).toMatchObject({ max_budget: 7, rpm_limit: 30, expires: callerInfo.body.info.expires });
  });

  it('refuses a person their twenty-first key', async () => {
    // Prepare: Fay (with a budget, without which she could issue none) holds the first key (from
    // /user/new) and makes nineteen more.
    const fay = String((await call('/user/new', { user_id: 'fay', max_budget: 10 })).body.key);
    for (let i = 0; i < 19; i++) expect((await call('/key/generate', {}, fay)).status).toBe(200);

    // Act
    const refused = await call('/key/generate', {}, fay);

    // Assess
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/key number 21; the most is 20/);
  });

  it("lists only the caller's keys, never another person's", async () => {
    // Act
    const mine = await call('/key/list?size=100', undefined, alice);
    const asking = await call('/key/list?size=100&user_id=bob', undefined, alice);

    // Assess
    expect(mine.body.keys.length).toBeGreaterThanOrEqual(2);
    expect(mine.body.keys.every((k: { user_id: string }) => k.user_id === 'alice')).toBe(true);
    expect(asking.body.keys).toEqual([]);
  });

  it("cannot see, revoke or delete another person's key, which keeps working", async () => {
    // Act
    const info = await call(`/key/info?key=${encodeURIComponent(bobKey)}`, undefined, alice);
    const block = await call('/key/block', { key: bobKey }, alice);
    const remove = await call('/key/delete', { keys: [bobKey] }, alice);
    const userInfo = await call('/user/info?user_id=bob', undefined, alice);

    // Assess
    expect([info.status, block.status, remove.status, userInfo.status]).toEqual([404, 404, 404, 404]);
    expect(await chatStatus(bobKey)).toBe(200);
  });

  it('revokes and deletes its own keys, but only an admin may unblock one', async () => {
    // Prepare
    const spare = String((await call('/key/generate', { key_alias: 'alice-spare' }, alice)).body.key);

    // Act
    const block = await call('/key/block', { key: spare }, alice);
    const blockedStatus = await chatStatus(spare);
    const unblock = await call('/key/unblock', { key: spare }, alice);
    const remove = await call('/key/delete', { keys: [spare] }, alice);

    // Assess
    expect([block.status, blockedStatus, unblock.status, remove.status]).toEqual([200, 403, 403, 200]);
    expect(await chatStatus(spare)).toBe(401);
  });

  it('reads its own person, and is refused every admin route with 403', async () => {
    // Act
    const own = await call('/user/info', undefined, alice);
    const admin = await Promise.all([
      call('/team/new', { team_id: 'mine' }, alice),
      call('/user/new', { user_id: 'eve' }, alice),
      call('/key/update', { key: alice, max_budget: 1000 }, alice),
      call('/team/list', undefined, alice),
      call('/spend/logs', undefined, alice),
      call('/audit/log', undefined, alice),
    ]);

    // Assess
    expect(own.body.user_id).toBe('alice');
    expect(admin.map((r) => r.status)).toEqual([403, 403, 403, 403, 403, 403]);
    expect((await call('/team/info?team_id=mine')).status).toBe(404);
    expect((await call('/user/info?user_id=eve')).status).toBe(404);
  });

  it('leaves who did what in the audit trail, never a secret', async () => {
    // Act
    const { body } = await call('/audit/log?limit=500');

    // Assess
    const entries = body.entries as Array<{ actor: Record<string, string>; action: string; target: string }>;
    const byAlice = entries.filter((e) => e.actor.type === 'user' && e.actor.user_id === 'alice');
    expect(byAlice.map((e) => e.action).sort()).toEqual(
      ['key.block', 'key.delete', 'key.generate', 'key.generate'].sort(),
    );
    expect(entries.some((e) => e.action === 'user.new' && e.target === 'user:alice')).toBe(true);
    expect(JSON.stringify(body)).not.toContain(alice);
    expect(JSON.stringify(body)).not.toContain(bobKey);
  });
});
