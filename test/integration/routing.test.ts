import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RoutingRow, routingTotals } from '../../functions/core/analytics/routing.ts';
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { DEFAULT_BEDROCK_SCRIPT, type MockBedrock, startMockBedrock } from '../support/mock-bedrock.ts';
import { type MockScript, type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

/**
 * Routing through the running gateway: rules saved with the admin API, evaluated key → team → global,
 * budget-aware step-downs priced as the model that served, aliases, and fallbacks from Anthropic to
 * Bedrock before the first byte — never after it. OpenRouter points at a closed port, to be unreachable.
 */
let mock: MockUpstream;
let bedrock: MockBedrock;
let gateway: TestGateway;
const MOCK_SCRIPT: Partial<MockScript> = { usage: { input_tokens: 100, output_tokens: 50 } };
const CONFIG_RULE = {
  id: 'kimi-alias',
  name: 'kimi alias from config',
  scope: 'global',
  priority: 1,
  condition: 'model == "kimi"',
  targets: [{ model: 'kimi-k2.5' }],
};

beforeAll(async () => {
  mock = await startMockUpstream({ script: MOCK_SCRIPT });
  bedrock = await startMockBedrock();
  gateway = await startTestGateway(mock.url, {
    TOLLGATE_BEDROCK_BASE_URL: bedrock.url,
    TOLLGATE_OPENROUTER_BASE_URL: 'http://127.0.0.1:9',
    TOLLGATE_FALLBACK_AFTER_MS: '300',
    TOLLGATE_ROUTING_RULES_JSON: JSON.stringify([CONFIG_RULE]),
  });
});
afterAll(async () => {
  await gateway?.close();
  await bedrock?.close();
  await mock?.close();
});
beforeEach(() => {
  mock.script = {
    ...MOCK_SCRIPT,
    text: 'Hello from the mock.',
    usage: { input_tokens: 100, output_tokens: 50 },
  };
  bedrock.script = { ...DEFAULT_BEDROCK_SCRIPT, usage: { input_tokens: 100, output_tokens: 50 } };
});

const admin = async (method: string, path: string, body?: unknown, key = MASTER_KEY) => {
  const response = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: answers are read loosely in assertions
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};
const saveRule = async (rule: Record<string, unknown>) => {
  const saved = await admin('POST', '/routing/rules', rule);
  if (saved.status !== 200) throw new Error(`rule refused: ${JSON.stringify(saved.body)}`);
  return String(saved.body.id);
};
const messages = (key: string, model: string, extra: Record<string, unknown> = {}) =>
  fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model, max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], ...extra }),
  });
const chat = (key: string, model: string) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_completion_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }),
  });
const requestId = (response: Response) => response.headers.get('x-tollgate-request-id') ?? '';
const sentModel = () => (mock.requests.at(-1)?.body as { model?: string } | undefined)?.model;

