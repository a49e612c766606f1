import Anthropic from '@anthropic-ai/sdk';
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import OpenAI, { APIError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../functions/core/usage/record.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

/**
 * What a strict budget holds for the multipliers a provider bills on top of one answer's tokens:
 * `n` choices on OpenAI Chat Completions, and per-search fees of Anthropic's web search tool.
 *
 * Prices (µ$ per token = USD per million): gpt-4.1 2 in / 8 out; claude-sonnet-4-5 3 in / 15 out,
 * 3.75 and 6 for cache writes (so a prompt token is held at 6); a web search is $10 per 1,000 = 10,000 µ$.
 * The mock stops each answer at the request's output limit, as a real model does.
 */
const SEARCH_MICROS = 10_000;
let mock: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startTestGateway(mock.url);
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});
beforeEach(() => {
  mock.script.text = 'An answer.';
  mock.script.honourMaxTokens = true;
  mock.script.webSearches = undefined;
  mock.script.responder = undefined;
});

const openai = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
const anthropic = (apiKey: string) => new Anthropic({ apiKey, baseURL: gateway.url, maxRetries: 0 });
const messages = [{ role: 'user' as const, content: 'Write eight haiku about budgets.' }];

/** The invariant of a strict key: spend is the sum of its records, within the limit, nothing left held. */
async function expectSettledWithin(key: string, limitMicros: number): Promise<UsageRecord[]> {
  await gateway.proxy.drain();
  const info = await gateway.keyInfo(key);
  const records = (await gateway.records()).filter((r) => r.key_id === info.key_id);
  expect(info.spend_micros).toBe(records.reduce((sum, r) => sum + r.cost_micros, 0));
  expect(info.spend_micros).toBeLessThanOrEqual(limitMicros);
  expect(info.reserved_micros).toBe(0);
  return records;
}

async function statusOf(request: Promise<unknown>): Promise<number> {
  try {
    await request;
    return 200;
  } catch (err) {
    if (err instanceof APIError || err instanceof Anthropic.APIError) return err.status ?? 0;
    throw err;
  }
}

describe('n choices on OpenAI Chat Completions', () => {
  it('holds n times the output cap, lowers the cap per choice, and refuses n choices it cannot pay for', async () => {
    // Prepare: $0.10 strict. The mock answers 10 prompt tokens and 1,000 output tokens per choice.
    //   A: n=8 × 1,000 → 10 × 2 + 8,000 × 8 = 64,020 µ$ (fits: held ≈ prompt + 64,000).
    //   B: n=2 × 4,000 would hold 64,000 + prompt > 35,980 left → each choice capped to
    //      (35,980 − prompt) / (2 × 8) ≈ 2,240 tokens, above the 1,024 minimum.
    //   C: n=8 × 1,000: what is left pays for far fewer than 1,024 tokens per choice → 402.
    const LIMIT = 100_000;
    const { key } = await gateway.createKey({ key_alias: 'n-strict', max_budget: 0.1 });
    mock.script.usage = { input_tokens: 10, output_tokens: 4_000 };
    const client = openai(key);

    // Act
    const a = await client.chat.completions.create({ model: 'gpt-4.1', n: 8, max_tokens: 1_000, messages });
    const capSent = mock.requests.length;
    const b = await client.chat.completions.create({
      model: 'gpt-4.1',
      n: 2,
      max_tokens: 4_000,
      stream: true,
      messages,
    });
    const indexes = new Set<number>();
    for await (const chunk of b) for (const choice of chunk.choices) indexes.add(choice.index);
    const sentB = mock.requests[capSent]?.body as { max_tokens: number };
    const before = mock.requests.length;
    const c = await statusOf(
      client.chat.completions.create({ model: 'gpt-4.1', n: 8, max_tokens: 1_000, messages }),
    );

    // Assess
    expect(a.choices).toHaveLength(8);
    expect([...indexes].sort()).toEqual([0, 1]);
    expect(sentB.max_tokens).toBeGreaterThanOrEqual(1_024);
    expect(sentB.max_tokens).toBeLessThan(2_250);
    expect(c).toBe(402);
    expect(mock.requests.length).toBe(before);
    const records = await expectSettledWithin(key, LIMIT);
    expect(records.map((r) => [r.status, r.output_tokens]).sort()).toEqual(
      [
        [200, 8_000],
        [200, 2 * sentB.max_tokens],
        [402, 0],
      ].sort(),
    );
    expect(records.find((r) => r.output_tokens === 8_000)?.cost_micros).toBe(64_020);
    const spent = records.reduce((sum, r) => sum + r.cost_micros, 0);
    console.log(`n choices: cap sent for n=2 ${sentB.max_tokens} per choice; spend ${spent} of ${LIMIT} µ$`);
  });

  it('refuses on a nearly spent key the n=8 request that settled past the limit before', async () => {
    // Prepare: the case — $0.01 strict, gpt-4.1, n=8, max_tokens 1,000: 64,000 µ$ of output.
    const { key } = await gateway.createKey({ key_alias: 'n-issue', max_budget: 0.01 });
    mock.script.usage = { input_tokens: 10, output_tokens: 1_000 };

    // Act
    const status = await statusOf(
      openai(key).chat.completions.create({ model: 'gpt-4.1', n: 8, max_tokens: 1_000, messages }),
    );

    // Assess
    expect(status).toBe(402);
    const records = await expectSettledWithin(key, 10_000);
    expect(records).toHaveLength(1);
  });

  it.each([
    [false, 'JSON'],
    [true, 'a stream'],
  ])('counts the usage of all n choices whole, from %s', async (stream) => {
    // Prepare: 8 choices of 50 tokens: 10 × 2 + 400 × 8 = 3,220 µ$.
    const { key } = await gateway.createKey({ key_alias: `n-usage-${stream}` });
    mock.script.usage = { input_tokens: 10, output_tokens: 50 };

    // Act
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4.1', n: 8, max_tokens: 100, stream, messages }),
    });
    await response.text();

    // Assess
    const record = await gateway.record(response.headers.get('x-tollgate-request-id') ?? '');
    expect(record).toMatchObject({ input_tokens: 10, output_tokens: 400, cost_micros: 3_220 });
    expect((await gateway.keyInfo(key)).spend_micros).toBe(3_220);
  });

  it.each([[0], [1.5], [129], ['2'], [-1]])('answers n = %j with a 400 in the OpenAI shape', async (n) => {
    // Prepare
    const { key } = await gateway.createKey({ key_alias: `n-bad-${String(n)}` });
    const before = mock.requests.length;

    // Act
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4.1', n, messages }),
    });
    const body = (await response.json()) as { error: { type: string; message: string } };

    // Assess
    expect(response.status).toBe(400);
    expect(body.error).toMatchObject({ type: 'invalid_request_error' });
    expect(body.error.message).toMatch(/'n'/);
    expect(mock.requests.length).toBe(before);
  });
});

