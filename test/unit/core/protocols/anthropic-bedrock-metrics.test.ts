import { describe, expect, it } from 'vitest';
import { anthropicMessages } from '../../../../functions/core/protocols/anthropic-messages.ts';

/** The Anthropic stream as Bedrock sends it: the last event also carries Bedrock's own counts. */
function meter(events: Array<[string, Record<string, unknown>]>) {
  const m = anthropicMessages.createMeter({ stripUsageChunk: false });
  for (const [event, data] of events) m.onEvent({ event, data: JSON.stringify({ type: event, ...data }) });
  return m;
}

const start = (usage?: Record<string, unknown>) =>
  ['message_start', { message: { id: 'msg_1', content: [], ...(usage ? { usage } : {}) } }] as [
    string,
    Record<string, unknown>,
  ];
const delta = (usage?: Record<string, unknown>) =>
  ['message_delta', { delta: { stop_reason: 'end_turn' }, ...(usage ? { usage } : {}) }] as [
    string,
    Record<string, unknown>,
  ];
const stop = (metrics: Record<string, unknown>) =>
  ['message_stop', { 'amazon-bedrock-invocationMetrics': metrics }] as [string, Record<string, unknown>];

const METRICS = {
  inputTokenCount: 900,
  outputTokenCount: 450,
  invocationLatency: 1200,
  firstByteLatency: 300,
  cacheReadInputTokenCount: 50,
  cacheWriteInputTokenCount: 20,
};

describe("Bedrock's invocation metrics", () => {
  it('leave the usage of the events alone when message_delta reported it', () => {
    // Prepare
    const events = [
      start({ input_tokens: 100, output_tokens: 1, cache_read_input_tokens: 10 }),
      delta({ output_tokens: 40 }),
      stop(METRICS),
    ];

    // Act
    const usage = meter(events).usage();

    // Assess
    expect(usage).toMatchObject({ input_tokens: 100, output_tokens: 40, cache_read_tokens: 10 });
  });

  it('are the usage when the events carry none', () => {
    // Prepare
    const events = [start(), delta(), stop(METRICS)];

    // Act
    const usage = meter(events).usage();

    // Assess
    expect(usage).toEqual({
      input_tokens: 900,
      output_tokens: 450,
      cache_read_tokens: 50,
      cache_write_5m_tokens: 20,
      cache_write_1h_tokens: 0,
      reasoning_tokens: 0,
      web_search_requests: 0,
    });
  });

  it("give the final output count when message_delta lacks it, keeping message_start's cache split", () => {
    // Prepare
    const cacheCreation = { ephemeral_5m_input_tokens: 5, ephemeral_1h_input_tokens: 15 };
    const events = [
      start({
        input_tokens: 900,
        output_tokens: 1,
        cache_creation_input_tokens: 20,
        cache_creation: cacheCreation,
      }),
      delta(),
      stop({ inputTokenCount: 900, outputTokenCount: 450, cacheWriteInputTokenCount: 20 }),
    ];

    // Act
    const usage = meter(events).usage();

    // Assess
    expect(usage).toMatchObject({
      input_tokens: 900,
      output_tokens: 450,
      cache_write_5m_tokens: 5,
      cache_write_1h_tokens: 15,
    });
  });

  it('are not looked for on a message_stop without them', () => {
    // Prepare
    const events: Array<[string, Record<string, unknown>]> = [start(), delta(), ['message_stop', {}]];

    // Act
    const usage = meter(events).usage();

    // Assess
    expect(usage).toBeUndefined();
  });
});
