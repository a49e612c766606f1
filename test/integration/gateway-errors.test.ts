import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countTokens } from '../../functions/core/usage/estimate.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

/** Bad input and failures: each gets a protocol-shaped error, one record, no spend, and the server lives on. */
let mock: MockUpstream;
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startTestGateway(mock.url);
  ({ key } = await gateway.createKey({
    key_alias: 'errors',
    user_id: 'eve',
    models: ['claude-haiku-4-5', 'gpt-4.1'],
  }));
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});
beforeEach(() => {
  mock.script.failWith = undefined;
  mock.script.cutStreamAfterEvents = undefined;
  mock.script.rawReply = undefined;
  mock.script.usage = { input_tokens: 100, output_tokens: 50 };
});

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${gateway.url}${path}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
const haiku = JSON.stringify({
  model: 'claude-haiku-4-5',
  max_tokens: 64,
  messages: [{ role: 'user', content: 'hi' }],
});
const gpt = JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] });

describe('requests the gateway refuses', () => {
  it.each([
    [
      'no key, Anthropic',
      '/v1/messages',
      haiku,
      {},
      401,
      { type: 'error', error: { type: 'authentication_error' } },
    ],
    [
      'unknown key, OpenAI',
      '/v1/chat/completions',
      gpt,
      { authorization: 'Bearer sk-tg-nope' },
      401,
      { error: { code: 'invalid_api_key' } },
    ],
    [
      'malformed JSON, Anthropic',
      '/v1/messages',
      '{"model": ',
      'KEY',
      400,
      { error: { type: 'invalid_request_error' } },
    ],
    [
      'malformed JSON, OpenAI',
      '/openai/v1/chat/completions',
      '{',
      'KEY',
      400,
      { error: { type: 'invalid_request_error' } },
    ],
    [
      'no model',
      '/v1/messages',
      '{"messages":[]}',
      'KEY',
      400,
      { error: { message: expect.stringMatching(/model/) } },
    ],
    [
      'unknown model',
      '/v1/chat/completions',
      JSON.stringify({ model: 'gpt-9-ultra', messages: [] }),
      'KEY',
      400,
      { error: { message: expect.stringMatching(/Unknown model 'gpt-9-ultra'/) } },
    ],
    [
      'model not allowed for the key',
      '/anthropic/v1/messages',
      JSON.stringify({ model: 'claude-opus-4-8', max_tokens: 5, messages: [] }),
      'KEY',
      403,
      { error: { type: 'permission_error' } },
    ],
  ] as const)(
    '%s → %i in the protocol shape, recorded without spend',
    async (_name, path, body, auth, status, shape) => {
      const headers = auth === 'KEY' ? { 'x-api-key': key } : auth;
      const upstreamCalls = mock.requests.length;

      const response = await post(path, body, headers);

      expect(response.status).toBe(status);
      expect(await response.json()).toMatchObject(shape);
      expect(mock.requests.length).toBe(upstreamCalls);
      const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
      expect(record).toMatchObject({ status, cost_micros: 0, usage_source: 'none' });
      expect((await gateway.keyInfo(key)).spend_micros).toBe(0);
    },
  );

  it('rejects a body over the size limit with 413 and keeps serving', async () => {
    const huge = JSON.stringify({
      model: 'gpt-4.1',
      messages: [{ role: 'user', content: 'x'.repeat(7 * 1024 * 1024) }],
    });

    const response = await post('/v1/chat/completions', huge, { authorization: `Bearer ${key}` });

    expect(response.status).toBe(413);
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
  });
});