describe('a prompt that packs many tokens into few bytes', () => {
  /** Rare CJK ideographs: four bytes each in UTF-8, and almost a token each in o200k. */
  const dense = (chars: number) =>
    Array.from({ length: chars }, (_, i) => String.fromCodePoint(0x20000 + ((i * 7) % 0xa6d0))).join('');

  it('is held at one token a byte, so a strict key is never settled past its limit by it', async () => {
    // Prepare: $0.02 strict on gpt-4.1-mini (0.4 µ$ a prompt token); the mock reports the prompt tokens
    // OpenAI's own tokenizer counts, as OpenAI would bill them.
    const LIMIT = 20_000;
    const { key } = await gateway.createKey({ key_alias: 'dense-prompt', max_budget: 0.02 });
    mock.script.responder = (request) => {
      const { messages: sent } = request.body as { messages: Array<{ content: string }> };
      const text = sent.map((m) => m.content).join('');
      return { usage: { input_tokens: encode(text).length, output_tokens: 50 } };
    };
    const ask = (content: string) =>
      statusOf(
        openai(key).chat.completions.create({
          model: 'gpt-4.1-mini',
          max_tokens: 50,
          messages: [{ role: 'user', content }],
        }),
      );

    // Act: 20,000 ideographs (an 80 KB body, 79,000 tokens: 31,700 µ$), then 10,000 (15,800 µ$)
    const tooDense = await ask(dense(20_000));
    const fits = await ask(dense(10_000));

    // Assess: at two bytes a token the first was held at 16,000 µ$, served, and settled 58 % past the limit
    expect([tooDense, fits]).toEqual([402, 200]);
    const records = await expectSettledWithin(key, LIMIT);
    expect(records.find((r) => r.outcome === 'success')?.input_tokens).toBeGreaterThan(39_000);
  });
});

