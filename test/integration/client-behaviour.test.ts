/**
 * What clients do to a running gateway, through `npm start`'s own process: press Esc before the
 * answer, close fifty connections at once, send absurd bodies and headers. Invariants: the process
 * stays alive and keeps serving, every request that reached the gateway leaves exactly one usage
 * record, nothing stays reserved, and a client that leaves cancels the provider call.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

let upstream: MockUpstream;
let gateway: GatewayProcess;
let key: string;

const LONG_TEXT = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');

beforeAll(async () => {
  upstream = await startMockUpstream();
  gateway = await startGatewayProcess(upstream.url);
  key = await gateway.createKey({ key_alias: 'client-behaviour', max_budget: 100 });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

beforeEach(() => {
  upstream.script = { text: LONG_TEXT, usage: { input_tokens: 40, output_tokens: 60 } };
});

function messages(body: Record<string, unknown> = {}, init: RequestInit = {}): Promise<Response> {
  return fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    ...init,
    headers: {
      'x-api-key': key,
      'content-type': 'application/json',
      'anthropic-version': '2023-06-01',
      ...(init.headers as Record<string, string>),
    },
    body: JSON.stringify({
      model: 'claude-sonnet-4-5',
      max_tokens: 1000,
      stream: true,
      messages: [{ role: 'user', content: 'hello' }],
      ...body,
    }),
  });
}

async function reservedMicros(): Promise<number> {
  const { info } = (await gateway.admin(`/key/info?key=${encodeURIComponent(key)}`)) as {
    info: { reserved_micros: number };
  };
  return info.reserved_micros;
}

async function serving(): Promise<boolean> {
  const health = await fetch(`${gateway.url}/health`);
  return gateway.alive() && health.status === 200;
}

async function settled(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a client that leaves', () => {
  it('before the response starts does not end the process, leaves one record and cancels the provider call', async () => {
    upstream.script.delayMs = 2_000;
    const before = (await gateway.records()).length;
    const abandonedBefore = upstream.abandoned;
    const sentBefore = upstream.requests.length;

    // The client leaves once the provider has the request and before it answers (however long the
    // gateway took to get there on a busy machine).
    const client = new AbortController();
    const pending = messages({}, { signal: client.signal }).catch((e: Error) => e.name);
    await settled(() => upstream.requests.length > sentBefore);
    client.abort();
    const left = await pending;

    expect(left).toBe('AbortError');
    expect(await serving()).toBe(true);
    await settled(() => upstream.abandoned > abandonedBefore);
    const records = await gateway.records(before + 1);
    expect(records).toHaveLength(before + 1);
    const record = records.find((r) => r.outcome === 'client_closed');
    expect(record).toMatchObject({ outcome: 'client_closed', usage_source: 'estimated' });
    expect(record?.input_tokens).toBeGreaterThan(0);
    expect(await reservedMicros()).toBe(0);
  });

  it('fifty at once mid-stream leave fifty records, nothing held, and the gateway serving', async () => {
    upstream.script.chunkDelayMs = 30;
    const before = (await gateway.records()).length;
    const controllers = Array.from({ length: 50 }, () => new AbortController());

    const responses = await Promise.all(controllers.map((c) => messages({}, { signal: c.signal })));
    await Promise.all(responses.map(async (r) => r.body?.getReader().read()));
    for (const c of controllers) c.abort();

    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(await serving()).toBe(true);
    const records = await gateway.records(before + 50);
    expect(records).toHaveLength(before + 50);
    const ids = new Set(records.map((r) => r.request_id));
    expect(ids.size).toBe(records.length);
    await settled(async () => (await reservedMicros()) === 0);
    const after = await messages({ stream: false });
    expect(after.status).toBe(200);
  });
});

describe('bodies and headers no client should send', () => {
  const nested = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;

  it.each([
    ['/v1/messages/count_tokens', { 'x-api-key': '' }, 'anthropic'],
    ['/v1/messages', { 'x-api-key': '' }, 'anthropic'],
    ['/v1/chat/completions', { authorization: '' }, 'openai'],
    ['/v1/responses', { authorization: '' }, 'openai'],
  ] as const)('a body nested 50,000 levels deep to %s is a 400 in its shape', async (path, auth, shape) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if ('x-api-key' in auth) headers['x-api-key'] = key;
    else headers.authorization = `Bearer ${key}`;
    const body = `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":${nested}}]}`;

    const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers, body });

    expect(response.status).toBe(400);
    const error = (await response.json()) as Record<string, unknown>;
    if (shape === 'anthropic')
      expect(error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    else expect(error).toMatchObject({ error: { type: 'invalid_request_error' } });
    expect(JSON.stringify(error)).toMatch(/nest/i);
    expect(await serving()).toBe(true);
  });

  it('a nested admin body is a 400, not a crash', async () => {
    const response = await fetch(`${gateway.url}/key/generate`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-master-test', 'content-type': 'application/json' },
      body: `{"metadata":${nested}}`,
    });

    expect(response.status).toBe(400);
    expect(await serving()).toBe(true);
  });

  it('headers over 16 KB get a 431 in the protocol shape', async () => {
    const response = await messages(
      {},
      {
        headers: { 'x-padding': 'p'.repeat(40_000) },
      },
    );

    expect(response.status).toBe(431);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(await serving()).toBe(true);
  });

  it('a body over the limit on an Anthropic route is a 413 in the Anthropic shape', async () => {
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', pad: 'x'.repeat(7 * 1024 * 1024) }),
    });

    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'request_too_large' } });
    expect(await serving()).toBe(true);
  });

  it('a malformed escape in a dashboard path is a 400', async () => {
    const response = await fetch(`${gateway.url}/%E0%A4%A`);

    expect(response.status).toBe(400);
    expect(await serving()).toBe(true);
  });
});

describe('a request target without a usable host', () => {
  /** Sends raw bytes and reads until the server closes the connection. */
  async function raw(text: string): Promise<string> {
    const { port } = new URL(gateway.url);
    const socket = connect(Number(port), '127.0.0.1');
    socket.end(text);
    let answer = '';
    for await (const chunk of socket) answer += String(chunk);
    return answer;
  }
  const body = '{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[]}';
  const post = (path: string, hostLine: string, version = '1.1') =>
    `POST ${path} HTTP/${version}\r\n${hostLine}content-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`;

  it.each([
    ['no Host, as HTTP/1.0 allows', post('/v1/messages', '', '1.0'), '{"type":"error","error":{'],
    ['a Host with a space', post('/v1/messages', 'Host: a b\r\n'), '{"type":"error","error":{'],
    ['a port past 65535', post('/v1/chat/completions', 'Host: x:99999\r\n'), '{"error":{'],
    ['OPTIONS *', 'OPTIONS * HTTP/1.1\r\nHost: localhost\r\nconnection: close\r\n\r\n', '"error":{'],
  ])('%s is a 400 in the shape its path asks for, not a 500', async (_, request, shape) => {
    // Act
    const answer = await raw(request);

    // Assess
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain(shape);
    expect(answer).toContain('no valid Host header');
    expect(await serving()).toBe(true);
  });
});

