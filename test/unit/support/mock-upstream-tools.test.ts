// The mock upstream's tool calls and per-request replies, which the agent tests rely on, checked with
// the official SDKs (their stream assemblers are the strictest readers available offline).
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type MockContentBlock, type MockUpstream, startMockUpstream } from '../../support/mock-upstream.ts';

let mock: MockUpstream;

beforeEach(async () => {
  mock = await startMockUpstream();
});

afterEach(async () => {
  await mock.close();
});

const toolCall: MockContentBlock[] = [
  { type: 'text', text: 'Let me check.' },
  { type: 'tool_use', id: 'toolu_01Mock', name: 'Bash', input: { command: 'echo "hi there"', timeout: 5 } },
];

const anthropic = () => new Anthropic({ apiKey: 'sk-ant-test', baseURL: mock.url, maxRetries: 0 });
const openai = () => new OpenAI({ apiKey: 'sk-test', baseURL: `${mock.url}/v1`, maxRetries: 0 });
const ask = {
  model: 'claude-sonnet-4-6',
  max_tokens: 256,
  messages: [{ role: 'user' as const, content: 'hi' }],
};

describe('mock upstream tool calls, Anthropic Messages', () => {
  it('answers 400, as the API does, to a tools list holding something that is not an object', async () => {
    // Found by the fuzz: a `null` tool made the mock throw and answer 500, which the gateway passed on.
    const response = await fetch(`${mock.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'sk-ant-test', 'content-type': 'application/json' },
      body: JSON.stringify({ ...ask, tools: [null, { type: 'web_search_20250305' }] }),
    });

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });

  it('answers with the scripted blocks and stop_reason tool_use', async () => {
    mock.script.content = toolCall;

    const message = await anthropic().messages.create(ask);

    expect(message.content).toEqual(toolCall);
    expect(message.stop_reason).toBe('tool_use');
  });

  it('streams a tool call as input_json_delta fragments that the SDK joins into the input', async () => {
    mock.script.content = toolCall;
    const events: string[] = [];

    const stream = anthropic()
      .messages.stream(ask)
      .on('streamEvent', (e) => {
        events.push(e.type === 'content_block_delta' ? e.delta.type : e.type);
      });
    const message = await stream.finalMessage();

    expect(message.content).toEqual(toolCall);
    expect(message.stop_reason).toBe('tool_use');
    expect(events.slice(0, 2)).toEqual(['message_start', 'content_block_start']);
    expect(events.filter((e) => e === 'input_json_delta').length).toBeGreaterThan(2);
    expect(events.slice(-2)).toEqual(['message_delta', 'message_stop']);
  });

  it('lets a responder pick each answer from the request it answers', async () => {
    mock.script.responder = (request) => {
      const text = JSON.stringify(request.body);
      if (text.includes('tool_result'))
        return { text: 'Done.', usage: { input_tokens: 50, output_tokens: 2 } };
      return { content: toolCall };
    };

    const first = await anthropic().messages.create(ask);
    const second = await anthropic().messages.create({
      ...ask,
      messages: [
        ...ask.messages,
        { role: 'assistant', content: first.content },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 'toolu_01Mock', content: 'hi there' }],
        },
      ],
    });

    expect(first.stop_reason).toBe('tool_use');
    expect(first.usage.input_tokens).toBe(12);
    expect(second.content).toEqual([{ type: 'text', text: 'Done.' }]);
    expect(second.usage).toMatchObject({ input_tokens: 50, output_tokens: 2 });
    expect(mock.script.content).toBeUndefined();
  });
});

describe('mock upstream tool calls, OpenAI Responses', () => {
  const functionCall = {
    type: 'function_call',
    call_id: 'toolu_01Mock',
    name: 'Bash',
    arguments: '{"command":"echo \\"hi there\\"","timeout":5}',
    status: 'completed',
  };

  it('answers a tool_use block as a function_call item', async () => {
    mock.script.content = toolCall;

    const response = await openai().responses.create({ model: 'gpt-5-codex', input: 'hi' });

    expect(response.output.map((item) => item.type)).toEqual(['message', 'function_call']);
    expect(response.output[1]).toMatchObject(functionCall);
    expect(response.output_text).toBe('Let me check.');
  });

  it('streams the function call arguments and completes with both items', async () => {
    mock.script.content = toolCall;

    const stream = await openai().responses.create({ model: 'gpt-5-codex', input: 'hi', stream: true });
    const events = [];
    for await (const event of stream) events.push(event);

    const types = events.map((e) => e.type);
    expect(types).toContain('response.function_call_arguments.delta');
    expect(events.find((e) => e.type === 'response.function_call_arguments.done')).toMatchObject({
      arguments: functionCall.arguments,
      output_index: 1,
    });
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_e, i) => i));
    const completed = events.at(-1);
    expect(completed?.type).toBe('response.completed');
    expect(completed?.type === 'response.completed' && completed.response.output[1]).toMatchObject(
      functionCall,
    );
  });
});
