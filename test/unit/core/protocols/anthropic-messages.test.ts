import { describe, expect, it } from 'vitest';
import { type ErrorKind, GatewayError } from '../../../../functions/core/errors.ts';
import { ZERO_USAGE } from '../../../../functions/core/pricing/cost.ts';
import {
  anthropicCountTokens,
  anthropicMessages,
  DEFAULT_WEB_SEARCH_USES,
} from '../../../../functions/core/protocols/anthropic-messages.ts';
import { createSseTap } from '../../../../functions/core/protocols/sse.ts';

const encoder = new TextEncoder();
const thrownBy = (fn: () => unknown): unknown => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err;
  }
};
const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/** Runs a whole SSE body through a tap and the protocol's meter, in chunks of `chunkSize` bytes. */
function meterStream(body: string, chunkSize = 17) {
  const meter = anthropicMessages.createMeter({ stripUsageChunk: false });
  const tap = createSseTap((e) => meter.onEvent(e), { rewrite: false });
  const all = encoder.encode(body);
  const forwarded: Uint8Array[] = [];
  for (let i = 0; i < all.length; i += chunkSize) {
    const out = tap.push(all.slice(i, i + chunkSize));
    if (out) forwarded.push(out);
  }
  tap.end();
  return { meter, forwarded: new TextDecoder().decode(Buffer.concat(forwarded)) };
}

/** A stream as the Messages API sends it (https://docs.anthropic.com/en/docs/build-with-claude/streaming). */
function claudeStream(startUsage: Record<string, unknown>, deltaUsage: Record<string, unknown>): string {
  return [
    sse('message_start', {
      type: 'message_start',
      message: {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-5-20250929',
        content: [],
        stop_reason: null,
        usage: startUsage,
      },
    }),
    sse('content_block_start', {
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '' },
    }),
    'event: ping\ndata: {"type": "ping"}\n\n',
    sse('content_block_delta', {
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text: 'Hello' },
    }),
    sse('content_block_delta', {
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text: ', wörld' },
    }),
    sse('content_block_stop', { type: 'content_block_stop', index: 0 }),
    sse('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: deltaUsage,
    }),
    sse('message_stop', { type: 'message_stop' }),
  ].join('');
}

describe('anthropicMessages.parseRequest', () => {
  it.each([
    [[{ name: 'read_file', input_schema: { type: 'object' } }], 600],
    [[], 0],
    [undefined, 0],
  ])('holds the tool-use system prompt Anthropic adds to a request with tools %j', (tools, added) => {
    // Prepare
    const body = { model: 'claude-sonnet-4-5', max_tokens: 100, messages: [], ...(tools && { tools }) };

    // Act
    const parsed = anthropicMessages.parseRequest(body);

    // Assess
    expect(parsed.addedPromptTokens).toBe(added);
  });

  it('reads model, stream and max_tokens and leaves other fields alone', () => {
    // Prepare
    const body = {
      model: 'claude-sonnet-4-5-20250929',
      max_tokens: 64_000,
      stream: true,
      messages: [{ role: 'system', content: 'be brief' }],
      thinking: { type: 'enabled', budget_tokens: 31_999 },
    };
    const copy = structuredClone(body);

    // Act
    const parsed = anthropicMessages.parseRequest(body);

    // Assess
    expect(parsed).toEqual({
      model: 'claude-sonnet-4-5-20250929',
      stream: true,
      maxOutputTokens: 64_000,
      webSearches: 0,
      addedPromptTokens: 0,
      sessionId: undefined,
      tags: [],
      generates: true,
    });
    expect(body).toEqual(copy);
  });

  it('takes the session id from the JSON string Claude Code puts in metadata.user_id', () => {
    // Prepare
    const userId = JSON.stringify({
      device_id: 'c0ffee'.repeat(10),
      account_uuid: '',
      session_id: '0a6f3e8e-4c1b-4b7e-9a51-2f1f7d9c1e42',
    });
    const body = { model: 'claude-opus-4-5', max_tokens: 10, metadata: { user_id: userId } };

    // Act
    const parsed = anthropicMessages.parseRequest(body);

    // Assess
    expect(parsed.sessionId).toBe('0a6f3e8e-4c1b-4b7e-9a51-2f1f7d9c1e42');
  });

  it('takes the session id from the older user_…_session_<uuid> form', () => {
    // Prepare
    const userId = `user_${'ab'.repeat(32)}_account__session_5d7c1c1e-8a4f-4d55-9b0e-0c4a2f6e9b11`;
    const body = { model: 'claude-opus-4-5', max_tokens: 10, metadata: { user_id: userId } };

    // Act
    const parsed = anthropicMessages.parseRequest(body);

    // Assess
    expect(parsed.sessionId).toBe('5d7c1c1e-8a4f-4d55-9b0e-0c4a2f6e9b11');
  });

  it.each([
    ['no metadata', undefined],
    ['a plain user id', { user_id: 'alice' }],
    ['JSON without a session_id', { user_id: '{"device_id":"x"}' }],
    ['text that only looks like JSON', { user_id: '{not json' }],
    ['a non-string user_id', { user_id: 42 }],
  ])('has no session id with %s', (_, metadata) => {
    // Prepare
    const body = { model: 'claude-opus-4-5', max_tokens: 10, metadata };

    // Act
    const parsed = anthropicMessages.parseRequest(body);

    // Assess
    expect(parsed.sessionId).toBeUndefined();
  });

  it.each([
    ['no model', { max_tokens: 10 }, /model/],
    ['an empty model', { model: '', max_tokens: 10 }, /model/],
    ['max_tokens 0', { model: 'm', max_tokens: 0 }, /max_tokens/],
    ['max_tokens as a string', { model: 'm', max_tokens: '64' }, /max_tokens/],
  ])('rejects %s with a 400', (_, body, message) => {
    // Prepare
    const request = body as Record<string, unknown>;

    // Act
    const err = thrownBy(() => anthropicMessages.parseRequest(request));

    // Assess
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ status: 400, message: expect.stringMatching(message) });
  });

  it('treats only stream: true as streaming', () => {
    // Prepare
    const bodies = [{ stream: 'true' }, { stream: 1 }, {}].map((b) => ({ model: 'm', max_tokens: 1, ...b }));

    // Act
    const streams = bodies.map((b) => anthropicMessages.parseRequest(b).stream);

    // Assess
    expect(streams).toEqual([false, false, false]);
  });
});