describe('upstream failures', () => {
  it('passes an upstream 529 through, records it, and gives the reservation back', async () => {
    mock.script.failWith = { status: 529 };

    const response = await post('/v1/messages', haiku, { 'x-api-key': key });

    expect(response.status).toBe(529);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
    expect(record).toMatchObject({ outcome: 'upstream_error', error_type: 'upstream_529', cost_micros: 0 });
    expect(record.reserved_micros).toBeGreaterThan(0);
    expect((await gateway.keyInfo(key)).spend_micros).toBe(0);
  });

  it('turns an upstream credential failure into a 502 that blames the gateway, not the client key', async () => {
    mock.script.failWith = { status: 401 };

    const response = await post('/v1/chat/completions', gpt, { authorization: `Bearer ${key}` });

    expect(response.status).toBe(502);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(
      /gateway's credentials/,
    );
  });

  it('turns a 200 whose body is not JSON into a 502 and an upstream_error record', async () => {
    mock.script.rawReply = { status: 200, contentType: 'text/html', body: '<html>proxy login</html>' };

    const response = await post('/v1/chat/completions', gpt, { authorization: `Bearer ${key}` });

    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: { type: 'server_error', code: 'upstream_error' } });
    const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
    expect(record).toMatchObject({
      outcome: 'upstream_error',
      error_type: 'upstream_invalid_json',
      cost_micros: 0,
    });
    expect((await gateway.keyInfo(key)).reserved_micros).toBe(0);
  });

  it('turns a JSON answer cut off mid-body into a 502 and an upstream_error record', async () => {
    mock.script.rawReply = {
      status: 200,
      contentType: 'application/json',
      body: '{"id":"chatcmpl-1","cho',
      cut: true,
    };

    const response = await post('/v1/chat/completions', gpt, { authorization: `Bearer ${key}` });

    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: { type: 'server_error', code: 'upstream_error' } });
    const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
    expect(record).toMatchObject({ outcome: 'upstream_error', cost_micros: 0 });
    expect((await gateway.keyInfo(key)).reserved_micros).toBe(0);
  });

  it('answers 502 when the provider cannot be reached', async () => {
    const dead = await startTestGateway('http://127.0.0.1:9');
    try {
      const { key: k } = await dead.createKey({ key_alias: 'dead' });

      const direct = await fetch(`${dead.url}/v1/messages`, {
        method: 'POST',
        body: haiku,
        headers: { 'x-api-key': k },
      });

      expect(direct.status).toBe(502);
      expect(await direct.json()).toMatchObject({ type: 'error', error: { type: 'api_error' } });
      expect((await dead.record(direct.headers.get('x-tollgate-request-id')!)).outcome).toBe(
        'upstream_error',
      );
    } finally {
      await dead.close();
    }
  });

  it('ends a stream cut off upstream with an error event and records it as truncated with estimated usage', async () => {
    mock.script.cutStreamAfterEvents = 5; // message_start, block start, ping, two deltas
    const body = JSON.parse(haiku) as Record<string, unknown>;

    const response = await post('/v1/messages', JSON.stringify({ ...body, stream: true }), {
      'x-api-key': key,
    });
    const text = await response.text();

    expect(response.status).toBe(200);
    expect(text).toContain('event: message_start');
    expect(text).not.toContain('event: message_stop');
    expect(text).toMatch(/event: error\ndata: \{"type":"error","error":\{"type":"api_error"/);
    const requestId = response.headers.get('x-tollgate-request-id')!;
    const record = await gateway.record(requestId);
    expect((await gateway.records()).filter((r) => r.request_id === requestId)).toHaveLength(1);
    expect(record).toMatchObject({ outcome: 'truncated', usage_source: 'estimated', input_tokens: 100 });
    expect(record.output_tokens).toBeGreaterThan(0);
    // claude-haiku-4-5 at $1/M in, $5/M out
    expect(record.cost_micros).toBe(100 * 1 + record.output_tokens * 5);
    expect((await gateway.keyInfo(key)).spend_micros).toBe(record.cost_micros);
  });

  it('records a request whose client disconnects mid-stream', async () => {
    mock.script.chunkDelayMs = 50;
    const abort = new AbortController();
    const body = JSON.parse(gpt) as Record<string, unknown>;
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ ...body, stream: true }),
      headers: { authorization: `Bearer ${key}` },
      signal: abort.signal,
    });
    const requestId = response.headers.get('x-tollgate-request-id')!;
    const reader = response.body!.getReader();
    await reader.read();

    abort.abort();
    mock.script.chunkDelayMs = undefined;

    await expect
      .poll(async () => (await gateway.records()).find((r) => r.request_id === requestId)?.outcome)
      .toBe('client_closed');
    await gateway.proxy.drain();
    const records = await gateway.records();
    expect(records.filter((r) => r.request_id === requestId)).toMatchObject([
      { outcome: 'client_closed', error_type: 'mid_stream', usage_source: 'estimated' },
    ]);
    // No usage arrived: the prompt was counted with the tokenizer, from the text the model reads.
    const record = records.find((r) => r.request_id === requestId)!;
    expect(record.input_tokens).toBe(await countTokens('user\nhi'));
    expect(record.input_tokens).toBeGreaterThan(0);
    // Every reservation on the key was settled to what its records say it cost; none is left open.
    const billed = records.filter((r) => r.key_alias === 'errors').reduce((sum, r) => sum + r.cost_micros, 0);
    expect(await gateway.keyInfo(key)).toMatchObject({ spend_micros: billed, reserved_micros: 0 });
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
  });
});
