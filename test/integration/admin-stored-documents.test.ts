import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../functions/adapters/local/dynalite.ts';
import type { LogFields, Logger } from '../../functions/core/ports/logging.ts';
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

/**
 * A stored record the gateway can no longer read as written (a budget period that cannot be computed,
 * JSON that does not parse) never fails a listing or a report: it is shown with `invalid`, left out of
 * budget status, logged as a warning, and an admin can still delete it.
 */
const TABLE = 'tollgate';
const BAD_PERIOD = '999999999999mo';
let mock: MockUpstream;
let dynamo: LocalDynamo;
let raw: DynamoDBClient;
let gateway: TestGateway;
let ownKey: string;
let foreverToken: string;
let foreverKey: string;
const warnings: Array<{ msg: string; fields: LogFields }> = [];
const log: Logger = {
  debug() {},
  info() {},
  warn: (msg, fields = {}) => void warnings.push({ msg, fields }),
  error() {},
};

// biome-ignore lint/suspicious/noExplicitAny: answers are read loosely in assertions
async function get(path: string, key = MASTER_KEY): Promise<{ status: number; body: any }> {
  const response = await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: response.status, body: await response.json() };
}

async function post(path: string, body: unknown) {
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const put = (item: Record<string, string>) =>
  raw.send(
    new PutItemCommand({
      TableName: TABLE,
      Item: Object.fromEntries(Object.entries(item).map(([name, value]) => [name, { S: value }])),
    }),
  );

beforeAll(async () => {
  mock = await startMockUpstream();
  dynamo = await startDynalite();
  raw = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  gateway = await startTestGateway(mock.url, { TOLLGATE_DYNAMODB_ENDPOINT: dynamo.endpoint }, { log });
  await post('/team/new', { team_id: 'core', max_budget: 10 });
  await post('/team/new', { team_id: 'drift', max_budget: 10 });
  await post('/user/new', { user_id: 'dana', max_budget: 5, auto_create_key: false });
  await post('/user/new', { user_id: 'zed', max_budget: 5, auto_create_key: false });
  ownKey = (await gateway.createKey({ key_alias: 'dana-cli', user_id: 'dana', team_id: 'core' })).key;
  ({ token: foreverToken, key: foreverKey } = await gateway.createKey({
    key_alias: 'forever',
    user_id: 'dana',
    max_budget: 1,
  }));

  // Straight into the store, as an older gateway or a hand edit might have left them.
  const { keys, teams, users } = gateway.stores;
  const forever = await keys.get(foreverToken);
  await keys.update({ ...forever!, budget_duration: BAD_PERIOD });
  await teams.update({ ...(await teams.get('drift'))!, budget_duration: BAD_PERIOD });
  await users.update({ ...(await users.get('zed'))!, budget_duration: BAD_PERIOD });
  await put({ pk: 'TEAMS', sk: 'garbled', doc_json: '{"team_id": "garbled", ' });
  await put({ pk: 'USERS', sk: 'mangled', doc_json: 'not json' });
  await put({ pk: 'ROUTES', sk: 'r-garbled', doc_json: '{"id":' });
  await put({ pk: `KEY#${'f'.repeat(64)}`, sk: 'KEY', key_id: 'k-garbled' });
  await put({
    pk: 'KEYS',
    sk: 'k-garbled',
    key_id: 'k-garbled',
    hash: 'f'.repeat(64),
    user_id: 'dana',
    model_max_budget_json: '{oops',
  });
});
afterAll(async () => {
  await gateway?.close();
  await dynamo?.close();
  await mock?.close();
});

describe('the proxy, on a key whose stored budget period cannot be computed', () => {
  it('refuses with a 403 in the protocol shape that says an admin must fix it, and records the refusal', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${foreverKey}` },
      body: JSON.stringify({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });

    expect(response.status).toBe(403);
    const body = (await response.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe('permission_error');
    expect(body.error.message).toMatch(/budget_duration/);
    const record = await gateway.record(String(response.headers.get('x-tollgate-request-id')));
    expect(record).toMatchObject({ outcome: 'denied', status: 403, cost_micros: 0 });
  });
});

describe('stored records that no longer read as written', () => {
  it('lists every key, the unreadable ones marked invalid', async () => {
    // Act
    const { status, body } = await get('/key/list?size=100');

    // Assess
    expect(status).toBe(200);
    const byAlias = new Map(
      body.keys.map((k: { key_alias: string; key_id: string }) => [k.key_alias ?? k.key_id, k]),
    );
    expect(byAlias.get('forever')).toMatchObject({ invalid: expect.stringMatching(/budget_duration/) });
    expect(byAlias.get('k-garbled')).toMatchObject({ invalid: expect.stringMatching(/model_max_budget/) });
    expect(byAlias.get('dana-cli')).not.toHaveProperty('invalid');
  });

  it("answers a person's own listing, info and page", async () => {
    // Act
    const [list, info, me] = await Promise.all([
      get('/key/list', ownKey),
      get('/user/info', ownKey),
      get('/api/me', ownKey),
    ]);

    // Assess
    expect([list.status, info.status, me.status]).toEqual([200, 200, 200]);
    expect(info.body.keys).toHaveLength(3);
    expect(me.body.keys.filter((k: { invalid?: string }) => k.invalid)).toHaveLength(2);
    expect(me.body.budgets.map((b: { label: string }) => b.label)).not.toContain('forever');
  });

  it('answers the key info of an unreadable key', async () => {
    // Act
    const { status, body } = await get(`/key/info?key=${foreverToken}`);

    // Assess
    expect(status).toBe(200);
    expect(body.info.invalid).toMatch(/budget_duration/);
  });

  it('lists teams, people and routing rules, the unreadable ones marked invalid', async () => {
    // Act
    const [teams, users, rules] = await Promise.all([
      get('/team/list'),
      get('/user/list'),
      get('/routing/rules'),
    ]);

    // Assess
    expect([teams.status, users.status, rules.status]).toEqual([200, 200, 200]);
    const invalid = (list: Array<Record<string, unknown>>, id: string) =>
      list.filter((d) => d.invalid).map((d) => d[id]);
    expect(invalid(teams.body, 'team_id').sort()).toEqual(['drift', 'garbled']);
    expect(invalid(users.body.users, 'user_id').sort()).toEqual(['mangled', 'zed']);
    expect(invalid(rules.body.rules, 'id')).toEqual(['r-garbled']);
  });

  it('builds the org rollup without the budgets it cannot compute, and says so in the log', async () => {
    // Act
    const { status, body } = await get('/api/rollup');

    // Assess
    expect(status).toBe(200);
    const labels = body.budgets.map((b: { label: string }) => b.label);
    expect(labels).toEqual(expect.arrayContaining(['core', 'dana']));
    expect(labels).not.toContain('forever');
    expect(labels).not.toContain('drift');
    expect(labels).not.toContain('zed');
    const logged = warnings.map((w) => JSON.stringify(w));
    for (const id of ['drift', 'zed', 'garbled', 'mangled', 'r-garbled', 'k-garbled'])
      expect(logged.some((line) => line.includes(id))).toBe(true);
  });

  it('refuses to change a record it cannot read, which would overwrite what is left of it', async () => {
    // Act
    const answer = await post('/team/update', { team_id: 'garbled', max_budget: 3 });

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toMatch(/cannot be read back/);
  });

  it('lets an admin mend a stored budget period by setting a new one', async () => {
    // Act
    const mended = await post('/user/update', { user_id: 'zed', budget_duration: 'monthly' });
    const { body } = await get('/user/list');

    // Assess
    expect(mended.status).toBe(200);
    const zed = body.users.find((u: { user_id: string }) => u.user_id === 'zed');
    expect(zed).not.toHaveProperty('invalid');
    expect(zed.spend_micros).toBe(0);
  });

  it('lets an admin delete the unreadable records', async () => {
    // Act
    const deletedKeys = await post('/key/delete', { keys: [foreverToken, 'f'.repeat(64)] });
    const deletedTeams = await post('/team/delete', { team_ids: ['drift', 'garbled'] });
    const deletedUsers = await post('/user/delete', { user_ids: ['zed', 'mangled'] });
    const deletedRule = await fetch(`${gateway.url}/routing/rules/r-garbled`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${MASTER_KEY}` },
    });

    // Assess
    expect([deletedKeys.status, deletedTeams.status, deletedUsers.status, deletedRule.status]).toEqual([
      200, 200, 200, 200,
    ]);
    const { body } = await get('/key/list?size=100');
    expect(body.keys.map((k: { key_alias: string }) => k.key_alias)).toEqual(['dana-cli']);
  });
});