describe('anthropicMessages.usageFromJson', () => {
  it('reads input, output, cache reads and the 5m/1h cache-write split', () => {
    // Prepare
    const response = {
      id: 'msg_1',
      type: 'message',
      usage: {
        input_tokens: 12,
        output_tokens: 34,
        cache_read_input_tokens: 100,
        cache_creation_input_tokens: 50,
        cache_creation: { ephemeral_5m_input_tokens: 20, ephemeral_1h_input_tokens: 30 },
        service_tier: 'standard',
      },
    };

    // Act
    const usage = anthropicMessages.usageFromJson(response);

    // Assess
    expect(usage).toEqual({
      input_tokens: 12,
      output_tokens: 34,
      cache_read_tokens: 100,
      cache_write_5m_tokens: 20,
      cache_write_1h_tokens: 30,
      reasoning_tokens: 0,
      web_search_requests: 0,
    });
  });

  it('counts cache writes as 5-minute writes when the split is absent', () => {
    // Prepare
    const response = { usage: { input_tokens: 5, output_tokens: 6, cache_creation_input_tokens: 700 } };

    // Act
    const usage = anthropicMessages.usageFromJson(response);

    // Assess
    expect(usage).toMatchObject({ cache_write_5m_tokens: 700, cache_write_1h_tokens: 0 });
  });

  it('reads null cache fields as zero and finds no usage in an error body', () => {
    // Prepare
    const ok = {
      usage: {
        input_tokens: 5,
        output_tokens: 6,
        cache_read_input_tokens: null,
        cache_creation_input_tokens: null,
      },
    };
    const error = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } };

    // Act
    const usages = [anthropicMessages.usageFromJson(ok), anthropicMessages.usageFromJson(error)];

    // Assess
    expect(usages).toEqual([{ ...ZERO_USAGE, input_tokens: 5, output_tokens: 6 }, undefined]);
  });
});

