import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

/** Per-key rpm and tpm: 429 with retry-after in the client's protocol shape, before any budget or upstream. */
let mock: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream({ script: { usage: { input_tokens: 600, output_tokens: 100 } } });
  // A stopped clock keeps every request of a test in one rate-limit minute.
  const now = new Date('2026-11-25T12:00:30.000Z');
  gateway = await startTestGateway(mock.url, {}, { clock: { now: () => now } });
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});

const chat = (key: string) =>
  new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 }).chat.completions.create({
    model: 'gpt-4.1-mini',
    max_completion_tokens: 100,
    messages: [{ role: 'user', content: 'hi' }],
  });

describe('rate limits', () => {
  it('refuses the request past rpm_limit with 429 and retry-after, without reaching the upstream', async () => {
    const { key } = await gateway.createKey({ key_alias: 'rpm-2', rpm_limit: 2 });
    await chat(key);
    await chat(key);
    const calls = mock.requests.length;

    const refused = await chat(key).catch((err: unknown) => err);

    const error = refused as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(429);
    expect(error.message).toMatch(/Rate limit reached for key:.*2 of 2 requests per minute/);
    const retryAfter = Number(error.headers?.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(mock.requests.length).toBe(calls);
  });

  it('answers an Anthropic client in its own shape', async () => {
    const { key } = await gateway.createKey({ key_alias: 'rpm-1', rpm_limit: 1 });
    const client = new Anthropic({ apiKey: key, baseURL: gateway.url, maxRetries: 0 });
    const ask = () => client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [] });
    await ask();

    const refused = await ask().catch((err: unknown) => err);

    expect(refused).toBeInstanceOf(Anthropic.RateLimitError);
    expect((refused as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'rate_limit_error' },
    });
  });

  it('refuses once the minute has used tpm_limit tokens', async () => {
    // Each request uses 600 prompt + 100 output = 700 tokens; after two, 1,400 ≥ 1,000.
    const { key } = await gateway.createKey({ key_alias: 'tpm-1000', tpm_limit: 1000 });
    await chat(key);
    await chat(key);
    await gateway.proxy.drain();

    const refused = await chat(key).catch((err: unknown) => err);

    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
    expect((refused as Error).message).toMatch(/1400 of 1000 tokens per minute/);
  });

  it('records the refusal, with no spend and no reservation left open', async () => {
    const { key } = await gateway.createKey({ key_alias: 'rpm-rec', rpm_limit: 1, max_budget: 1 });
    await chat(key);
    const { response } = await new OpenAI({
      apiKey: key,
      baseURL: `${gateway.url}/v1`,
      maxRetries: 0,
    }).chat.completions
      .create({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse()
      .catch((err: { headers: Headers }) => ({ response: { headers: err.headers } }));

    const record = await gateway.record(response.headers.get('x-tollgate-request-id')!);
    expect(record).toMatchObject({ status: 429, outcome: 'denied', cost_micros: 0, reserved_micros: 0 });
    expect((await gateway.keyInfo(key)).reserved_micros).toBe(0);
  });
});
