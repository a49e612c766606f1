import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

/**
 * The running embedded server driven by the official SDKs, against a mock upstream on 127.0.0.1 that
 * speaks the real wire formats.
 */
let mock: MockUpstream;
let gateway: TestGateway;

// Costs worked out by hand from the price list (USD per million tokens = micro-dollars per token).
const USAGE = {
  input_tokens: 1000,
  output_tokens: 500,
  cache_read_input_tokens: 2000,
  cache_creation_input_tokens: 400,
};
// claude-sonnet-4: 1000×3 + 500×15 + 2000×0.30 + 400×3.75 (5-minute writes) = 3000 + 7500 + 600 + 1500
const SONNET_COST = 12_600;
// gpt-4.1-mini: (3000 prompt − 2000 cached)×0.40 + 2000×0.10 + 500×1.60 = 400 + 200 + 800
const MINI_COST = 1_400;
const TEXT = 'The quick brown fox jumps over the lazy dog.';

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startTestGateway(mock.url);
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});
beforeEach(() => {
  mock.script.text = TEXT;
  mock.script.usage = { ...USAGE };
  mock.script.failWith = undefined;
  mock.script.cutStreamAfterEvents = undefined;
});

const anthropic = (apiKey: string) => new Anthropic({ apiKey, baseURL: gateway.url, maxRetries: 0 });
const openai = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${gateway.url}/v1`, maxRetries: 0 });

describe('Anthropic Messages through the gateway', () => {
  it('returns the text unchanged and records the tokens and cost of a JSON request', async () => {
    const { key } = await gateway.createKey({
      key_alias: 'json-a',
      user_id: 'ana',
      models: ['claude-sonnet-4-20250514'],
    });

    const { data, response } = await anthropic(key)
      .messages.create({
        model: 'claude-sonnet-4-20250514',
        max_tokens: 256,
        messages: [{ role: 'user', content: 'hi' }],
      })
      .withResponse();

    expect(data.content).toEqual([{ type: 'text', text: TEXT }]);
    const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
    expect(record).toMatchObject({
      user_id: 'ana',
      key_alias: 'json-a',
      provider: 'anthropic',
      model_used: 'claude-sonnet-4',
      outcome: 'success',
      usage_source: 'provider',
      input_tokens: 1000,
      output_tokens: 500,
      cache_read_tokens: 2000,
      cache_write_5m_tokens: 400,
      cost_micros: SONNET_COST,
      agent: 'anthropic-sdk',
    });
    expect((await gateway.keyInfo(key)).spend_micros).toBe(SONNET_COST);
  });

  it('streams every event and meters the stream', async () => {
    const { key } = await gateway.createKey({ key_alias: 'stream-a', user_id: 'ben' });
    const stream = anthropic(key).messages.stream({
      model: 'claude-sonnet-4-6',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const types: string[] = [];
    stream.on('streamEvent', (event) => types.push(event.type));

    const message = await stream.finalMessage();

    expect(message.content).toEqual([{ type: 'text', text: TEXT }]);
    expect(types).toEqual(
      expect.arrayContaining(['message_start', 'content_block_stop', 'message_delta', 'message_stop']),
    );
    const requestId = (await stream.withResponse()).response.headers.get('x-tollgate-request-id')!;
    const record = await gateway.record(requestId);
    expect(record).toMatchObject({
      stream: true,
      output_tokens: 500,
      cost_micros: SONNET_COST,
      outcome: 'success',
    });
    expect(record.ttfb_ms).not.toBeNull();
    expect((await gateway.keyInfo(key)).spend_micros).toBe(SONNET_COST);
  });

  it('delivers each event as it arrives rather than buffering the stream', async () => {
    const { key } = await gateway.createKey({ key_alias: 'flow' });
    mock.script.chunkDelayMs = 150;
    try {
      const response = await fetch(`${gateway.url}/v1/messages?beta=true`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 64, stream: true, messages: [] }),
      });
      const reader = response.body!.getReader();

      const first = new TextDecoder().decode((await reader.read()).value);

      expect(response.headers.get('content-type')).toContain('text/event-stream');
      expect(first).toContain('event: message_start');
      expect(first).not.toContain('event: message_stop');
      await reader.cancel();
    } finally {
      mock.script.chunkDelayMs = undefined;
    }
  });

  it('sends the provider key upstream, never the virtual key, and forwards anthropic headers', async () => {
    const { key } = await gateway.createKey({ key_alias: 'headers' });
    const before = mock.requests.length;

    await anthropic(key).messages.create(
      { model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] },
      {
        headers: {
          'anthropic-beta': 'interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14',
        },
      },
    );

    const sent = mock.requests[before]!;
    expect(sent.headers['x-api-key']).toBe('sk-ant-upstream-secret');
    expect(JSON.stringify(sent.headers)).not.toContain(key);
    expect(sent.headers['anthropic-beta']).toBe(
      'interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14',
    );
    expect(sent.headers['anthropic-version']).toBeTruthy();
  });
});

describe('OpenAI Chat Completions through the gateway', () => {
  it('returns the text and records usage with cached tokens split out', async () => {
    await gateway.createTeam({ team_id: 'platform', team_alias: 'Platform' });
    const { key } = await gateway.createKey({ key_alias: 'json-o', user_id: 'cy', team_id: 'platform' });

    const { data, response } = await openai(key)
      .chat.completions.create({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();

    expect(data.choices[0]?.message.content).toBe(TEXT);
    const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
    expect(record).toMatchObject({
      team_id: 'platform',
      provider: 'openai',
      input_tokens: 1000,
      cache_read_tokens: 2000,
      output_tokens: 500,
      cost_micros: MINI_COST,
    });
  });

  it('meters a stream the client did not ask usage for, without handing it the usage chunk', async () => {
    const { key } = await gateway.createKey({ key_alias: 'stream-o', user_id: 'dee' });
    const before = mock.requests.length;

    const { data: stream, response } = await openai(key)
      .chat.completions.create({
        model: 'gpt-4.1-mini',
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
      })
      .withResponse();
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);

    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(TEXT);
    expect(chunks.every((c) => c.choices.length > 0)).toBe(true);
    expect((mock.requests[before]!.body as { stream_options?: unknown }).stream_options).toEqual({
      include_usage: true,
    });
    const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
    expect(record).toMatchObject({ stream: true, usage_source: 'provider', cost_micros: MINI_COST });
  });

  it('passes the usage chunk to a client that asked for it', async () => {
    const { key } = await gateway.createKey({ key_alias: 'stream-o2' });

    const stream = await openai(key).chat.completions.create({
      model: 'gpt-4.1-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'hi' }],
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);

    expect(chunks.at(-1)?.usage?.prompt_tokens).toBe(3000);
  });
});

describe('OpenAI Responses through the gateway (what Codex speaks)', () => {
  it('streams a response and records the usage from response.completed', async () => {
    const { key } = await gateway.createKey({ key_alias: 'codex', user_id: 'fay' });

    const { data: stream, response } = await openai(key)
      .responses.create({ model: 'gpt-5-codex', input: 'hi', stream: true })
      .withResponse();
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }

    expect(text).toBe(TEXT);
    expect(types).toEqual(expect.arrayContaining(['response.output_item.done', 'response.completed']));
    const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
    // gpt-5-codex: 1000×1.25 + 2000 cached×0.125 + 500×10 = 1250 + 250 + 5000
    expect(record).toMatchObject({
      protocol: 'openai-responses',
      input_tokens: 1000,
      cache_read_tokens: 2000,
      cost_micros: 6_500,
    });
  });
});

describe('budgets', () => {
  it('says what a refused request needed when its prompt alone costs more than is left', async () => {
    const { key } = await gateway.createKey({ key_alias: 'five cents', max_budget: 0.05 });
    const upstreamCalls = mock.requests.length;

    // About 30,000 tokens of prompt, $0.09 on sonnet at $3/M before a single output token; the gateway
    // holds more, as it counts a prompt at its worst before the provider has counted it.
    const denied = await anthropic(key)
      .messages.create({
        model: 'claude-sonnet-4',
        max_tokens: 8_000,
        messages: [{ role: 'user', content: 'word '.repeat(24_000) }],
      })
      .catch((err: unknown) => err);

    expect((denied as InstanceType<typeof Anthropic.APIError>).status).toBe(402);
    expect((denied as Error).message).toMatch(
      /\$0\.00 of \$0\.05 used or reserved, \$0\.05 remaining; this request needs \$0\.(?:09|[1-9]\d)\d* held for it/,
    );
    expect(mock.requests.length).toBe(upstreamCalls);
  });

  it('answers 402 once the budget is spent, without reaching the upstream', async () => {
    const { key } = await gateway.createKey({
      key_alias: 'small',
      max_budget: SONNET_COST / 1e6,
      budget_duration: '1mo',
    });
    const client = anthropic(key);
    const ask = () =>
      client.messages.create({
        model: 'claude-sonnet-4',
        max_tokens: 300,
        messages: [{ role: 'user', content: 'hi' }],
      });
    await ask();
    await gateway.proxy.drain();
    const upstreamCalls = mock.requests.length;

    const denied = await ask().catch((err: unknown) => err);

    expect(denied).toBeInstanceOf(Anthropic.APIError);
    expect((denied as InstanceType<typeof Anthropic.APIError>).status).toBe(402);
    expect((denied as Error).message).toMatch(/Budget exceeded for key 'small'.*\$0\.00 remaining/);
    expect(mock.requests.length).toBe(upstreamCalls);
    expect((await gateway.keyInfo(key)).spend_micros).toBe(SONNET_COST);
  });

  it('lowers max_tokens to what the remaining budget can pay for', async () => {
    // $0.02 pays for the ~50-token prompt estimate (at the $6/M 1-hour cache-write rate) and at most
    // (20000 − 50×6) / 15 ≈ 1313 output tokens on sonnet.
    const { key } = await gateway.createKey({ key_alias: 'capped', max_budget: 0.02 });
    const before = mock.requests.length;

    await anthropic(key).messages.create({
      model: 'claude-sonnet-4',
      max_tokens: 4096,
      messages: [{ role: 'user', content: 'hi' }],
    });

    const sentMax = (mock.requests[before]!.body as { max_tokens: number }).max_tokens;
    expect(sentMax).toBeLessThanOrEqual(1333);
    expect(sentMax).toBeGreaterThan(1280);
  });
});
