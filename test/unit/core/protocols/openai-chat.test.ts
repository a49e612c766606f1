import { describe, expect, it } from 'vitest';
import { type ErrorKind, GatewayError } from '../../../../functions/core/errors.ts';
import { openaiChat } from '../../../../functions/core/protocols/openai-chat.ts';
import { createSseTap } from '../../../../functions/core/protocols/sse.ts';

const encoder = new TextEncoder();
const data = (chunk: unknown) => `data: ${typeof chunk === 'string' ? chunk : JSON.stringify(chunk)}\n\n`;
const thrownBy = (fn: () => unknown): unknown => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err;
  }
};

const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 1_764_000_000,
  model: 'o4-mini-2025-04-16',
  choices: [{ index: 0, delta, finish_reason: finish }],
});
const usage = {
  prompt_tokens: 1_200,
  completion_tokens: 300,
  total_tokens: 1_500,
  prompt_tokens_details: { cached_tokens: 1_000, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 200, audio_tokens: 0 },
};
/** A stream as sent with `stream_options.include_usage`: content, finish, a usage-only chunk, [DONE]. */
const stream = [
  data(chunk({ role: 'assistant', content: '' })),
  data(chunk({ content: 'Hi' })),
  data(chunk({ content: ' thére' })),
  data(chunk({}, 'stop')),
  data({ id: 'chatcmpl-1', object: 'chat.completion.chunk', model: 'o4-mini', choices: [], usage }),
  data('[DONE]'),
].join('');

/** Runs a body through a tap (rewriting, as the proxy does when it may drop) and the meter. */
function meterStream(body: string, stripUsageChunk: boolean, chunkSize = 13) {
  const meter = openaiChat.createMeter({ stripUsageChunk });
  const tap = createSseTap((e) => meter.onEvent(e), { rewrite: stripUsageChunk });
  const all = encoder.encode(body);
  const out: Uint8Array[] = [];
  for (let i = 0; i < all.length; i += chunkSize) {
    const forwarded = tap.push(all.slice(i, i + chunkSize));
    if (forwarded) out.push(forwarded);
  }
  const rest = tap.end();
  if (rest) out.push(rest);
  return { meter, forwarded: new TextDecoder().decode(Buffer.concat(out)) };
}

describe('openaiChat.parseRequest', () => {
  it('prefers max_completion_tokens over the deprecated max_tokens', () => {
    // Prepare
    const body = { model: 'o4-mini', max_tokens: 9_000, max_completion_tokens: 4_000, stream: true };

    // Act
    const parsed = openaiChat.parseRequest(body);

    // Assess
    expect(parsed).toEqual({
      model: 'o4-mini',
      stream: true,
      maxOutputTokens: 4_000,
      choices: 1,
      sessionId: undefined,
      tags: [],
      generates: true,
    });
  });

  it('reads n as the number of choices, one when absent or null', () => {
    // Prepare
    const bodies = [
      { model: 'gpt-4.1', n: 8 },
      { model: 'gpt-4.1', n: 128 },
      { model: 'gpt-4.1', n: null },
      { model: 'gpt-4.1' },
    ];

    // Act
    const choices = bodies.map((b) => openaiChat.parseRequest(b).choices);

    // Assess
    expect(choices).toEqual([8, 128, 1, 1]);
  });

  it('reads max_tokens when it is the only limit, and no limit from a null', () => {
    // Prepare
    const bodies = [
      { model: 'gpt-4.1', max_tokens: 512 },
      { model: 'gpt-4.1', max_completion_tokens: null },
    ];

    // Act
    const caps = bodies.map((b) => openaiChat.parseRequest(b).maxOutputTokens);

    // Assess
    expect(caps).toEqual([512, undefined]);
  });

  it.each([
    ['no model', { messages: [] }, /'model'/],
    ['a numeric model', { model: 4 }, /'model'/],
    ['max_completion_tokens 0', { model: 'gpt-5', max_completion_tokens: 0 }, /max_completion_tokens/],
    ['max_tokens as a string', { model: 'gpt-5', max_tokens: '100' }, /max_completion_tokens/],
    ['n = 0', { model: 'gpt-4.1', n: 0 }, /'n' must be an integer from 1 to 128/],
    ['n = 129', { model: 'gpt-4.1', n: 129 }, /'n'/],
    ['a fractional n', { model: 'gpt-4.1', n: 2.5 }, /'n'/],
    ['n as a string', { model: 'gpt-4.1', n: '8' }, /'n'/],
  ])('rejects %s with a 400', (_, body, message) => {
    // Prepare
    const request = body as Record<string, unknown>;

    // Act
    const err = thrownBy(() => openaiChat.parseRequest(request));

    // Assess
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ status: 400, message: expect.stringMatching(message) });
  });
});