describe('a budget-aware step-down', () => {
  it("serves a team's opus requests with haiku once its budget is past 85 %, priced and recorded as haiku", async () => {
    // Prepare: a $1 team, and a rule that steps opus down when any of the request's budgets is past 85 %.
    const team = await gateway.createTeam({ team_id: 'web', max_budget: 1 });
    const { key } = await gateway.createKey({ key_alias: 'web-dev', team_id: team.team_id });
    await saveRule({
      name: 'web: opus to haiku near budget',
      scope: { team_id: 'web' },
      priority: 10,
      condition: 'budget_used > 85 && model.startsWith("claude-opus")',
      targets: [{ model: 'claude-haiku-4-5' }],
    });
    // opus 4.5 at $5 / $25 per M: 100 × 5 + 50 × 25 = 1,750 µ$. haiku at $1 / $5: 100 + 250 = 350 µ$.
    const before = await messages(key, 'claude-opus-4-5');
    await before.text();
    const servedBefore = sentModel();
    // Then 858,250 haiku input tokens at $1 per M take the team to 860,000 µ$: 86 %.
    mock.script.usage = { input_tokens: 858_250, output_tokens: 0 };
    await (await messages(key, 'claude-haiku-4-5')).text();
    mock.script.usage = { input_tokens: 100, output_tokens: 50 };

    // Act
    const after = await messages(key, 'claude-opus-4-5');
    const answer = (await after.json()) as { model: string };

    // Assess
    expect(before.status).toBe(200);
    expect(servedBefore).toBe('claude-opus-4-5');
    expect((await gateway.record(requestId(before))).route_rule).toBeNull();
    expect(after.status).toBe(200);
    expect(sentModel()).toBe('claude-haiku-4-5');
    expect(answer.model).toBe('claude-haiku-4-5');
    expect(after.headers.get('x-tollgate-model')).toBe('claude-haiku-4-5');
    const record = await gateway.record(requestId(after));
    expect(record).toMatchObject({
      model_requested: 'claude-opus-4-5',
      model_used: 'claude-haiku-4-5',
      provider: 'anthropic',
      route_rule: 'web: opus to haiku near budget',
      attempts: 1,
      attempt_log: ['anthropic/claude-haiku-4-5 200'],
      cost_micros: 350,
      cost_as_requested_micros: 1_750,
    });
    const info = await admin('GET', '/team/info?team_id=web');
    expect(info.body.team_info.spend_micros).toBe(1_750 + 858_250 + 350);
  });

  it('reserves against the model that serves: a step-down fits where the asked-for model would not', async () => {
    // Prepare: 20,000 µ$ left after spend; opus' worst case for 4,000 output tokens is 100,000 µ$ and more,
    // haiku's is 20,000 µ$ — so the step-down is served whole, where opus would be capped or refused.
    await gateway.createTeam({ team_id: 'tight', max_budget: 0.05 });
    const { key } = await gateway.createKey({ key_alias: 'tight-dev', team_id: 'tight' });
    await saveRule({
      name: 'tight: opus to haiku',
      scope: { team_id: 'tight' },
      condition: 'budget_used >= 50 && model.startsWith("claude-opus")',
      targets: [{ model: 'claude-haiku-4-5' }],
    });
    mock.script.usage = { input_tokens: 30_000, output_tokens: 0 };
    await (await messages(key, 'claude-haiku-4-5')).text();
    mock.script.usage = { input_tokens: 100, output_tokens: 50 };

    // Act
    const response = await messages(key, 'claude-opus-4-5', { max_tokens: 3_900 });
    await response.text();

    // Assess: haiku's reservation (3,900 × 5 µ$ and the prompt) fits, and max_tokens was not lowered.
    expect(response.status).toBe(200);
    expect(mock.requests.at(-1)?.body).toMatchObject({ model: 'claude-haiku-4-5', max_tokens: 3_900 });
    const record = await gateway.record(requestId(response));
    expect(record.model_used).toBe('claude-haiku-4-5');
    expect(record.reserved_micros).toBeLessThan(20_000);
  });
});

describe('scope and priority', () => {
  it('evaluates key rules before team rules before global ones, and the lower priority first in each', async () => {
    // Prepare
    await gateway.createTeam({ team_id: 'order' });
    const keyed = await gateway.createKey({ key_alias: 'order-keyed', team_id: 'order' });
    const teamOnly = await gateway.createKey({ key_alias: 'order-plain', team_id: 'order' });
    const loner = await gateway.createKey({ key_alias: 'loner' });
    const when = 'model == "gpt-4.1"';
    await saveRule({
      name: 'global first',
      scope: 'global',
      priority: 1,
      condition: when,
      targets: [{ model: 'o3' }],
    });
    await saveRule({
      name: 'team late',
      scope: { team_id: 'order' },
      priority: 90,
      condition: when,
      targets: [{ model: 'gpt-5' }],
    });
    await saveRule({
      name: 'team early',
      scope: { team_id: 'order' },
      priority: 20,
      condition: when,
      targets: [{ model: 'gpt-4.1-mini' }],
    });
    await saveRule({
      name: 'team never',
      scope: { team_id: 'order' },
      priority: 5,
      condition: 'model == "none"',
      targets: [{ model: 'gpt-5' }],
    });
    await saveRule({
      name: 'key rule',
      scope: { key_alias: 'order-keyed' },
      priority: 500,
      condition: when,
      targets: [{ model: 'o4-mini' }],
    });

    // Act
    const served: Record<string, string | undefined> = {};
    for (const [name, key] of [
      ['keyed', keyed.key],
      ['team', teamOnly.key],
      ['loner', loner.key],
    ] as const) {
      const response = await chat(key, 'gpt-4.1');
      await response.text();
      served[name] = `${sentModel()} by ${(await gateway.record(requestId(response))).route_rule}`;
    }

    // Assess
    expect(served).toEqual({
      keyed: 'o4-mini by key rule',
      team: 'gpt-4.1-mini by team early',
      loner: 'o3 by global first',
    });
    const listed = (await admin('GET', '/routing/rules')).body.rules as Array<{
      name: string;
      source: string;
    }>;
    const order = listed
      .map((r) => r.name)
      .filter((n) => ['key rule', 'team never', 'team early', 'team late', 'global first'].includes(n));
    expect(order).toEqual(['key rule', 'team never', 'team early', 'team late', 'global first']);
  });

  it('skips a rule whose targets cannot serve the protocol the client speaks', async () => {
    // Prepare: a global rule sends everything asking for gpt-4o... to a Claude model.
    const { key } = await gateway.createKey({ key_alias: 'protocol-check' });
    await saveRule({
      name: 'cross-family',
      scope: 'global',
      condition: 'model == "gpt-4o"',
      targets: [{ model: 'claude-haiku-4-5' }],
    });

    // Act
    const response = await chat(key, 'gpt-4o');
    await response.text();

    // Assess: an OpenAI client keeps the OpenAI model; Tollgate never translates between protocols.
    expect(response.status).toBe(200);
    expect(sentModel()).toBe('gpt-4o');
    expect((await gateway.record(requestId(response))).route_rule).toBeNull();
  });
});

