import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

/** Teams: LiteLLM's routes, a budget shared by the team's keys, and its model allow-list. */
const run = promisify(execFile);
let mock: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream({ script: { usage: { input_tokens: 1000, output_tokens: 500 } } });
  // The commands from the issue name port 4000 and the master key sk-master, so this server uses both.
  gateway = await startTestGateway(mock.url, { TOLLGATE_PORT: '4000', TOLLGATE_MASTER_KEY: 'sk-master' });
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});

const admin = async (path: string, body?: unknown) => {
  const response = await fetch(`${gateway.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: 'Bearer sk-master' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};
const chat = (key: string, model = 'gpt-4.1') =>
  new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 }).chat.completions.create({
    model,
    max_completion_tokens: 100,
    messages: [{ role: 'user', content: 'hi' }],
  });

describe('the documented curl commands, verbatim', () => {
  it('create a team, a key, and a key in that team', async () => {
    const team = await run('sh', [
      '-c',
      `curl -s -X POST 'http://localhost:4000/team/new' -H 'Authorization: Bearer sk-master' -d '{"team_alias": "backend-eng", "max_budget": 2000, "budget_duration": "1mo", "models": ["claude-sonnet-4-20250514", "gpt-4.1-mini", "gpt-4.1"]}'`,
    ]);
    const key = await run('sh', [
      '-c',
      `curl -s -X POST 'http://localhost:4000/key/generate' -H 'Authorization: Bearer sk-master' -d '{"key_alias": "alice-claude-code", "max_budget": 100, "budget_duration": "1mo", "models": ["claude-sonnet-4-20250514", "gpt-4.1-mini"], "tpm_limit": 1000000, "rpm_limit": 100}'`,
    ]);
    const { team_id } = JSON.parse(team.stdout) as { team_id: string };
    const teamKey = await run('sh', [
      '-c',
      `curl -s -X POST 'http://localhost:4000/key/generate' -H 'Authorization: Bearer sk-master' -d '{"key_alias": "bob-codex", "team_id": "${team_id}"}'`,
    ]);

    expect(JSON.parse(team.stdout)).toMatchObject({
      team_alias: 'backend-eng',
      max_budget: 2000,
      budget_duration: '1mo',
    });
    expect(JSON.parse(key.stdout)).toMatchObject({
      key_alias: 'alice-claude-code',
      max_budget: 100,
      key: expect.stringMatching(/^sk-tg-/),
    });
    const bob = JSON.parse(teamKey.stdout) as { key: string; team_id: string };
    expect(bob.team_id).toBe(team_id);
    const answer = await chat(bob.key, 'gpt-4.1-mini');
    expect(answer.choices[0]?.message.content).toBeTruthy();
  });
});

describe('team budgets and models', () => {
  it('shares one budget across the team: a second key is refused once a first spent it', async () => {
    // gpt-4.1 2/8: 1000×2 + 100×8 = 2,800 µ$ a request; the team may spend exactly that.
    mock.script.usage = { input_tokens: 1000, output_tokens: 100 };
    const { team_id } = await gateway.createTeam({
      team_alias: 'tiny',
      max_budget: 0.0028,
      budget_duration: '1mo',
    });
    const first = await gateway.createKey({ key_alias: 'tiny-1', team_id });
    const second = await gateway.createKey({ key_alias: 'tiny-2', team_id });
    await chat(first.key);
    await gateway.proxy.drain();
    const calls = mock.requests.length;

    const refused = await chat(second.key).catch((err: unknown) => err);

    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
    expect((refused as Error).message).toMatch(/Budget exceeded for team 'tiny'/);
    expect(mock.requests.length).toBe(calls);
    const info = await admin(`/team/info?team_id=${team_id}`);
    expect(info.body.team_info).toMatchObject({ spend_micros: 2_800, max_budget: 0.0028 });
  });

  it('tells the client which budget binds and what it has left', async () => {
    const { team_id } = await gateway.createTeam({ team_alias: 'half-dollar', max_budget: 0.5 });
    const { key } = await gateway.createKey({ key_alias: 'one-dollar', team_id, max_budget: 1 });

    const { response } = await new OpenAI({
      apiKey: key,
      baseURL: `${gateway.url}/v1`,
      maxRetries: 0,
    }).chat.completions
      .create({ model: 'gpt-4.1', max_completion_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();

    const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
    expect(response.headers.get('x-tollgate-budget-scope')).toBe('team:half-dollar');
    expect(Number(response.headers.get('x-tollgate-budget-remaining-micros'))).toBe(
      500_000 - record.reserved_micros,
    );
  });

  it("refuses a model outside the team's list even when the key allows any", async () => {
    const { team_id } = await gateway.createTeam({ team_alias: 'openai-only', models: ['gpt-4.1'] });
    const { key } = await gateway.createKey({ key_alias: 'any-model', team_id });

    const refused = await new Anthropic({ apiKey: key, baseURL: gateway.url, maxRetries: 0 }).messages
      .create({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] })
      .catch((err: unknown) => err);

    expect((refused as InstanceType<typeof Anthropic.APIError>).status).toBe(403);
    expect((refused as Error).message).toMatch(/Team 'openai-only' may not use model 'claude-haiku-4-5'/);
  });

  it("stops a blocked team's keys", async () => {
    const { team_id } = await gateway.createTeam({ team_alias: 'paused' });
    const { key } = await gateway.createKey({ key_alias: 'paused-1', team_id });
    await chat(key);

    await admin('/team/update', { team_id, blocked: true });
    const refused = await chat(key).catch((err: unknown) => err);

    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(403);
  });
});

describe('team admin routes', () => {
  it('lists, describes, adds members to and deletes teams', async () => {
    const { team_id } = await gateway.createTeam({ team_id: 'infra', team_alias: 'Infra' });

    const added = await admin('/team/member_add', { team_id, member: { user_id: 'dana', role: 'admin' } });
    const listed = await admin('/team/list');
    const deleted = await admin('/team/delete', { team_ids: [team_id] });
    const gone = await admin(`/team/info?team_id=${team_id}`);

    expect(added.body.members_with_roles).toEqual([{ user_id: 'dana', role: 'admin' }]);
    expect((listed.body as unknown as Array<{ team_id: string }>).map((t) => t.team_id)).toContain('infra');
    expect(deleted.body).toEqual({ deleted_teams: ['infra'] });
    expect(gone.status).toBe(404);
  });

  it.each([
    ['a key for a team that does not exist', '/key/generate', { team_id: 'nope' }, 400, /No team 'nope'/],
    ['a negative team budget', '/team/new', { team_alias: 'neg', max_budget: -1 }, 400, /max_budget/],
    ['a budget given as text', '/team/new', { team_alias: 'txt', max_budget: 'lots' }, 400, /max_budget/],
    [
      'an update of a missing team',
      '/team/update',
      { team_id: 'missing', blocked: true },
      404,
      /No team 'missing'/,
    ],
    ['a duplicate team id', '/team/new', { team_id: 'tiny-dup' }, 400, /already exists/],
  ])('answers %s with a clear %i', async (_name, path, body, status, message) => {
    if (path === '/team/new' && (body as { team_id?: string }).team_id) await admin(path, body);

    const answer = await admin(path, body);

    expect(answer.status).toBe(status);
    expect((answer.body.error as { message: string }).message).toMatch(message);
  });

  it('refuses team routes to a virtual key with 403, and to no key with 401', async () => {
    const { key } = await gateway.createKey({ key_alias: 'not-admin' });

    const asKey = await fetch(`${gateway.url}/team/list`, { headers: { authorization: `Bearer ${key}` } });
    const anonymous = await fetch(`${gateway.url}/team/list`);

    expect([asKey.status, anonymous.status]).toEqual([403, 401]);
  });
});
