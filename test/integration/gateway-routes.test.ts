import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

/** The routes beyond the two basic ones, the other providers, and what each record attributes. */
let mock: MockUpstream;
let gateway: TestGateway;

const USAGE = { input_tokens: 1000, output_tokens: 500, cache_read_input_tokens: 2000 };

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startTestGateway(mock.url);
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});
beforeEach(() => {
  mock.script.usage = { ...USAGE };
});

const openai = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
const anthropic = (apiKey: string) => new Anthropic({ apiKey, baseURL: gateway.url, maxRetries: 0 });
const lastUpstream = () => mock.requests.at(-1)!;

describe('token counting', () => {
  it('proxies count_tokens and records it without billing or reserving', async () => {
    const { key } = await gateway.createKey({ key_alias: 'count', max_budget: 1 });

    const { data, response } = await anthropic(key)
      .messages.countTokens({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();

    expect(data.input_tokens).toBe(1000);
    expect(lastUpstream().path).toBe('/v1/messages/count_tokens');
    const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
    expect(record).toMatchObject({
      protocol: 'anthropic-count-tokens',
      outcome: 'success',
      cost_micros: 0,
      reserved_micros: 0,
    });
    expect((await gateway.keyInfo(key)).spend_micros).toBe(0);
  });
});

describe('embeddings', () => {
  it('meters prompt tokens at the embedding price', async () => {
    const { key } = await gateway.createKey({ key_alias: 'embed' });

    const { data, response } = await openai(key)
      .embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] })
      .withResponse();

    expect(data.data).toHaveLength(2);
    const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
    // 1,000 tokens × $0.02/M = 20 µ$
    expect(record).toMatchObject({
      protocol: 'openai-embeddings',
      input_tokens: 1000,
      output_tokens: 0,
      cost_micros: 20,
    });
  });
});

describe('GET /v1/models', () => {
  it('lists only the models the key may use, in the OpenAI shape', async () => {
    const { key } = await gateway.createKey({ key_alias: 'models', models: ['gpt-4.1', 'claude-haiku-4-5'] });

    const page = await openai(key).models.list();

    expect(page.data.map((m) => m.id).sort()).toEqual(['claude-haiku-4-5', 'gpt-4.1']);
  });

  it('answers in the Anthropic shape to an Anthropic client', async () => {
    const { key } = await gateway.createKey({ key_alias: 'models-a', models: ['claude-haiku-4-5'] });

    const page = await anthropic(key).models.list();

    expect(page.data.map((m) => m.id)).toEqual(['claude-haiku-4-5']);
  });

  it('refuses without a key', async () => {
    const response = await fetch(`${gateway.url}/v1/models`);

    expect(response.status).toBe(401);
  });
});