describe('openaiChat.usageFromJson', () => {
  it('takes cached tokens out of prompt_tokens and records reasoning inside completion_tokens', () => {
    // Prepare
    const response = { id: 'chatcmpl-1', object: 'chat.completion', choices: [], usage };

    // Act
    const u = openaiChat.usageFromJson(response);

    // Assess
    expect(u).toEqual({
      input_tokens: 200,
      output_tokens: 300,
      cache_read_tokens: 1_000,
      cache_write_5m_tokens: 0,
      cache_write_1h_tokens: 0,
      reasoning_tokens: 200,
    });
  });

  it('reads a response without details, and none from a body without usage', () => {
    // Prepare
    const plain = { usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } };
    const bare = { choices: [] };

    // Act
    const usages = [openaiChat.usageFromJson(plain), openaiChat.usageFromJson(bare)];

    // Assess
    expect(usages[0]).toMatchObject({
      input_tokens: 7,
      output_tokens: 3,
      cache_read_tokens: 0,
      reasoning_tokens: 0,
    });
    expect(usages[1]).toBeUndefined();
  });
});

describe('openaiChat stream meter', () => {
  it('reads usage from the usage-only chunk', () => {
    // Prepare
    const body = stream;

    // Act
    const { meter } = meterStream(body, false);

    // Assess
    expect(meter.usage()).toEqual({
      input_tokens: 200,
      output_tokens: 300,
      cache_read_tokens: 1_000,
      cache_write_5m_tokens: 0,
      cache_write_1h_tokens: 0,
      reasoning_tokens: 200,
    });
    expect(meter.generatedText()).toBe('Hi thére');
  });

  it('hides the usage-only chunk from a client that did not ask for usage', () => {
    // Prepare
    const body = stream;

    // Act
    const { meter, forwarded } = meterStream(body, true);

    // Assess
    expect(meter.usage()?.output_tokens).toBe(300);
    expect(forwarded).not.toContain('"usage"');
    expect(forwarded).toBe(body.replace(/data: \{[^\n]*"usage"[^\n]*\n\n/, ''));
    expect(forwarded.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('passes the usage-only chunk to a client that asked for usage', () => {
    // Prepare
    const meter = openaiChat.createMeter({ stripUsageChunk: false });

    // Act
    const verdict = meter.onEvent({ event: undefined, data: JSON.stringify({ choices: [], usage }) });

    // Assess
    expect(verdict).toBe('keep');
  });

  it('keeps a chunk that carries usage alongside a choice, even when stripping', () => {
    // Prepare
    // Some OpenAI-compatible providers attach usage to the last content chunk.
    const meter = openaiChat.createMeter({ stripUsageChunk: true });
    const last = { ...chunk({ content: 'end' }, 'stop'), usage };

    // Act
    const verdict = meter.onEvent({ event: undefined, data: JSON.stringify(last) });

    // Assess
    expect(verdict).toBe('keep');
    expect(meter.usage()?.cache_read_tokens).toBe(1_000);
    expect(meter.generatedText()).toBe('end');
  });

  it('reports no usage when the stream ends without a usage chunk', () => {
    // Prepare
    const body = [data(chunk({ content: 'Hi' })), data('[DONE]')].join('');

    // Act
    const { meter } = meterStream(body, true);

    // Assess
    expect(meter.usage()).toBeUndefined();
    expect(meter.error()).toBeUndefined();
  });

  it('reads the error type from an error chunk', () => {
    // Prepare
    const body = data({ error: { message: 'The server had an error', type: 'server_error', code: null } });

    // Act
    const { meter } = meterStream(body, true);

    // Assess
    expect(meter.error()).toBe('server_error');
  });
});

describe('openaiChat.upstreamBody', () => {
  const body = (extra: Record<string, unknown> = {}) => ({
    model: 'gpt-4.1',
    messages: [{ role: 'user', content: 'hi' }],
    ...extra,
  });
  const send = (b: Record<string, unknown>, cap?: number) =>
    openaiChat.upstreamBody(b, openaiChat.parseRequest(b), cap);

  it('asks a stream for usage and hides it from a client that did not', () => {
    // Prepare
    const client = body({ stream: true });

    // Act
    const out = send(client);

    // Assess
    expect(out).toEqual({
      body: { ...client, stream_options: { include_usage: true } },
      stripUsageChunk: true,
    });
    expect(client).not.toHaveProperty('stream_options');
  });

  it('keeps the other stream options and hides usage when the client turned it off', () => {
    // Prepare
    const client = body({
      stream: true,
      stream_options: { include_usage: false, include_obfuscation: false },
    });

    // Act
    const out = send(client);

    // Assess
    expect(out.body.stream_options).toEqual({ include_usage: true, include_obfuscation: false });
    expect(out.stripUsageChunk).toBe(true);
  });

  it('leaves usage visible to a client that asked for it, and its body as it came', () => {
    // Prepare
    const client = body({ stream: true, stream_options: { include_usage: true } });

    // Act
    const out = send(client);

    // Assess: the same object, so the pipeline forwards the client's bytes without re-serialising
    expect(out.stripUsageChunk).toBe(false);
    expect(out.body).toBe(client);
  });

  it('leaves a non-streaming body alone', () => {
    // Prepare
    const client = body({ max_completion_tokens: 100 });

    // Act
    const out = send(client);

    // Assess
    expect(out).toEqual({ body: client, stripUsageChunk: false });
  });

  it.each([
    ['max_tokens when that is the field the client used', { max_tokens: 5_000 }, { max_tokens: 1_024 }],
    [
      'max_completion_tokens when the client used it',
      { max_completion_tokens: 5_000 },
      { max_completion_tokens: 1_024 },
    ],
    ['max_completion_tokens when the client set no limit', {}, { max_completion_tokens: 1_024 }],
    [
      'max_completion_tokens when the client sent both',
      { max_tokens: 9_000, max_completion_tokens: 5_000 },
      { max_tokens: 9_000, max_completion_tokens: 1_024 },
    ],
  ])('caps the output through %s', (_, limits, expected) => {
    // Prepare
    const client = body(limits);

    // Act
    const out = send(client, 1_024);

    // Assess
    expect(out.body).toEqual({ ...client, ...expected });
  });

  it('does not raise a client limit that is already below the cap', () => {
    // Prepare
    const client = body({ max_completion_tokens: 500 });

    // Act
    const out = send(client, 1_024);

    // Assess
    expect(out.body).toBe(client);
  });
});

describe('openaiChat errors', () => {
  it.each([
    ['invalid_request', 'invalid_request_error', null],
    ['authentication', 'invalid_request_error', 'invalid_api_key'],
    ['permission', 'permission_error', 'permission_denied'],
    ['budget_exceeded', 'insufficient_quota', 'budget_exceeded'],
    ['rate_limited', 'rate_limit_error', 'rate_limit_exceeded'],
    ['too_large', 'invalid_request_error', 'request_too_large'],
    ['upstream', 'server_error', 'upstream_error'],
    ['upstream_timeout', 'server_error', 'upstream_timeout'],
  ] as Array<[ErrorKind, string, string | null]>)('shapes %s as type %s, code %s', (kind, type, code) => {
    // Prepare
    const message = 'something happened';

    // Act
    const err = openaiChat.errorBody(kind, message);

    // Assess
    expect(err).toEqual({ error: { message, type, param: null, code } });
  });

  it('sends a mid-stream error as a data-only event the meter reads back', () => {
    // Prepare
    const event = openaiChat.streamErrorEvent('upstream_timeout', 'Upstream timed out');

    // Act
    const { meter } = meterStream(event, false, 4);

    // Assess
    expect(event.startsWith('data: {"error":')).toBe(true);
    expect(meter.error()).toBe('server_error');
  });
});
