/**
 * OpenAI Chat Completions (https://platform.openai.com/docs/api-reference/chat). A stream only reports
 * usage when asked with `stream_options.include_usage`, in a final chunk whose `choices` is empty; the
 * gateway always asks, and hides that chunk from clients that did not. `prompt_tokens` include
 * `cached_tokens` and `completion_tokens` include `reasoning_tokens`. With `n` choices the prompt is
 * billed once and `completion_tokens` sum every choice, in JSON and in the stream's usage chunk alike.
 */
import { type ErrorKind, GatewayError } from '../errors.ts';
import type { TokenUsage } from '../pricing/cost.ts';
import { CHAT_USAGE, openAiUsage, openAiUsageOf } from './openai-usage.ts';
import { createTextCollector } from './sse.ts';
import { bodyTags, isRecord, type ParsedRequest, type Protocol, type StreamMeter } from './types.ts';

const ERROR_TYPES: Record<ErrorKind, { type: string; code: string | null }> = {
  invalid_request: { type: 'invalid_request_error', code: null },
  authentication: { type: 'invalid_request_error', code: 'invalid_api_key' },
  permission: { type: 'permission_error', code: 'permission_denied' },
  not_found: { type: 'invalid_request_error', code: 'not_found' },
  budget_exceeded: { type: 'insufficient_quota', code: 'budget_exceeded' },
  rate_limited: { type: 'rate_limit_error', code: 'rate_limit_exceeded' },
  too_large: { type: 'invalid_request_error', code: 'request_too_large' },
  headers_too_large: { type: 'invalid_request_error', code: 'request_header_fields_too_large' },
  upstream: { type: 'server_error', code: 'upstream_error' },
  upstream_timeout: { type: 'server_error', code: 'upstream_timeout' },
  overloaded: { type: 'server_error', code: 'server_overloaded' },
  internal: { type: 'server_error', code: null },
};

/** OpenAI's bound on `n` (https://platform.openai.com/docs/api-reference/chat/create#chat-create-n). */
const MAX_CHOICES = 128;

function parseRequest(body: Record<string, unknown>): ParsedRequest {
  const { model, stream, max_tokens, max_completion_tokens, n } = body;
  if (typeof model !== 'string' || model === '') {
    throw new GatewayError('invalid_request', "'model' is a required property (a string naming the model)");
  }
  const cap = max_completion_tokens ?? max_tokens;
  if (cap !== undefined && cap !== null && (typeof cap !== 'number' || cap < 1)) {
    throw new GatewayError('invalid_request', "'max_completion_tokens' must be a positive integer");
  }
  // Each of the n choices may use the whole output cap, and all of them are billed: the worst case
  // counts n answers. An n the gateway cannot count is refused rather than passed on.
  const choices = n ?? 1;
  if (typeof choices !== 'number' || !Number.isInteger(choices) || choices < 1 || choices > MAX_CHOICES) {
    throw new GatewayError('invalid_request', `'n' must be an integer from 1 to ${MAX_CHOICES}`);
  }
  return {
    model,
    stream: stream === true,
    maxOutputTokens: typeof cap === 'number' ? Math.floor(cap) : undefined,
    choices,
    sessionId: undefined,
    tags: bodyTags(body),
    generates: true,
  };
}

function createMeter({ stripUsageChunk }: { stripUsageChunk: boolean }): StreamMeter {
  let usage: TokenUsage | undefined;
  let error: string | undefined;
  const generated = createTextCollector();
  return {
    onEvent({ data }) {
      // Parse only the chunks that can carry usage or an error; content deltas are just counted.
      if (!data.includes('"usage":{') && !data.includes('"error"')) {
        generated.add(data);
        return 'keep';
      }
      let chunk: unknown;
      try {
        chunk = JSON.parse(data);
      } catch {
        return 'keep';
      }
      if (!isRecord(chunk)) return 'keep';
      if (isRecord(chunk.error)) {
        error = typeof chunk.error.type === 'string' ? chunk.error.type : 'error';
        return 'keep';
      }
      generated.add(data);
      if (!isRecord(chunk.usage)) return 'keep';
      usage = openAiUsage(CHAT_USAGE, chunk.usage);
      const usageOnly = Array.isArray(chunk.choices) && chunk.choices.length === 0;
      return stripUsageChunk && usageOnly ? 'drop' : 'keep';
    },
    usage: () => usage,
    error: () => error,
    generatedText: () => generated.text(),
  };
}

export const openaiChat: Protocol = {
  name: 'openai-chat',
  family: 'openai',
  billable: true,
  parseRequest,
  upstreamBody(body, request, outputCap) {
    let out = body;
    let stripUsageChunk = false;
    if (request.stream) {
      const options = isRecord(body.stream_options) ? body.stream_options : {};
      stripUsageChunk = options.include_usage !== true;
      // Asked for already: the client's bytes go through as they came.
      if (stripUsageChunk) out = { ...out, stream_options: { ...options, include_usage: true } };
    }
    if (
      outputCap !== undefined &&
      (request.maxOutputTokens === undefined || outputCap < request.maxOutputTokens)
    ) {
      // max_tokens is deprecated and rejected by reasoning models; keep the field the client used.
      const field =
        body.max_tokens !== undefined && body.max_completion_tokens === undefined
          ? 'max_tokens'
          : 'max_completion_tokens';
      out = { ...out, [field]: outputCap };
    }
    return { body: out, stripUsageChunk };
  },
  usageFromJson: (json: unknown) => openAiUsageOf(CHAT_USAGE, json),
  createMeter,
  errorBody,
  streamErrorEvent: (kind, message) => `data: ${JSON.stringify(errorBody(kind, message))}\n\n`,
};

function errorBody(kind: ErrorKind, message: string) {
  return { error: { message, type: ERROR_TYPES[kind].type, param: null, code: ERROR_TYPES[kind].code } };
}