describe('other providers', () => {
  it('sends kimi models to Moonshot with its own credential and prices them from the catalog', async () => {
    const { key } = await gateway.createKey({ key_alias: 'kimi' });

    const { response } = await openai(key)
      .chat.completions.create({ model: 'kimi-k2.5', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();

    expect(lastUpstream().headers.authorization).toBe('Bearer sk-moonshot-upstream-secret');
    const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
    // kimi-k2.5 0.60/3/0.10: 1000×0.60 + 2000 cached×0.10 + 500×3 = 600 + 200 + 1500
    expect(record).toMatchObject({ provider: 'moonshot', model_used: 'kimi-k2.5', cost_micros: 2_300 });
  });

  it('routes a provider/model name to that provider with the upstream model id', async () => {
    const { key } = await gateway.createKey({ key_alias: 'openrouter' });

    const { response } = await openai(key)
      .chat.completions.create({
        model: 'openrouter/anthropic/claude-sonnet-4',
        messages: [{ role: 'user', content: 'hi' }],
      })
      .withResponse();

    expect(lastUpstream().headers.authorization).toBe('Bearer sk-or-upstream-secret');
    expect((lastUpstream().body as { model: string }).model).toBe('anthropic/claude-sonnet-4');
    const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
    // sonnet list price: 1000×3 + 2000×0.30 + 500×15 = 3000 + 600 + 7500
    expect(record).toMatchObject({
      provider: 'openrouter',
      model_requested: 'openrouter/anthropic/claude-sonnet-4',
      model_used: 'claude-sonnet-4',
      cost_micros: 11_100,
    });
  });

  it('refuses a model over a protocol its provider does not serve', async () => {
    const { key } = await gateway.createKey({ key_alias: 'mismatch' });
    const calls = mock.requests.length;

    const error = await anthropic(key)
      .messages.create({ model: 'gpt-4.1', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] })
      .catch((err: unknown) => err);

    expect((error as InstanceType<typeof Anthropic.APIError>).status).toBe(400);
    expect((error as Error).message).toMatch(
      /served by openai, which does not offer the anthropic-messages API/,
    );
    expect(mock.requests.length).toBe(calls);
  });
});

describe('billing', () => {
  it('does not bill a Codex warm-up that asks the provider to generate nothing', async () => {
    const { key } = await gateway.createKey({ key_alias: 'warmup' });

    const response = await fetch(`${gateway.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5-codex', input: [], generate: false }),
    });
    await response.text();

    const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
    expect(record).toMatchObject({ cost_micros: 0, reserved_micros: 0, shadow_cost_micros: 0 });
    expect((await gateway.keyInfo(key)).spend_micros).toBe(0);
  });

  it('records list price as shadow cost and bills nothing for a subscription key', async () => {
    const { key } = await gateway.createKey({
      key_alias: 'plan',
      billing_type: 'subscription',
      max_budget: 0.01,
    });

    const { response } = await openai(key)
      .chat.completions.create({ model: 'kimi-k2.5', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();

    const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
    expect(record).toMatchObject({ cost_micros: 0, shadow_cost_micros: 2_300 });
    expect((await gateway.keyInfo(key)).spend_micros).toBe(0);
  });
});

describe('attribution', () => {
  it('records tags from the key, the header and the body, and keeps body tags from the provider', async () => {
    const { key } = await gateway.createKey({ key_alias: 'tags', tags: ['team-tools'] });

    const { response } = await anthropic(key)
      .messages.create(
        {
          model: 'claude-haiku-4-5',
          max_tokens: 16,
          messages: [{ role: 'user', content: 'hi' }],
          metadata: { user_id: 'u', tags: ['refactor'] } as Anthropic.Metadata,
        },
        { headers: { 'x-tollgate-tags': 'ci, nightly', 'x-claude-code-session-id': 'sess-123' } },
      )
      .withResponse();

    expect((lastUpstream().body as { metadata: unknown }).metadata).toEqual({ user_id: 'u' });
    const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
    expect(record.tags).toEqual(['team-tools', 'ci', 'nightly', 'refactor']);
    expect(record.session_id).toBe('sess-123');
  });

  it("keeps the provider's own request id, streamed or not, as the client saw it", async () => {
    const { key } = await gateway.createKey({ key_alias: 'provider ids' });

    const { response: fromAnthropic } = await anthropic(key)
      .messages.create({
        model: 'claude-haiku-4-5',
        max_tokens: 16,
        messages: [{ role: 'user', content: 'hi' }],
      })
      .withResponse();
    const { response: fromOpenAi } = await openai(key)
      .chat.completions.create({
        model: 'gpt-4.1-mini',
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
      })
      .withResponse();

    const anthropicId = fromAnthropic.headers.get('request-id');
    const openAiId = fromOpenAi.headers.get('x-request-id');
    expect(anthropicId).toMatch(/^req_/);
    expect(openAiId).toMatch(/^req_/);
    await gateway.proxy.drain();
    const anthropicRecord = await gateway.record(fromAnthropic.headers.get('x-tollgate-request-id')!);
    const openAiRecord = await gateway.record(fromOpenAi.headers.get('x-tollgate-request-id')!);
    expect(anthropicRecord.provider_request_id).toBe(anthropicId);
    expect(openAiRecord.provider_request_id).toBe(openAiId);
  });

  it('records no provider request id for a request refused before any provider answered', async () => {
    const { key } = await gateway.createKey({ key_alias: 'refused', models: ['claude-haiku-4-5'] });

    const refused = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({
        model: 'claude-opus-4-5',
        max_tokens: 8,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });

    expect(refused.status).toBe(403);
    const record = await gateway.record(refused.headers.get('x-tollgate-request-id')!);
    expect(record.provider_request_id).toBeNull();
  });

  it("tells an Anthropic client its cap's standing in the headers Claude Code warns from, past 75 %", async () => {
    const { key } = await gateway.createKey({ key_alias: 'near the cap', max_budget: 0.01 });
    const ask = () =>
      anthropic(key)
        .messages.create({
          model: 'claude-haiku-4-5',
          max_tokens: 16,
          messages: [{ role: 'user', content: 'hi' }],
        })
        .withResponse();
    mock.script.usage = { input_tokens: 8_000, output_tokens: 1 };

    const first = (await ask()).response.headers;
    await gateway.proxy.drain();
    mock.script.usage = { input_tokens: 10, output_tokens: 1 };
    const second = (await ask()).response.headers;
    const { response: openAi } = await openai(key)
      .chat.completions.create({
        model: 'gpt-4.1-mini',
        max_tokens: 16,
        messages: [{ role: 'user', content: 'hi' }],
      })
      .withResponse();

    // Nothing spent before the first; $0.008 of $0.01 before the second: only the second passes 75 %.
    expect(first.get('anthropic-ratelimit-unified-status')).toBe('allowed');
    expect(first.get('anthropic-ratelimit-unified-overage-surpassed-threshold')).toBeNull();
    expect(second.get('anthropic-ratelimit-unified-status')).toBe('allowed_warning');
    expect(second.get('anthropic-ratelimit-unified-representative-claim')).toBe('overage');
    expect(second.get('anthropic-ratelimit-unified-overage-surpassed-threshold')).toBe('0.75');
    expect(Number(second.get('anthropic-ratelimit-unified-overage-utilization'))).toBeGreaterThanOrEqual(
      0.75,
    );
    expect(Number(second.get('anthropic-ratelimit-unified-overage-utilization'))).toBeLessThan(1);
    expect(openAi.headers.get('anthropic-ratelimit-unified-status')).toBeNull();
  });

  it('splits latency into upstream time and gateway overhead', async () => {
    const { key } = await gateway.createKey({ key_alias: 'latency' });
    mock.script.delayMs = 120;

    const { response } = await anthropic(key)
      .messages.create({
        model: 'claude-haiku-4-5',
        max_tokens: 16,
        messages: [{ role: 'user', content: 'hi' }],
      })
      .withResponse()
      .finally(() => {
        mock.script.delayMs = undefined;
      });

    const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
    expect(record.upstream_ms).toBeGreaterThanOrEqual(120);
    expect(record.overhead_ms).not.toBeNull();
    expect(record.latency_ms).toBe((record.upstream_ms ?? 0) + (record.overhead_ms ?? 0));
  });
});
