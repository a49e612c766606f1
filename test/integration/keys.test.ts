import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogFields, Logger } from '../../functions/core/ports/logging.ts';
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

/**
 * LiteLLM's key routes beyond generate and info: update, delete, block/unblock, regenerate and list,
 * driven over HTTP against the embedded gateway; proxied requests go through the official OpenAI SDK.
 * gpt-4.1 costs 2/8 $ per million tokens, so each request here (1000 in, 100 out) costs 2,800 µ$.
 */
let mock: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream({ script: { usage: { input_tokens: 1000, output_tokens: 100 } } });
  gateway = await startTestGateway(mock.url);
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});

type Body = Record<string, unknown>;
const MASTER = { authorization: `Bearer ${MASTER_KEY}` };

async function call(gw: TestGateway, path: string, body?: unknown, headers: Record<string, string> = MASTER) {
  const response = await fetch(`${gw.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Body };
}
const admin = (path: string, body?: unknown, headers?: Record<string, string>) =>
  call(gateway, path, body, headers);
const info = async (key: string) =>
  (await admin(`/key/info?key=${encodeURIComponent(key)}`)).body.info as Body;
const errorOf = (body: Body) => (body.error as { message: string }).message;

const chat = (gw: TestGateway, key: string, model = 'gpt-4.1') =>
  new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 }).chat.completions
    .create({ model, max_completion_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
    .withResponse();
/** The HTTP status a proxied request answered with. */
const statusOf = async (gw: TestGateway, key: string, model?: string) => {
  try {
    return (await chat(gw, key, model)).response.status;
  } catch (err) {
    return (err as InstanceType<typeof OpenAI.APIError>).status;
  }
};

describe('/key/update', () => {
  it('changes models and budget, and the next request obeys them', async () => {
    const { key } = await gateway.createKey({ key_alias: 'upd-models', models: ['gpt-4.1'] });
    const before = await statusOf(gateway, key, 'gpt-4.1-mini');

    const widened = await admin('/key/update', { key, models: ['gpt-4.1', 'gpt-4.1-mini'], max_budget: 1 });
    const after = await statusOf(gateway, key, 'gpt-4.1-mini');
    await admin('/key/update', { key, max_budget: 0 });
    const broke = await statusOf(gateway, key);

    expect(before).toBe(403);
    expect(widened.status).toBe(200);
    expect(widened.body).toMatchObject({ models: ['gpt-4.1', 'gpt-4.1-mini'], max_budget: 1 });
    expect(after).toBe(200);
    expect(broke).toBe(402);
  });

  it('finds the key by its token too, and changes only the fields given', async () => {
    const { key, token } = await gateway.createKey({
      key_alias: 'upd-fields',
      user_id: 'ursula',
      max_budget: 5,
      tags: ['cli'],
    });
    const { team_id } = await gateway.createTeam({ team_alias: 'upd-team' });

    const updated = await admin('/key/update', {
      key: token,
      key_alias: 'upd-renamed',
      team_id,
      metadata: { owner: 'ursula@example.com' },
      billing_type: 'subscription',
      duration: '30d',
    });

    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      token,
      key_alias: 'upd-renamed',
      user_id: 'ursula',
      team_id,
      max_budget: 5,
      tags: ['cli'],
      metadata: { owner: 'ursula@example.com' },
      billing_type: 'subscription',
      expires: expect.any(String),
    });
    expect(updated.body).not.toHaveProperty('key');
    expect(await info(key)).toEqual(updated.body);
  });
});

describe('/key/delete', () => {
  it('deletes by secret and by token; the keys answer 401 after', async () => {
    const first = await gateway.createKey({ key_alias: 'del-1' });
    const second = await gateway.createKey({ key_alias: 'del-2' });
    const third = await gateway.createKey({ key_alias: 'del-3' });

    const deleted = await admin('/key/delete', { keys: [first.key, second.token] });

    expect(deleted).toEqual({ status: 200, body: { deleted_keys: [first.key, second.token] } });
    expect(await statusOf(gateway, first.key)).toBe(401);
    expect(await statusOf(gateway, second.key)).toBe(401);
    expect((await admin(`/key/info?key=${first.key}`)).status).toBe(404);
    expect(await statusOf(gateway, third.key)).toBe(200);
  });

  it('deletes by alias', async () => {
    const { key } = await gateway.createKey({ key_alias: 'del-by-alias' });

    const deleted = await admin('/key/delete', { key_aliases: ['del-by-alias'] });

    expect(deleted).toEqual({ status: 200, body: { deleted_keys: ['del-by-alias'] } });
    expect(await statusOf(gateway, key)).toBe(401);
  });

  it('deletes nothing when one of the keys is unknown, and names it without echoing a secret', async () => {
    const { key } = await gateway.createKey({ key_alias: 'del-survivor' });
    const unknown = 'sk-tg-neverissuedneverissued1234';

    const answer = await admin('/key/delete', { keys: [key, unknown] });
    const byAlias = await admin('/key/delete', { key_aliases: ['del-survivor', 'no-such-alias'] });

    expect(answer.status).toBe(404);
    expect(errorOf(answer.body)).toMatch(/No key 'sk-tg-\.\.\.1234': nothing was deleted/);
    expect(errorOf(answer.body)).not.toContain(unknown);
    expect(byAlias.status).toBe(404);
    expect(errorOf(byAlias.body)).toMatch(/'no-such-alias'/);
    expect(await statusOf(gateway, key)).toBe(200);
  });
});

describe('/key/block and /key/unblock', () => {
  it('blocks a key (403 on the proxy) and unblocks it again', async () => {
    const { key } = await gateway.createKey({ key_alias: 'blockable' });

    const blocked = await admin('/key/block', { key });
    const whileBlocked = await statusOf(gateway, key);
    const unblocked = await admin('/key/unblock', { key });
    const afterwards = await statusOf(gateway, key);

    expect(blocked.body).toMatchObject({ key_alias: 'blockable', blocked: true });
    expect(whileBlocked).toBe(403);
    expect(unblocked.body).toMatchObject({ key_alias: 'blockable', blocked: false });
    expect(afterwards).toBe(200);
  });

  it('takes the master key in x-api-key as well', async () => {
    const { key } = await gateway.createKey({ key_alias: 'blocked-via-x-api-key' });

    const blocked = await admin('/key/block', { key }, { 'x-api-key': MASTER_KEY });

    expect(blocked.status).toBe(200);
    expect(await statusOf(gateway, key)).toBe(403);
  });
});

describe('/key/regenerate', () => {
  it('issues a new secret for the same key: the old one stops, spend and budget carry over', async () => {
    const created = await gateway.createKey({ key_alias: 'regen', user_id: 'rita', max_budget: 0.0028 });
    const { response } = await chat(gateway, created.key);
    const firstRecord = await gateway.record(response.headers.get('x-tollgate-request-id') ?? '');

    const regenerated = await admin('/key/regenerate', { key: created.key });
    const secret = String(regenerated.body.key);

    expect(regenerated.status).toBe(200);
    expect(secret).toMatch(/^sk-tg-/);
    expect(secret).not.toBe(created.key);
    expect(regenerated.body).toMatchObject({
      key_id: firstRecord.key_id,
      key_alias: 'regen',
      user_id: 'rita',
      max_budget: 0.0028,
      spend_micros: 2_800,
    });
    expect(regenerated.body.token).not.toBe(created.token);
    expect(await statusOf(gateway, created.key)).toBe(401);
    expect(await info(secret)).toMatchObject({ spend_micros: 2_800 });
    // The budget was spent under the old secret; the new one draws on the same counter.
    expect(await statusOf(gateway, secret)).toBe(402);
  });

  it('takes the key in the path, and the new secret works', async () => {
    const created = await gateway.createKey({ key_alias: 'regen-path' });
    const { response } = await chat(gateway, created.key);
    const before = await gateway.record(response.headers.get('x-tollgate-request-id') ?? '');

    const regenerated = await admin(`/key/${created.token}/regenerate`, {});
    const secret = String(regenerated.body.key);
    const after = await chat(gateway, secret);
    const record = await gateway.record(after.response.headers.get('x-tollgate-request-id') ?? '');

    expect(regenerated.status).toBe(200);
    expect(after.response.status).toBe(200);
    expect(record.key_id).toBe(before.key_id);
    expect(await info(secret)).toMatchObject({ spend_micros: 5_600 });
    expect((await admin(`/key/${created.key}/regenerate`, {})).status).toBe(404);
  });

  it('applies the fields it is given along with the new secret', async () => {
    const created = await gateway.createKey({ key_alias: 'regen-fields', max_budget: 1 });

    const regenerated = await admin('/key/regenerate', { key: created.key, max_budget: 2, key_alias: 'r2' });

    expect(regenerated.body).toMatchObject({ max_budget: 2, key_alias: 'r2' });
    expect(await info(String(regenerated.body.key))).toMatchObject({ max_budget: 2, key_alias: 'r2' });
  });
});

describe('/key/list', () => {
  const secrets: string[] = [];
  let team_id: string;

  beforeAll(async () => {
    ({ team_id } = await gateway.createTeam({ team_alias: 'list-team' }));
    for (const body of [
      { key_alias: 'list-1', user_id: 'lister' },
      { key_alias: 'list-2', user_id: 'lister', team_id },
      { key_alias: 'list-3', user_id: 'lister' },
      { key_alias: 'list-other', user_id: 'someone-else' },
    ])
      secrets.push((await gateway.createKey(body)).key);
  });

  it("filters by user and pages through LiteLLM's shape, newest first", async () => {
    const first = await admin('/key/list?user_id=lister&size=2');
    const second = await admin('/key/list?user_id=lister&size=2&page=2');
    const beyond = await admin('/key/list?user_id=lister&size=2&page=3');

    expect(first.body).toMatchObject({ total_count: 3, current_page: 1, total_pages: 2 });
    expect(second.body).toMatchObject({ total_count: 3, current_page: 2, total_pages: 2 });
    const aliases = [...(first.body.keys as Body[]), ...(second.body.keys as Body[])].map((k) => k.key_alias);
    expect(aliases.sort()).toEqual(['list-1', 'list-2', 'list-3']);
    expect((first.body.keys as Body[])[0]?.created_at).toBeDefined();
    expect(beyond.body).toMatchObject({ keys: [], total_count: 3, current_page: 3 });
  });

  it('filters by team and by alias, and never shows a secret', async () => {
    const byTeam = await admin(`/key/list?team_id=${team_id}`);
    const byAlias = await admin('/key/list?key_alias=list-3');
    const all = await admin('/key/list?size=100');

    expect((byTeam.body.keys as Body[]).map((k) => k.key_alias)).toEqual(['list-2']);
    expect((byAlias.body.keys as Body[]).map((k) => k.user_id)).toEqual(['lister']);
    expect((all.body.keys as Body[]).map((k) => k.key_alias)).toEqual(
      expect.arrayContaining(['list-1', 'list-2', 'list-3', 'list-other']),
    );
    const text = JSON.stringify(all.body);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(all.body.keys as Body[]).not.toContainEqual(expect.objectContaining({ key: expect.anything() }));
  });

  it.each([
    ['size=0', /size/],
    ['size=1000', /size/],
    ['page=0', /page/],
    ['page=two', /page/],
  ])('answers ?%s with a clear 400', async (query, message) => {
    const answer = await admin(`/key/list?${query}`);

    expect(answer.status).toBe(400);
    expect(errorOf(answer.body)).toMatch(message);
  });
});

describe('bad input changes nothing', () => {
  let target: { key: string; token: string };

  beforeAll(async () => {
    target = await gateway.createKey({ key_alias: 'target', max_budget: 3, models: ['gpt-4.1'] });
  });

  it.each<[string, string, (key: string) => unknown, number, RegExp]>([
    ['a negative budget', '/key/update', (key) => ({ key, max_budget: -1 }), 400, /max_budget/],
    ['a budget given as text', '/key/update', (key) => ({ key, max_budget: 'lots' }), 400, /max_budget/],
    ['models given as a string', '/key/update', (key) => ({ key, models: 'gpt-4.1' }), 400, /models/],
    ['an unknown team', '/key/update', (key) => ({ key, team_id: 'nope' }), 400, /No team 'nope'/],
    [
      'a bad budget_duration',
      '/key/update',
      (key) => ({ key, budget_duration: '5 days' }),
      400,
      /budget_duration/,
    ],
    ['blocked given as text', '/key/update', (key) => ({ key, blocked: 'yes' }), 400, /blocked/],
    ['an update without a key', '/key/update', () => ({ max_budget: 1 }), 400, /key/],
    ['an unknown key', '/key/update', () => ({ key: 'sk-tg-unknown', max_budget: 1 }), 404, /No key/],
    ['a key given as a number', '/key/block', () => ({ key: 42 }), 400, /key/],
    ['a block of an unknown key', '/key/block', () => ({ key: 'f'.repeat(64) }), 404, /No key/],
    ['an unblock without a key', '/key/unblock', () => ({}), 400, /key/],
    ['a regenerate of an unknown key', '/key/regenerate', () => ({ key: 'sk-tg-nope' }), 404, /No key/],
    [
      'a regenerate with a negative budget',
      '/key/regenerate',
      (key) => ({ key, max_budget: -5 }),
      400,
      /max_budget/,
    ],
    ['a regenerate without a key', '/key/regenerate', () => ({}), 400, /Pass the key/],
    ['a delete with no keys', '/key/delete', () => ({ keys: [] }), 400, /keys/],
    ['a delete of keys given as a string', '/key/delete', (key) => ({ keys: key }), 400, /keys/],
    ['a delete naming nothing', '/key/delete', () => ({}), 400, /keys or key_aliases/],
    ['a body that is not JSON', '/key/update', () => '{"key":', 400, /not valid JSON/],
  ])('answers %s with a clear %i', async (_name, path, body, status, message) => {
    const before = await info(target.key);

    const answer = await admin(path, body(target.key));

    expect(answer.status).toBe(status);
    expect(errorOf(answer.body)).toMatch(message);
    expect(await info(target.key)).toEqual(before);
  });

  it.each([
    ['POST', '/key/update', { max_budget: 0 }],
    ['POST', '/key/block', {}],
    ['POST', '/key/regenerate', {}],
    ['POST', '/key/delete', undefined],
    ['GET', '/key/list', undefined],
  ])(
    'refuses %s %s without the master key, with a virtual key, and changes nothing',
    async (method, path, extra) => {
      const { key: intruder } = await gateway.createKey({ key_alias: `intruder-${path}` });
      const body =
        method === 'GET'
          ? undefined
          : JSON.stringify(extra ? { key: target.key, ...extra } : { keys: [target.key] });
      const before = await info(target.key);

      const anonymous = await fetch(`${gateway.url}${path}`, { method, body });
      const asKey = await fetch(`${gateway.url}${path}`, {
        method,
        body,
        headers: { authorization: `Bearer ${intruder}` },
      });
      const asOwnKey = await fetch(`${gateway.url}${path}`, {
        method,
        body,
        headers: { 'x-api-key': target.key },
      });

      // 401 without a key; 403 for a key that is not the master key and belongs to no person.
      expect([anonymous.status, asKey.status, asOwnKey.status]).toEqual([401, 403, 403]);
      expect(((await asKey.json()) as Body).error).toMatchObject({
        message: expect.stringMatching(/master key|self-service/),
      });
      expect(await info(target.key)).toEqual(before);
      expect(await statusOf(gateway, target.key)).toBe(200);
    },
  );
});

describe('with the key cache on', () => {
  let cached: TestGateway;
  const logged: Array<{ msg: string; fields: LogFields }> = [];
  const log: Logger = {
    debug() {},
    info: (msg, fields = {}) => void logged.push({ msg, fields }),
    warn() {},
    error() {},
  };

  beforeAll(async () => {
    cached = await startTestGateway(mock.url, { TOLLGATE_KEY_CACHE_MS: '60000' }, { log });
  });
  afterAll(async () => {
    await cached?.close();
  });

  it('revokes, regenerates and deletes at once in one process, and logs each action without a secret', async () => {
    const { key } = await cached.createKey({ key_alias: 'cached' });
    const warm = await statusOf(cached, key);

    await call(cached, '/key/block', { key });
    const blocked = await statusOf(cached, key);
    await call(cached, '/key/unblock', { key });
    const regenerated = await call(cached, '/key/regenerate', { key });
    const secret = String(regenerated.body.key);
    const oldAfterRegenerate = await statusOf(cached, key);
    const newAfterRegenerate = await statusOf(cached, secret);
    await call(cached, '/key/delete', { keys: [secret] });
    const deleted = await statusOf(cached, secret);

    expect([warm, blocked, oldAfterRegenerate, newAfterRegenerate, deleted]).toEqual([
      200, 403, 401, 200, 401,
    ]);
    const key_id = regenerated.body.key_id;
    const actions = logged
      .filter((l) => l.msg === 'admin.audit')
      .map((l) => [l.fields.action, l.fields.target, l.fields.actor]);
    const master = { type: 'master' };
    expect(actions).toEqual([
      ['key.generate', `key:${key_id}`, master],
      ['key.block', `key:${key_id}`, master],
      ['key.unblock', `key:${key_id}`, master],
      ['key.regenerate', `key:${key_id}`, master],
      ['key.delete', `key:${key_id}`, master],
    ]);
    expect(JSON.stringify(logged)).not.toContain(key);
    expect(JSON.stringify(logged)).not.toContain(secret);
  });
});
