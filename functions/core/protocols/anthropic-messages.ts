/**
 * Anthropic Messages API (https://docs.anthropic.com/en/api/messages). Streaming usage arrives in
 * `message_start` (input and cache tokens) and `message_delta` (cumulative output tokens; newer API
 * versions repeat the input counts there too). `input_tokens` excludes cache reads and writes.
 * Through Amazon Bedrock the same events arrive, and the last one (`message_stop`) also carries Bedrock's
 * own count, `amazon-bedrock-invocationMetrics`.
 */
import { type ErrorKind, GatewayError } from '../errors.ts';
import { type TokenUsage, ZERO_USAGE } from '../pricing/cost.ts';
import { createTextCollector } from './sse.ts';
import {
  bodyTags,
  isRecord,
  nonNegInt,
  type ParsedRequest,
  type Protocol,
  type StreamMeter,
} from './types.ts';

const ERROR_TYPES: Record<ErrorKind, string> = {
  invalid_request: 'invalid_request_error',
  authentication: 'authentication_error',
  permission: 'permission_error',
  not_found: 'not_found_error',
  budget_exceeded: 'billing_error',
  rate_limited: 'rate_limit_error',
  too_large: 'request_too_large',
  headers_too_large: 'invalid_request_error',
  upstream: 'api_error',
  upstream_timeout: 'timeout_error',
  internal: 'api_error',
};

function parseRequest(body: Record<string, unknown>): ParsedRequest {
  const { model, stream, max_tokens, metadata } = body;
  if (typeof model !== 'string' || model === '') {
    throw new GatewayError('invalid_request', 'model: field required (a string naming the model)');
  }
  if (max_tokens !== undefined && (typeof max_tokens !== 'number' || max_tokens < 1)) {
    throw new GatewayError('invalid_request', 'max_tokens: must be a positive integer');
  }
  return {
    model,
    stream: stream === true,
    maxOutputTokens: typeof max_tokens === 'number' ? Math.floor(max_tokens) : undefined,
    sessionId: sessionIdFrom(metadata),
    tags: bodyTags(body),
    generates: true,
  };
}

/** Claude Code sends `metadata.user_id` as a JSON string holding a `session_id`; older versions a plain id. */
function sessionIdFrom(metadata: unknown): string | undefined {
  if (!isRecord(metadata) || typeof metadata.user_id !== 'string') return undefined;
  const raw = metadata.user_id;
  if (raw.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (isRecord(parsed) && typeof parsed.session_id === 'string') return parsed.session_id;
    } catch {
      // Not JSON after all: fall through to the pattern below.
    }
  }
  return /_session_([0-9a-f-]{36})$/.exec(raw)?.[1];
}

function usageFromObject(u: Record<string, unknown>, base: TokenUsage): TokenUsage {
  const has = (k: string) => u[k] !== undefined && u[k] !== null;
  const creation = isRecord(u.cache_creation) ? u.cache_creation : undefined;
  const totalWrite = nonNegInt(u.cache_creation_input_tokens);
  // The 5m/1h split is reported in `cache_creation`; without it, all writes are 5-minute writes.
  // A total without a split that matches what we already know (message_delta repeating message_start)
  // keeps the known split.
  const knownSplit = base.cache_write_5m_tokens + base.cache_write_1h_tokens === totalWrite;
  const write1h = creation
    ? nonNegInt(creation.ephemeral_1h_input_tokens)
    : knownSplit
      ? base.cache_write_1h_tokens
      : 0;
  const write5m = creation
    ? nonNegInt(creation.ephemeral_5m_input_tokens)
    : knownSplit
      ? base.cache_write_5m_tokens
      : totalWrite;
  return {
    input_tokens: has('input_tokens') ? nonNegInt(u.input_tokens) : base.input_tokens,
    output_tokens: has('output_tokens') ? nonNegInt(u.output_tokens) : base.output_tokens,
    cache_read_tokens: has('cache_read_input_tokens')
      ? nonNegInt(u.cache_read_input_tokens)
      : base.cache_read_tokens,
    cache_write_5m_tokens:
      has('cache_creation_input_tokens') || creation ? write5m : base.cache_write_5m_tokens,
    cache_write_1h_tokens:
      has('cache_creation_input_tokens') || creation ? write1h : base.cache_write_1h_tokens,
    reasoning_tokens: 0,
  };
}