describe('a tool whose type is not a string', () => {
  it.each([['/v1/messages'], ['/v1/messages/count_tokens']])(
    'to %s is answered as the provider answers it, not with a 500',
    async (path) => {
      // Prepare: an object that JavaScript cannot turn into a string
      const body = JSON.stringify({
        model: 'claude-sonnet-4-5',
        max_tokens: 10,
        tools: [{ type: { toString: 1 } }],
        messages: [{ role: 'user', content: 'hello' }],
      });

      // Act
      const response = await fetch(`${gateway.url}${path}`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body,
      });
      await response.text();

      // Assess
      expect(response.status).toBe(200);
      expect(await serving()).toBe(true);
    },
  );
});

describe('a prompt the tokenizer finds hardest', () => {
  it('is estimated without stopping the gateway: a million letters in a row to count_tokens', async () => {
    // Prepare: count_tokens reports no usage, so each is estimated; counted whole, a run of letters
    // like this held the event loop for minutes (BPE's work grows with the square of a run's length)
    const content = `${'a'.repeat(1_000_000)}!`;

    // Act
    const response = await fetch(`${gateway.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content }] }),
    });
    await response.text();
    const id = response.headers.get('x-tollgate-request-id');

    // Assess: served, still serving, and its one record carries the estimate
    expect(response.status).toBe(200);
    expect(await serving()).toBe(true);
    const recorded = async () => (await gateway.records()).filter((r) => r.request_id === id);
    await settled(async () => (await recorded()).length > 0);
    expect(await recorded()).toEqual([
      expect.objectContaining({ usage_source: 'estimated', input_tokens: expect.any(Number) }),
    ]);
    expect((await recorded())[0]?.input_tokens).toBeGreaterThan(100_000);
  });
});

describe('more large bodies at once than the process should hold', () => {
  let small: GatewayProcess;
  let smallKey: string;
  beforeAll(async () => {
    // 12 MiB of bodies at once: six of the 2 MB bodies below.
    small = await startGatewayProcess(upstream.url, {
      TOLLGATE_BODY_BYTES_IN_FLIGHT: String(12 * 1024 * 1024),
    });
    smallKey = await small.createKey({ key_alias: 'large-bodies', max_budget: 1_000 });
  });
  afterAll(async () => {
    await small?.close();
  });

  it('are refused past the bound with a 503 the client retries, in its shape, each with its record', async () => {
    // Prepare: ten 2 MB bodies at once, the provider answering each after 400 ms
    upstream.script = { ...upstream.script, delayMs: 400 };
    const body = JSON.stringify({
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'Read the file and fix the test. '.repeat(62_500) }],
    });
    const send = () =>
      fetch(`${small.url}/v1/messages`, {
        method: 'POST',
        headers: {
          'x-api-key': smallKey,
          'content-type': 'application/json',
          'anthropic-version': '2023-06-01',
        },
        body,
      });

    // Act
    const answers = await Promise.all(Array.from({ length: 10 }, send));
    const refused = answers.filter((a) => a.status === 503);
    const bodies = await Promise.all(answers.map((a) => a.json()));
    const refusal = bodies[answers.findIndex((a) => a.status === 503)];
    upstream.script = { ...upstream.script, delayMs: 0 };
    const after = await send();

    // Assess: at most six held at once (bytes are counted as they arrive, so which come first may
    // vary), the rest told to come back; nothing lost, nothing held, still serving
    const served = answers.filter((a) => a.status === 200).length;
    expect(served).toBeGreaterThanOrEqual(1);
    expect(served).toBeLessThanOrEqual(6);
    expect(refused).toHaveLength(10 - served);
    expect(refused[0]?.headers.get('retry-after')).toBe('2');
    expect(refusal).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect(after.status).toBe(200);
    const records = await small.records(11);
    expect(records.filter((r) => r.outcome === 'denied' && r.error_type === 'overloaded')).toHaveLength(
      10 - served,
    );
    expect(records.filter((r) => r.outcome === 'success')).toHaveLength(served + 1);
    expect(small.alive()).toBe(true);
  });

  it('are counted as they arrive: uploads that declare 6 MiB and stall hold what they sent, not the bound', async () => {
    // Prepare: three uploads that declare 6 MiB each (18 MiB, past the 12 MiB bound) and send one byte
    const { port } = new URL(small.url);
    const stalled = Array.from({ length: 3 }, () => {
      const socket = connect(Number(port), '127.0.0.1');
      socket.write(
        `POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\nx-api-key: ${smallKey}\r\ncontent-type: application/json\r\ncontent-length: ${6 * 1024 * 1024}\r\n\r\n{`,
      );
      return socket;
    });
    await new Promise((r) => setTimeout(r, 300));

    // Act: somebody else's ordinary request
    const response = await fetch(`${small.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': smallKey,
        'content-type': 'application/json',
        'anthropic-version': '2023-06-01',
      },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [] }),
    });
    await response.text();
    for (const socket of stalled) socket.destroy();

    // Assess: served; before, two declared 6 MiB bodies held the whole bound and it was told to retry
    expect(response.status).toBe(200);
    expect(small.alive()).toBe(true);
  });
});