describe('anthropicMessages stream meter', () => {
  const start = {
    input_tokens: 10,
    cache_creation_input_tokens: 300,
    cache_read_input_tokens: 2_000,
    cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 200 },
    output_tokens: 1,
  };

  it('combines message_start input and cache counts with message_delta output', () => {
    // Prepare
    const body = claudeStream(start, { output_tokens: 57 });

    // Act
    const { meter } = meterStream(body);

    // Assess
    expect(meter.usage()).toEqual({
      input_tokens: 10,
      output_tokens: 57,
      cache_read_tokens: 2_000,
      cache_write_5m_tokens: 100,
      cache_write_1h_tokens: 200,
      reasoning_tokens: 0,
      web_search_requests: 0,
    });
  });

  it('keeps the 5m/1h split when message_delta repeats the cumulative totals without it', () => {
    // Prepare
    const body = claudeStream(start, {
      input_tokens: 10,
      cache_creation_input_tokens: 300,
      cache_read_input_tokens: 2_000,
      output_tokens: 57,
    });

    // Act
    const { meter } = meterStream(body);

    // Assess
    expect(meter.usage()).toEqual({
      input_tokens: 10,
      output_tokens: 57,
      cache_read_tokens: 2_000,
      cache_write_5m_tokens: 100,
      cache_write_1h_tokens: 200,
      reasoning_tokens: 0,
      web_search_requests: 0,
    });
  });

  it('takes message_delta counts that differ from message_start as the final ones, not added to them', () => {
    // Prepare
    // e.g. server tool use adds input during the turn; message_delta then carries the new cumulative totals
    const body = claudeStream(start, {
      input_tokens: 25,
      cache_creation_input_tokens: 300,
      cache_read_input_tokens: 2_500,
      cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 200 },
      output_tokens: 57,
    });

    // Act
    const { meter } = meterStream(body);

    // Assess
    expect(meter.usage()).toMatchObject({ input_tokens: 25, cache_read_tokens: 2_500, output_tokens: 57 });
  });

  it('forwards every event unchanged and keeps each one', () => {
    // Prepare
    const body = claudeStream(start, { output_tokens: 57 });
    const meter = anthropicMessages.createMeter({ stripUsageChunk: true });

    // Act
    const verdicts = body
      .split('\n\n')
      .filter(Boolean)
      .map((raw) => {
        const event = /^event: (.*)$/m.exec(raw)?.[1];
        const data = /^data: (.*)$/m.exec(raw)?.[1] ?? '';
        return meter.onEvent({ event, data });
      });
    const { forwarded } = meterStream(body, 5);

    // Assess
    expect(verdicts).toEqual(Array(8).fill('keep'));
    expect(forwarded).toBe(body);
  });

  it('counts generated characters from content deltas', () => {
    // Prepare
    const body = claudeStream(start, { output_tokens: 57 });

    // Act
    const { meter } = meterStream(body);

    // Assess
    expect(meter.generatedText()).toBe('Hello, wörld');
  });

  it('reports no usage when the stream is cut before message_start, and the error type of an error event', () => {
    // Prepare
    const body = sse('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });

    // Act
    const { meter } = meterStream(body);

    // Assess
    expect(meter.usage()).toBeUndefined();
    expect(meter.error()).toBe('overloaded_error');
  });
});

describe('anthropicMessages.upstreamBody', () => {
  const body = { model: 'claude-opus-4-5', max_tokens: 64_000, stream: true, messages: [] };
  const request = anthropicMessages.parseRequest(body);

  it('lowers max_tokens to the budget cap without touching the client body', () => {
    // Prepare
    const cap = 12_345;

    // Act
    const out = anthropicMessages.upstreamBody(body, request, cap);

    // Assess
    expect(out).toEqual({ body: { ...body, max_tokens: 12_345 }, stripUsageChunk: false });
    expect(body.max_tokens).toBe(64_000);
  });

  it('sends the body as is when there is no cap or the cap is above the client limit', () => {
    // Prepare
    const caps = [undefined, 64_000, 100_000];

    // Act
    const outs = caps.map((cap) => anthropicMessages.upstreamBody(body, request, cap).body);

    // Assess
    for (const out of outs) expect(out).toBe(body);
  });

  it('sets max_tokens from the cap when the client sent none', () => {
    // Prepare
    const bare = { model: 'claude-opus-4-5', messages: [] };

    // Act
    const out = anthropicMessages.upstreamBody(bare, anthropicMessages.parseRequest(bare), 2_048);

    // Assess
    expect(out.body).toEqual({ ...bare, max_tokens: 2_048 });
  });
});

describe('anthropicMessages errors', () => {
  it.each([
    ['invalid_request', 'invalid_request_error'],
    ['authentication', 'authentication_error'],
    ['permission', 'permission_error'],
    ['not_found', 'not_found_error'],
    ['budget_exceeded', 'billing_error'],
    ['rate_limited', 'rate_limit_error'],
    ['too_large', 'request_too_large'],
    ['upstream', 'api_error'],
    ['upstream_timeout', 'timeout_error'],
    ['internal', 'api_error'],
  ] as Array<[ErrorKind, string]>)('shapes %s as an Anthropic %s', (kind, type) => {
    // Prepare
    const message = 'something happened';

    // Act
    const body = anthropicMessages.errorBody(kind, message);

    // Assess
    expect(body).toEqual({ type: 'error', error: { type, message } });
  });

  it('sends a mid-stream error as an `error` event the SSE tap and meter read back', () => {
    // Prepare
    const event = anthropicMessages.streamErrorEvent('budget_exceeded', 'Budget exceeded');

    // Act
    const { meter } = meterStream(event, 3);

    // Assess
    expect(event.startsWith('event: error\ndata: ')).toBe(true);
    expect(event.endsWith('\n\n')).toBe(true);
    expect(meter.error()).toBe('billing_error');
  });
});