describe('aliases and tier overrides', () => {
  it("repoints Claude Code's opus slot for one team, inside the team's allow-list", async () => {
    // Prepare: the team may use sonnet and haiku only; its opus requests go to sonnet.
    await gateway.createTeam({ team_id: 'tiers', models: ['claude-sonnet-4-5', 'claude-haiku-4-5'] });
    const { key } = await gateway.createKey({ key_alias: 'tiers-dev', team_id: 'tiers' });
    const refusedBefore = await messages(key, 'claude-opus-4-5-20251101');
    await refusedBefore.text();
    await saveRule({
      name: 'tiers: opus slot is sonnet',
      scope: { team_id: 'tiers' },
      condition: 'model.startsWith("claude-opus-")',
      targets: [{ model: 'claude-sonnet-4-5' }],
    });

    // Act
    const response = await new Anthropic({
      apiKey: key,
      baseURL: gateway.url,
      maxRetries: 0,
    }).messages.create({
      model: 'claude-opus-4-5-20251101',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hi' }],
    });

    // Assess
    expect(refusedBefore.status).toBe(403);
    expect(response.model).toBe('claude-sonnet-4-5');
    expect(sentModel()).toBe('claude-sonnet-4-5');
  });

  it('serves a name the catalog does not know through a config alias, listed as from config and not deletable', async () => {
    // Prepare
    const { key } = await gateway.createKey({ key_alias: 'kimi-fan' });

    // Act
    const response = await chat(key, 'kimi');
    await response.text();
    const listed = (await admin('GET', '/routing/rules')).body.rules as Array<{ id: string; source: string }>;
    const deleted = await admin('DELETE', '/routing/rules/kimi-alias');

    // Assess
    expect(response.status).toBe(200);
    expect(sentModel()).toBe('kimi-k2.5');
    const record = await gateway.record(requestId(response));
    expect(record).toMatchObject({ model_requested: 'kimi', model_used: 'kimi-k2.5', provider: 'moonshot' });
    expect(listed.find((r) => r.id === 'kimi-alias')?.source).toBe('config');
    expect(deleted.status).toBe(400);
    expect(deleted.body.error.message).toMatch(/defined in config/);
  });
});

