import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

/**
 * Every route × provider × streaming or not, through the official SDKs: the text arrives unchanged,
 * the provider gets the request at its own path, and the record holds the exact tokens and cost.
 * Usage for every call: 1,000 fresh input tokens, 2,000 cache reads, 500 output tokens.
 */
let mock: MockUpstream;
let gateway: TestGateway;
let key: string;
const TEXT = 'Matrix answer, word for word.';

beforeAll(async () => {
  mock = await startMockUpstream({
    script: { text: TEXT, usage: { input_tokens: 1000, output_tokens: 500, cache_read_input_tokens: 2000 } },
  });
  gateway = await startTestGateway(mock.url);
  ({ key } = await gateway.createKey({ key_alias: 'matrix' }));
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});

type Route = 'messages' | 'chat' | 'responses';

// Costs by hand, USD per million tokens = µ$ per token: fresh input, cache reads, output.
const CASES: Array<[Route, string, string, string, number]> = [
  // claude-sonnet-4-6 3/0.30/15: 3000 + 600 + 7500
  ['messages', 'claude-sonnet-4-6', 'anthropic', '/v1/messages', 11_100],
  // kimi-k2.5 0.60/0.10/3: 600 + 200 + 1500, over Moonshot's Anthropic-compatible endpoint
  ['messages', 'moonshot/kimi-k2.5', 'moonshot', '/anthropic/v1/messages', 2_300],
  // gpt-4.1 2/0.50/8: 2000 + 1000 + 4000
  ['chat', 'gpt-4.1', 'openai', '/v1/chat/completions', 7_000],
  ['chat', 'kimi-k2.5', 'moonshot', '/v1/chat/completions', 2_300],
  ['chat', 'openrouter/openai/gpt-4.1', 'openrouter', '/v1/chat/completions', 7_000],
  // gpt-5-codex 1.25/0.125/10: 1250 + 250 + 5000
  ['responses', 'gpt-5-codex', 'openai', '/v1/responses', 6_500],
  ['responses', 'openrouter/openai/gpt-5', 'openrouter', '/v1/responses', 6_500],
];

async function call(
  route: Route,
  model: string,
  stream: boolean,
): Promise<{ text: string; requestId: string }> {
  const messages = [{ role: 'user' as const, content: 'hi' }];
  if (route === 'messages') {
    const client = new Anthropic({ apiKey: key, baseURL: gateway.url, maxRetries: 0 });
    if (stream) {
      const s = client.messages.stream({ model, max_tokens: 100, messages });
      const message = await s.finalMessage();
      const { response } = await s.withResponse();
      return { text: textOf(message.content), requestId: response.headers.get('x-tollgate-request-id')! };
    }
    const { data, response } = await client.messages
      .create({ model, max_tokens: 100, messages })
      .withResponse();
    return { text: textOf(data.content), requestId: response.headers.get('x-tollgate-request-id')! };
  }
  const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  if (route === 'chat') {
    if (stream) {
      const { data, response } = await client.chat.completions
        .create({ model, messages, stream: true })
        .withResponse();
      let text = '';
      for await (const chunk of data) text += chunk.choices[0]?.delta.content ?? '';
      return { text, requestId: response.headers.get('x-tollgate-request-id')! };
    }
    const { data, response } = await client.chat.completions.create({ model, messages }).withResponse();
    return {
      text: data.choices[0]?.message.content ?? '',
      requestId: response.headers.get('x-tollgate-request-id')!,
    };
  }
  if (stream) {
    const { data, response } = await client.responses
      .create({ model, input: 'hi', stream: true })
      .withResponse();
    let text = '';
    for await (const event of data) if (event.type === 'response.output_text.delta') text += event.delta;
    return { text, requestId: response.headers.get('x-tollgate-request-id')! };
  }
  const { data, response } = await client.responses.create({ model, input: 'hi' }).withResponse();
  return { text: data.output_text, requestId: response.headers.get('x-tollgate-request-id')! };
}

function textOf(content: Anthropic.ContentBlock[]): string {
  return content.map((b) => (b.type === 'text' ? b.text : '')).join('');
}

describe.each([false, true])('stream: %s', (stream) => {
  it.each(CASES)(
    '%s with %s goes to %s at %s and costs %i µ$',
    async (route, model, provider, path, cost) => {
      const before = mock.requests.length;

      const { text, requestId } = await call(route, model, stream);

      expect(text).toBe(TEXT);
      expect(mock.requests.slice(before).map((r) => r.path.split('?')[0])).toEqual([path]);
      const record = await gateway.record(requestId);
      expect(record).toMatchObject({
        provider,
        stream,
        outcome: 'success',
        usage_source: 'provider',
        input_tokens: 1000,
        cache_read_tokens: 2000,
        output_tokens: 500,
        cost_micros: cost,
      });
    },
  );
});