describe('the web search tool', () => {
  const webSearch = (extra: Record<string, unknown> = {}) => ({
    type: 'web_search_20250305',
    name: 'web_search',
    ...extra,
  });
  const body = (tools: unknown[]) => ({ model: 'claude-sonnet-4-5', max_tokens: 1_024, tools, messages: [] });

  it('allows the searches of max_uses, the default without it, and none without the tool', () => {
    // Prepare
    const bodies = [
      body([webSearch({ max_uses: 3 })]),
      body([webSearch()]),
      body([{ type: 'web_search_20260209', name: 'web_search', max_uses: 2 }]),
      body([{ name: 'get_weather', input_schema: { type: 'object' } }, { type: 'web_fetch_20250910' }]),
      { model: 'claude-sonnet-4-5', messages: [] },
    ];

    // Act
    const allowed = bodies.map((b) => anthropicMessages.parseRequest(b).webSearches);

    // Assess
    expect(allowed).toEqual([3, DEFAULT_WEB_SEARCH_USES, 2, 0, 0]);
  });

  it.each([[0], [2.5], ['3'], [-1]])('rejects max_uses %j with a 400', (maxUses) => {
    // Prepare
    const request = body([webSearch({ max_uses: maxUses })]);

    // Act
    const err = thrownBy(() => anthropicMessages.parseRequest(request));

    // Assess
    expect(err).toMatchObject({ status: 400, message: expect.stringMatching(/max_uses/) });
  });

  it('sends the default max_uses with a web search tool that has none, and leaves the others alone', () => {
    // Prepare
    const other = { name: 'get_weather', input_schema: { type: 'object' } };
    const limited = body([webSearch({ max_uses: 2 }), other]);
    const open = body([webSearch(), other]);

    // Act
    const [same, filled] = [limited, open].map(
      (b) => anthropicMessages.upstreamBody(b, anthropicMessages.parseRequest(b), undefined).body,
    );

    // Assess
    expect(same).toBe(limited);
    expect(filled).toEqual({ ...open, tools: [webSearch({ max_uses: DEFAULT_WEB_SEARCH_USES }), other] });
    expect(open.tools[0]).toEqual(webSearch());
  });

  it('passes a token count through as the client wrote it, with nothing held', () => {
    // Prepare
    const request = body([webSearch()]);

    // Act
    const parsed = anthropicCountTokens.parseRequest(request);
    const out = anthropicCountTokens.upstreamBody(request, parsed, undefined).body;

    // Assess
    expect(parsed.webSearches).toBe(0);
    expect(out).toBe(request);
  });

  it('reads the searches run from usage.server_tool_use, in JSON and in a stream', () => {
    // Prepare
    const usage = { input_tokens: 9, output_tokens: 40, server_tool_use: { web_search_requests: 3 } };
    const stream = claudeStream({ input_tokens: 9, output_tokens: 1 }, usage);

    // Act
    const fromJson = anthropicMessages.usageFromJson({ type: 'message', usage });
    const fromStream = meterStream(stream).meter.usage();

    // Assess
    expect(fromJson?.web_search_requests).toBe(3);
    expect(fromStream?.web_search_requests).toBe(3);
  });

  it('bills the searches a stream started when it ends before its final usage', () => {
    // Prepare: two searches start, then the connection drops before message_delta.
    const search = (index: number) =>
      sse('content_block_start', {
        type: 'content_block_start',
        index,
        content_block: { type: 'server_tool_use', id: `srvtoolu_${index}`, name: 'web_search', input: {} },
      });
    const fetch = sse('content_block_start', {
      type: 'content_block_start',
      index: 2,
      content_block: { type: 'server_tool_use', id: 'srvtoolu_2', name: 'web_fetch', input: {} },
    });
    const start = claudeStream({ input_tokens: 9, output_tokens: 1 }, {}).split(
      'event: content_block_start',
    )[0];
    const cut = `${start}${search(0)}${search(1)}${fetch}`;

    // Act
    const usage = meterStream(cut).meter.usage();

    // Assess
    expect(usage?.web_search_requests).toBe(2);
  });
});
