/**
 * OpenAI Responses (https://platform.openai.com/docs/api-reference/responses), the only API Codex CLI
 * speaks. A stream ends with `response.completed` (or `.incomplete` / `.failed`) carrying the whole
 * response and its usage; `input_tokens` include `cached_tokens`, `output_tokens` include reasoning.
 */
import { type ErrorKind, GatewayError } from '../errors.ts';
import type { TokenUsage } from '../pricing/cost.ts';
import { openaiChat } from './openai-chat.ts';
import { openAiUsage, openAiUsageOf, RESPONSES_USAGE } from './openai-usage.ts';
import { createTextCollector } from './sse.ts';
import { bodyTags, isRecord, type ParsedRequest, type Protocol, type StreamMeter } from './types.ts';

const FINAL_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed']);

function parseRequest(body: Record<string, unknown>): ParsedRequest {
  const { model, stream, max_output_tokens } = body;
  if (typeof model !== 'string' || model === '') {
    throw new GatewayError('invalid_request', "'model' is a required property (a string naming the model)");
  }
  if (
    max_output_tokens !== undefined &&
    max_output_tokens !== null &&
    (typeof max_output_tokens !== 'number' || max_output_tokens < 1)
  ) {
    throw new GatewayError('invalid_request', "'max_output_tokens' must be a positive integer");
  }
  // A background response is billed when it completes, after this request has ended: nothing here
  // could record what it cost.
  if (body.background === true) {
    throw new GatewayError(
      'invalid_request',
      "'background' responses are not supported by this gateway: their usage comes after the request ends, where it cannot be recorded. Send the request without 'background'.",
    );
  }
  const notCarried = ['previous_response_id', 'conversation'].find(
    (field) => body[field] !== undefined && body[field] !== null,
  );
  return {
    model,
    stream: stream === true,
    maxOutputTokens: typeof max_output_tokens === 'number' ? Math.floor(max_output_tokens) : undefined,
    sessionId: typeof body.prompt_cache_key === 'string' ? body.prompt_cache_key : undefined,
    tags: bodyTags(body),
    // Codex warms a connection up with `generate: false`: the provider answers without generating.
    generates: body.generate !== false,
    ...(notCarried && { promptNotCarried: notCarried }),
  };
}

function createMeter(): StreamMeter {
  let usage: TokenUsage | undefined;
  let error: string | undefined;
  const generated = createTextCollector();
  return {
    onEvent({ event, data }) {
      if (event === 'response.output_text.delta' || event === 'response.reasoning_summary_text.delta') {
        generated.add(data);
      } else if ((event && FINAL_EVENTS.has(event)) || event === 'error') {
        let parsed: unknown;
        try {
          parsed = JSON.parse(data);
        } catch {
          return 'keep';
        }
        if (!isRecord(parsed)) return 'keep';
        const response = isRecord(parsed.response) ? parsed.response : undefined;
        if (response && isRecord(response.usage)) usage = openAiUsage(RESPONSES_USAGE, response.usage);
        if (event === 'error') error = typeof parsed.code === 'string' ? parsed.code : 'error';
        else if (event === 'response.failed') error = 'response_failed';
      }
      return 'keep';
    },
    usage: () => usage,
    error: () => error,
    generatedText: () => generated.text(),
  };
}

export const openaiResponses: Protocol = {
  name: 'openai-responses',
  family: 'openai',
  billable: true,
  parseRequest,
  upstreamBody(body, request, outputCap) {
    const lower =
      outputCap !== undefined &&
      (request.maxOutputTokens === undefined || outputCap < request.maxOutputTokens);
    return { body: lower ? { ...body, max_output_tokens: outputCap } : body, stripUsageChunk: false };
  },
  usageFromJson: (json: unknown) => openAiUsageOf(RESPONSES_USAGE, json),
  createMeter,
  errorBody: (kind: ErrorKind, message: string) => openaiChat.errorBody(kind, message),
  streamErrorEvent(kind, message) {
    const { error } = openaiChat.errorBody(kind, message) as { error: { code: string | null } };
    const data = { type: 'error', code: error.code ?? kind, message, param: null };
    return `event: error\ndata: ${JSON.stringify(data)}\n\n`;
  },
};