describe('a Responses request that refers to what it does not carry', () => {
  const responses = (key: string, body: Record<string, unknown>) =>
    fetch(`${gateway.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4.1-mini', input: 'And now the tests.', ...body }),
    });

  it('is refused on a budget, which could not hold the earlier turns it brings in, and served without one', async () => {
    // Prepare: OpenAI bills a continued response for the whole chain of earlier turns
    const { key: capped } = await gateway.createKey({ key_alias: 'prior-capped', max_budget: 0.01 });
    const { key: open } = await gateway.createKey({ key_alias: 'prior-open' });
    const before = mock.requests.length;

    // Act
    const refused = await Promise.all([
      responses(capped, { previous_response_id: 'resp_123' }),
      responses(capped, { conversation: 'conv_123' }),
    ]);
    const sentAfterRefusals = mock.requests.length;
    const served = await responses(open, { previous_response_id: 'resp_123' });

    // Assess: a 400 in OpenAI's shape that says why, before any upstream call, each with its record
    expect(refused.map((r) => r.status)).toEqual([400, 400]);
    const [body] = (await Promise.all(refused.map((r) => r.json()))) as Array<{ error: { message: string } }>;
    expect(body?.error.message).toMatch(/'previous_response_id' brings earlier turns/);
    expect(sentAfterRefusals).toBe(before);
    expect(served.status).toBe(200);
    const records = await expectSettledWithin(capped, 10_000);
    expect(records.map((r) => r.status)).toEqual([400, 400]);
  });

  it("refuses a background response, whose usage comes after the request ends, whatever the key's budget", async () => {
    // Prepare
    const { key } = await gateway.createKey({ key_alias: 'background' });

    // Act
    const response = await responses(key, { background: true });

    // Assess
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(
      /'background' responses are not supported/,
    );
  });
});

describe("Anthropic's web search tool", () => {
  const webSearch = (max_uses?: number) => ({
    type: 'web_search_20250305' as const,
    name: 'web_search' as const,
    ...(max_uses === undefined ? {} : { max_uses }),
  });

  it.each([
    [false, 'JSON'],
    [true, 'a stream'],
  ])('holds max_uses searches and bills those run, from %s', async (stream) => {
    // Prepare: 2 searches of 3 allowed; 1,000 in × 3 + 500 out × 15 + 2 × 10,000 = 30,500 µ$.
    const { key } = await gateway.createKey({ key_alias: `search-${stream}`, max_budget: 1 });
    mock.script.usage = { input_tokens: 1_000, output_tokens: 500 };
    mock.script.webSearches = 2;
    const request = {
      model: 'claude-sonnet-4-5',
      max_tokens: 1_024,
      tools: [webSearch(3)],
      messages,
    };

    // Act
    const client = anthropic(key);
    const message = stream
      ? await client.messages.stream(request).finalMessage()
      : await client.messages.create(request);

    // Assess
    expect(message.usage.server_tool_use?.web_search_requests).toBe(2);
    const [record] = await expectSettledWithin(key, 1_000_000);
    expect(record).toMatchObject({ web_search_requests: 2, cost_micros: 30_500, usage_source: 'provider' });
    // Held: the prompt at 6 µ$ a token, 1,024 × 15 out, and 3 searches.
    expect(record?.reserved_micros).toBeGreaterThan(1_024 * 15 + 3 * SEARCH_MICROS);
  });

  it('refuses a strict key whose remainder cannot pay for the searches the request allows', async () => {
    // Prepare: $0.04 strict. Five searches (50,000 µ$) do not fit; one (10,000), the prompt (a token a
    // byte and the 600 of Anthropic's tool-use system prompt, at 6 µ$: about 5,100) and 1,024 tokens of
    // output (15,360) do.
    const { key } = await gateway.createKey({ key_alias: 'search-strict', max_budget: 0.04 });
    mock.script.usage = { input_tokens: 100, output_tokens: 100 };
    mock.script.webSearches = 5;
    const client = anthropic(key);
    const before = mock.requests.length;

    // Act
    const five = await statusOf(
      client.messages.create({
        model: 'claude-sonnet-4-5',
        max_tokens: 1_024,
        tools: [webSearch(5)],
        messages,
      }),
    );
    const sentAfterFive = mock.requests.length;
    const one = await statusOf(
      client.messages.create({
        model: 'claude-sonnet-4-5',
        max_tokens: 1_024,
        tools: [webSearch(1)],
        messages,
      }),
    );

    // Assess
    expect([five, one]).toEqual([402, 200]);
    expect(sentAfterFive).toBe(before);
    const records = await expectSettledWithin(key, 40_000);
    // 100 × 3 + 100 × 15 + 1 × 10,000 = 11,800 µ$.
    expect(records.map((r) => [r.status, r.web_search_requests, r.cost_micros]).sort()).toEqual([
      [200, 1, 11_800],
      [402, 0, 0],
    ]);
  });

  it('gives a request without max_uses the number of searches it holds, and sends it upstream', async () => {
    // Prepare: Claude would search 30 times if let.
    const { key } = await gateway.createKey({ key_alias: 'search-default', max_budget: 1 });
    mock.script.usage = { input_tokens: 100, output_tokens: 100 };
    mock.script.webSearches = 30;

    // Act
    await anthropic(key).messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 1_024,
      tools: [webSearch()],
      messages,
    });

    // Assess: the gateway's default of 10 searches went upstream and bounded the bill.
    const sent = mock.requests.at(-1)?.body as { tools: Array<{ max_uses?: number }> };
    expect(sent.tools[0]?.max_uses).toBe(10);
    const [record] = await expectSettledWithin(key, 1_000_000);
    expect(record).toMatchObject({ web_search_requests: 10, cost_micros: 300 + 1_500 + 10 * SEARCH_MICROS });
  });
});