describe('fallbacks', () => {
  const claudeFallback = {
    name: 'claude falls back to bedrock',
    scope: { key_alias: 'fallback-dev' },
    condition: 'provider == "anthropic"',
    targets: [{ provider: 'anthropic' }],
    fallbacks: [{ provider: 'bedrock' }],
  };
  let key = '';
  beforeAll(async () => {
    key = (await gateway.createKey({ key_alias: 'fallback-dev' })).key;
    await saveRule(claudeFallback);
  });

  it('answers once from Bedrock when Anthropic returns 503, recording both attempts and pricing the one that served', async () => {
    // Prepare
    mock.script.failWith = { status: 503 };
    const bedrockCalls = bedrock.requests.length;

    // Act
    const client = new Anthropic({ apiKey: key, baseURL: gateway.url, maxRetries: 0 });
    const { data, response } = await client.messages
      .create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();

    // Assess
    expect(response.status).toBe(200);
    expect(data.content[0]).toMatchObject({ type: 'text', text: DEFAULT_BEDROCK_SCRIPT.text });
    expect(bedrock.requests.length).toBe(bedrockCalls + 1);
    expect(bedrock.requests.at(-1)?.modelId).toBe('global.anthropic.claude-sonnet-4-5-20250929-v1:0');
    const record = await gateway.record(requestId(response));
    // sonnet 4.5 at $3 / $15: 100 × 3 + 50 × 15 = 1,050 µ$, the same model on either provider.
    expect(record).toMatchObject({
      outcome: 'success',
      provider: 'bedrock',
      model_used: 'claude-sonnet-4-5',
      attempts: 2,
      attempt_log: ['anthropic/claude-sonnet-4-5 503', 'bedrock/claude-sonnet-4-5 200'],
      cost_micros: 1_050,
    });
    const info = await gateway.keyInfo(key);
    expect(info.spend_micros).toBe(1_050);
    expect(info.reserved_micros).toBe(0);
  });

  it('moves a stream on to Bedrock when Anthropic has sent nothing within the fallback wait', async () => {
    // Prepare: the gateway waits 300 ms for a stream's first answer when it has a fallback left.
    mock.script.delayMs = 3_000;

    // Act
    const started = Date.now();
    const response = await messages(key, 'claude-sonnet-4-5', { stream: true });
    const text = await response.text();

    // Assess
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(text).toContain('message_stop');
    const record = await gateway.record(requestId(response));
    expect(record.attempt_log).toEqual([
      'anthropic/claude-sonnet-4-5 timeout',
      'bedrock/claude-sonnet-4-5 200',
    ]);
    expect(record.outcome).toBe('success');
  });

  it('goes to the fallback when the target cannot be reached at all', async () => {
    // Prepare: OpenRouter's base URL is a closed port.
    const { key: other } = await gateway.createKey({ key_alias: 'unreachable-dev' });
    await saveRule({
      name: 'gpt-4.1-mini via openrouter, else openai',
      scope: { key_alias: 'unreachable-dev' },
      condition: 'model == "gpt-4.1-mini"',
      targets: [{ provider: 'openrouter' }],
      fallbacks: [{ provider: 'openai' }],
    });

    // Act
    const response = await chat(other, 'gpt-4.1-mini');
    await response.text();

    // Assess
    expect(response.status).toBe(200);
    const record = await gateway.record(requestId(response));
    expect(record.attempt_log).toEqual(['openrouter/gpt-4.1-mini unreachable', 'openai/gpt-4.1-mini 200']);
    expect(record.provider).toBe('openai');
  });

  it('never retries once bytes have reached the client', async () => {
    // Prepare: Anthropic's stream is cut after three events.
    mock.script.cutStreamAfterEvents = 3;
    const bedrockCalls = bedrock.requests.length;

    // Act
    const response = await messages(key, 'claude-sonnet-4-5', { stream: true });
    const text = await response.text();

    // Assess: the client saw the start of Anthropic's answer and then an error event, and nothing else.
    expect(response.status).toBe(200);
    expect(text).toContain('message_start');
    expect(text).toContain('event: error');
    expect(bedrock.requests.length).toBe(bedrockCalls);
    const record = await gateway.record(requestId(response));
    expect(record).toMatchObject({ outcome: 'truncated', provider: 'anthropic', attempts: 1 });
    expect(record.attempt_log).toEqual(['anthropic/claude-sonnet-4-5 200']);
  });

  it('answers with the last failure when every attempt fails, holding nothing afterwards', async () => {
    // Prepare
    mock.script.failWith = { status: 529 };
    bedrock.script = {
      ...bedrock.script,
      failWith: { status: 503, type: 'ServiceUnavailableException', message: 'down' },
    };
    const before = await gateway.keyInfo(key);

    // Act
    const response = await messages(key, 'claude-sonnet-4-5');
    await response.text();

    // Assess
    expect(response.status).toBe(503);
    const record = await gateway.record(requestId(response));
    expect(record).toMatchObject({ outcome: 'upstream_error', cost_micros: 0, attempts: 2 });
    expect(record.attempt_log).toEqual(['anthropic/claude-sonnet-4-5 529', 'bedrock/claude-sonnet-4-5 503']);
    const after = await gateway.keyInfo(key);
    expect(after.spend_micros).toBe(before.spend_micros);
    expect(after.reserved_micros).toBe(0);
  });

  it('does not fall back on a client error', async () => {
    // Prepare
    mock.script.failWith = { status: 400 };
    const bedrockCalls = bedrock.requests.length;

    // Act
    const response = await messages(key, 'claude-sonnet-4-5');
    await response.text();

    // Assess
    expect(response.status).toBe(400);
    expect(bedrock.requests.length).toBe(bedrockCalls);
    expect((await gateway.record(requestId(response))).attempt_log).toEqual([
      'anthropic/claude-sonnet-4-5 400',
    ]);
  });
});