function usageFromJson(json: unknown): TokenUsage | undefined {
  if (!isRecord(json) || !isRecord(json.usage)) return undefined;
  return usageFromObject(json.usage, ZERO_USAGE);
}

/**
 * Bedrock's per-invocation counts in Anthropic's usage terms. They ride on the last event of
 * InvokeModelWithResponseStream, beside the CloudWatch metrics of the same names
 * (https://docs.aws.amazon.com/bedrock/latest/userguide/monitoring-runtime-metrics.html).
 */
function usageFromBedrockMetrics(metrics: Record<string, unknown>): Record<string, unknown> {
  return {
    input_tokens: metrics.inputTokenCount,
    output_tokens: metrics.outputTokenCount,
    cache_read_input_tokens: metrics.cacheReadInputTokenCount,
    cache_creation_input_tokens: metrics.cacheWriteInputTokenCount,
  };
}

function createMeter(): StreamMeter {
  let usage: TokenUsage | undefined;
  /** Whether `message_delta` reported the final output count; `message_start` only has a placeholder. */
  let finalUsage = false;
  let error: string | undefined;
  const generated = createTextCollector();
  return {
    onEvent({ event, data }) {
      if (event === 'content_block_delta') {
        generated.add(data);
      } else if (event === 'message_start' || event === 'message_delta') {
        const parsed = safeParse(data);
        const raw =
          event === 'message_start' && isRecord(parsed?.message) ? parsed.message.usage : parsed?.usage;
        if (isRecord(raw)) usage = usageFromObject(raw, usage ?? ZERO_USAGE);
        if (event === 'message_delta' && isRecord(raw)) finalUsage = true;
      } else if (event === 'message_stop' && !finalUsage) {
        // The events' usage is the provider's word; Bedrock's metrics stand in only when it is missing.
        const metrics = safeParse(data)?.['amazon-bedrock-invocationMetrics'];
        if (isRecord(metrics)) usage = usageFromObject(usageFromBedrockMetrics(metrics), usage ?? ZERO_USAGE);
      } else if (event === 'error') {
        const parsed = safeParse(data);
        error =
          isRecord(parsed?.error) && typeof parsed.error.type === 'string' ? parsed.error.type : 'error';
      }
      return 'keep';
    },
    usage: () => usage,
    error: () => error,
    generatedText: () => generated.text(),
  };
}

function safeParse(data: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(data);
    return isRecord(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

export const anthropicMessages: Protocol = {
  name: 'anthropic-messages',
  family: 'anthropic',
  billable: true,
  parseRequest,
  upstreamBody(body, request, outputCap) {
    const limit = Math.min(
      request.maxOutputTokens ?? Number.POSITIVE_INFINITY,
      outputCap ?? Number.POSITIVE_INFINITY,
    );
    const capped = Number.isFinite(limit) && limit !== request.maxOutputTokens;
    return { body: capped ? { ...body, max_tokens: limit } : body, stripUsageChunk: false };
  },
  usageFromJson,
  createMeter,
  errorBody,
  streamErrorEvent: (kind, message) => `event: error\ndata: ${JSON.stringify(errorBody(kind, message))}\n\n`,
};

function errorBody(kind: ErrorKind, message: string) {
  return { type: 'error', error: { type: ERROR_TYPES[kind], message } };
}

/**
 * Token counting (https://docs.anthropic.com/en/api/messages-count-tokens): Claude Code calls it for
 * `/context`. Proxied and recorded, never billed.
 */
export const anthropicCountTokens: Protocol = {
  ...anthropicMessages,
  name: 'anthropic-count-tokens',
  billable: false,
  parseRequest: (body) => ({ ...parseRequest(body), stream: false, maxOutputTokens: 0 }),
  usageFromJson: () => undefined,
};
