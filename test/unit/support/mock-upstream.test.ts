import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../support/mock-upstream.ts';

let mock: MockUpstream;

beforeEach(async () => {
  mock = await startMockUpstream({
    script: {
      usage: {
        input_tokens: 100,
        output_tokens: 20,
        cache_read_input_tokens: 30,
        cache_creation_input_tokens: 5,
      },
    },
  });
});

afterEach(async () => {
  await mock.close();
});

const anthropic = () => new Anthropic({ apiKey: 'sk-ant-test', baseURL: mock.url, maxRetries: 0 });
const openai = () => new OpenAI({ apiKey: 'sk-test', baseURL: `${mock.url}/v1`, maxRetries: 0 });

interface SseEvent {
  event: string | null;
  data: string;
}

function parseSse(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? null;
      const data = lines.find((l) => l.startsWith('data: '))?.slice(6) ?? '';
      return { event, data };
    });
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${mock.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('mock upstream, Anthropic Messages', () => {
  it('answers messages.create with the scripted text and usage', async () => {
    const message = await anthropic().messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'hi' }],
    });

    expect(message.id).toMatch(/^msg_/);
    expect(message.model).toBe('claude-sonnet-4-6');
    expect(message.content).toEqual([{ type: 'text', text: 'Hello from the mock upstream.' }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage).toMatchObject({
      input_tokens: 100,
      output_tokens: 20,
      cache_read_input_tokens: 30,
      cache_creation_input_tokens: 5,
      cache_creation: { ephemeral_5m_input_tokens: 5, ephemeral_1h_input_tokens: 0 },
    });
  });

  it('streams a message that messages.stream assembles into the final message', async () => {
    mock.script.text = 'Streaming works fine today.';

    const stream = anthropic().messages.stream({
      model: 'claude-haiku-4-5',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const deltas: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));
    const message = await stream.finalMessage();

    expect(deltas).toEqual(['Streaming ', 'works ', 'fine ', 'today.']);
    expect(message.content).toEqual([{ type: 'text', text: 'Streaming works fine today.' }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage.input_tokens).toBe(100);
    expect(message.usage.cache_read_input_tokens).toBe(30);
    expect(message.usage.output_tokens).toBe(20);
  });

  it('sends the real event sequence, with ping, on a ?beta=true stream', async () => {
    const res = await post('/v1/messages?beta=true', { model: 'm', stream: true, messages: [] });
    const events = parseSse(await res.text());

    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(events.map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(JSON.parse(events[0]!.data).message.usage).toMatchObject({ input_tokens: 100, output_tokens: 1 });
    expect(JSON.parse(events[9]!.data)).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: 20 },
    });
    expect(mock.requests[0]!.path).toBe('/v1/messages?beta=true');
  });

  it('counts tokens, accepts x-api-key and rejects a request without a key', async () => {
    const count = await anthropic().messages.countTokens({
      model: 'claude-sonnet-4-6',
      messages: [{ role: 'user', content: 'hi' }],
    });
    const unauthenticated = await fetch(`${mock.url}/v1/messages`, { method: 'POST', body: '{}' });
    const withApiKey = await fetch(`${mock.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'sk-ant-test' },
      body: '{"model":"m","messages":[]}',
    });

    expect(count.input_tokens).toBe(100);
    expect(withApiKey.status).toBe(200);
    expect(unauthenticated.status).toBe(401);
    expect(await unauthenticated.json()).toMatchObject({
      type: 'error',
      error: { type: 'authentication_error' },
    });
  });

  it('keeps the stream structurally valid with zeros when usage is omitted', async () => {
    mock.script.omitUsage = true;

    const message = await anthropic()
      .messages.stream({ model: 'm', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
      .finalMessage();

    expect(message.content).toEqual([{ type: 'text', text: 'Hello from the mock upstream.' }]);
    expect(message.usage.input_tokens).toBe(0);
    expect(message.usage.output_tokens).toBe(0);
  });
});

describe('mock upstream, OpenAI Chat Completions', () => {
  it('answers chat.completions.create with OpenAI usage, prompt tokens including cached ones', async () => {
    mock.script.usage.reasoning_tokens = 4;

    const completion = await openai().chat.completions.create({
      model: 'gpt-4.1',
      messages: [{ role: 'user', content: 'hi' }],
    });

    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('gpt-4.1');
    expect(completion.choices[0]?.message.content).toBe('Hello from the mock upstream.');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage).toMatchObject({
      prompt_tokens: 130,
      completion_tokens: 20,
      total_tokens: 150,
      prompt_tokens_details: { cached_tokens: 30 },
      completion_tokens_details: { reasoning_tokens: 4 },
    });
  });

  it('streams chunks without a usage chunk when include_usage is not asked for', async () => {
    const stream = await openai().chat.completions.create({
      model: 'gpt-4.1',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);

    expect(chunks).toHaveLength(7);
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '', refusal: null });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(
      'Hello from the mock upstream.',
    );
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.every((c) => !('usage' in c))).toBe(true);
  });

  it('ends the stream with a usage chunk only when include_usage is true', async () => {
    const stream = await openai().chat.completions.create({
      model: 'gpt-4.1',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1);

    expect(chunks).toHaveLength(8);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toMatchObject({ prompt_tokens: 130, completion_tokens: 20, total_tokens: 150 });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
  });

  it('sends no usage chunk when usage is omitted, even if asked', async () => {
    mock.script.omitUsage = true;

    const res = await post('/v1/chat/completions', {
      model: 'gpt-4.1',
      stream: true,
      stream_options: { include_usage: true },
    });
    const events = parseSse(await res.text());

    expect(events).toHaveLength(8);
    expect(events.at(-1)).toEqual({ event: null, data: '[DONE]' });
    expect(events.slice(0, -1).some((e) => e.data.includes('"usage"'))).toBe(false);
  });
});

describe('mock upstream, OpenAI Responses and Embeddings', () => {
  it('streams responses.create through response.completed with usage', async () => {
    const stream = await openai().responses.create({ model: 'gpt-5-codex', input: 'hi', stream: true });
    const events = [];
    for await (const event of stream) events.push(event);
    const completed = events.at(-1);

    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(completed?.type === 'response.completed' && completed.response.usage).toEqual({
      input_tokens: 130,
      input_tokens_details: { cached_tokens: 30 },
      output_tokens: 20,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 150,
    });
  });

  it('lets the SDK assemble a streamed response and read a non-streamed one', async () => {
    mock.script.text = 'Patch applied.';

    const final = await openai().responses.stream({ model: 'gpt-5', input: 'hi' }).finalResponse();
    const plain = await openai().responses.create({ model: 'gpt-5', input: 'hi' });

    expect(final.output_text).toBe('Patch applied.');
    expect(final.status).toBe('completed');
    expect(plain.object).toBe('response');
    expect(plain.output_text).toBe('Patch applied.');
    expect(plain.usage?.total_tokens).toBe(150);
  });

  it('reports usage: null in response.completed when usage is omitted', async () => {
    mock.script.omitUsage = true;

    const res = await post('/v1/responses', { model: 'gpt-5', input: 'hi', stream: true });
    const events = parseSse(await res.text());
    const completed = events.at(-1);

    expect(completed?.event).toBe('response.completed');
    expect(JSON.parse(completed!.data).response.usage).toBeNull();
  });

  it('returns 8-float embeddings, base64 as the SDK asks by default', async () => {
    const result = await openai().embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] });

    expect(mock.requests[0]!.body).toMatchObject({ encoding_format: 'base64' });
    expect(result.data).toHaveLength(2);
    expect(result.data[1]?.index).toBe(1);
    expect(Array.from(result.data[0]!.embedding)).toEqual([
      0.125, 0.1875, 0.25, 0.3125, 0.375, 0.4375, 0.5, 0.5625,
    ]);
    expect(result.usage).toEqual({ prompt_tokens: 100, total_tokens: 100 });
  });
});

describe('mock upstream, scripted faults and recording', () => {
  it('surfaces failWith 429 as the SDKs’ RateLimitError with retry-after', async () => {
    mock.script.failWith = { status: 429, headers: { 'retry-after': '7' } };

    const anthropicError = await anthropic()
      .messages.create({ model: 'm', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    const openaiError = await openai()
      .chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);

    expect(anthropicError).toBeInstanceOf(Anthropic.RateLimitError);
    expect((anthropicError as InstanceType<typeof Anthropic.RateLimitError>).headers.get('retry-after')).toBe(
      '7',
    );
    expect((anthropicError as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({
      type: 'error',
      error: { type: 'rate_limit_error' },
    });
    expect(openaiError).toBeInstanceOf(OpenAI.RateLimitError);
    expect((openaiError as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('rate_limit_exceeded');
    expect(mock.requests).toHaveLength(2);
  });

  it('answers with a given failWith body as is', async () => {
    mock.script.failWith = { status: 503, body: { error: { message: 'down for lunch' } } };

    const res = await post('/v1/responses', { model: 'gpt-5', input: 'hi' });

    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: { message: 'down for lunch' } });
  });

  it('cuts the connection after the scripted number of events', async () => {
    mock.script.cutStreamAfterEvents = 3;

    const res = await post('/v1/messages', { model: 'm', stream: true, messages: [] });
    const reader = res.body!.getReader();
    let received = '';
    const failure = await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return undefined;
        received += new TextDecoder().decode(value);
      }
    })().catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(Error);
    expect(parseSse(received).map((e) => e.event)).toEqual(['message_start', 'content_block_start', 'ping']);
  });

  it('writes each event separately so a reader sees the first before the last', async () => {
    mock.script.chunkDelayMs = 50;

    const res = await post('/v1/messages', { model: 'm', stream: true, messages: [] });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();

    expect(first).toContain('event: message_start');
    expect(first).not.toContain('message_stop');
  });

  it('records method, path, lowercased headers and the parsed body', async () => {
    await anthropic().messages.create(
      { model: 'claude-sonnet-4-6', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'X-Claude-Code-Session-Id': 'sess-1' } },
    );
    await post('/v1/nowhere', 'not json');

    const [first, second] = mock.requests;
    expect(first).toMatchObject({ method: 'POST', path: '/v1/messages' });
    expect(first?.headers['x-claude-code-session-id']).toBe('sess-1');
    // @anthropic-ai/sdk 1.x sends the key as a bearer token, not x-api-key.
    expect(first?.headers.authorization).toBe('Bearer sk-ant-test');
    expect(first?.headers['user-agent']).toMatch(/^Anthropic\/JS /);
    expect(first?.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(first?.body).toMatchObject({ model: 'claude-sonnet-4-6', max_tokens: 32 });
    expect(second).toMatchObject({ path: '/v1/nowhere', body: 'not json' });
  });

  it('answers unknown routes with 404', async () => {
    const res = await post('/v1/nowhere', {});

    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });
});