describe('managing rules', () => {
  it.each([
    [{ condition: 'budget_used >' }, /does not compile/],
    [{ condition: 'model' }, /must be a boolean/],
    [{ condition: 'spend > 3' }, /does not compile: Unknown variable: spend/],
    [{ targets: [{ model: 'gpt-9' }] }, /targets\[0\]: the gateway cannot serve 'gpt-9'/],
    [
      { targets: [{ model: 'claude-haiku-4-5', provider: 'openai' }] },
      /cannot serve 'openai\/claude-haiku-4-5': it is not in the catalog, or not from that provider/,
    ],
    [{ targets: [] }, /targets/],
    [{ targets: [{ weight: 2 }] }, /names a model, a provider, or both/],
    [{ scope: { team: 'x' } }, /scope/],
    [{ colour: 'blue' }, /colour/],
  ])('refuses %j when it is saved', async (change, message) => {
    // Prepare
    const rule = {
      name: 'bad',
      scope: 'global',
      condition: 'true',
      targets: [{ model: 'gpt-5' }],
      ...change,
    };

    // Act
    const saved = await admin('POST', '/routing/rules', rule);

    // Assess
    expect(saved.status).toBe(400);
    expect(saved.body.error.message).toMatch(message);
  });

  it('is for the master key only, and deletes what it saved', async () => {
    // Prepare
    const { key } = await gateway.createKey({ key_alias: 'not-admin' });
    const id = await saveRule({
      name: 'short-lived',
      scope: 'global',
      condition: 'false',
      targets: [{ model: 'gpt-5' }],
    });

    // Act
    const asPerson = await admin('POST', '/routing/rules', { name: 'x' }, key);
    const anonymous = await fetch(`${gateway.url}/routing/rules`);
    const deleted = await admin('DELETE', `/routing/rules/${id}`);
    const again = await admin('DELETE', `/routing/rules/${id}`);
    const audit = await admin('GET', '/audit/log?since=2000-01-01');

    // Assess
    expect(asPerson.status).toBe(403);
    expect(anonymous.status).toBe(401);
    expect(deleted.body).toEqual({ deleted: id, name: 'short-lived' });
    expect(again.status).toBe(404);
    const listed = (await admin('GET', '/routing/rules')).body.rules as Array<{ id: string }>;
    expect(listed.some((r) => r.id === id)).toBe(false);
    const actions = (audit.body.entries as Array<{ action: string; target: string }>).filter(
      (e) => e.target === `routing_rule:${id}`,
    );
    expect(actions.map((e) => e.action).sort()).toEqual(['routing.rule_delete', 'routing.rule_new']);
  });
});

describe('the rollup', () => {
  it('shows per rule what was asked for, what served, and the spend it moved', async () => {
    // Act: everything above has been recorded by now.
    const rollup = await admin('GET', '/api/rollup');
    // Rows are per UTC day; summed per rule and models, in case the run straddles midnight.
    const rows: Array<Record<string, unknown>> = routingTotals(rollup.body.routing as RoutingRow[]);

    // Assess: the step-down saved 1,750 − 350 µ$; a fallback to the same model moves nothing.
    expect(rows.find((r) => r.rule === 'web: opus to haiku near budget')).toEqual({
      rule_id: expect.any(String),
      rule: 'web: opus to haiku near budget',
      model_requested: 'claude-opus-4-5',
      model_used: 'claude-haiku-4-5',
      requests: 1,
      cost_micros: 350,
      shadow_cost_micros: 350,
      cost_as_requested_micros: 1_750,
      moved_micros: 1_400,
      fallback_requests: 0,
    });
    // 503, timeout, cut stream, all failing, client error: five requests, three served after a failure.
    expect(rows.find((r) => r.rule === 'claude falls back to bedrock')).toMatchObject({
      model_requested: 'claude-sonnet-4-5',
      model_used: 'claude-sonnet-4-5',
      requests: 5,
      fallback_requests: 3,
      moved_micros: 0,
    });
    expect(rows.some((r) => r.rule === 'kimi alias from config' && r.moved_micros === 0)).toBe(true);
  });
});
