/**
 * Anthropic Messages API (https://docs.anthropic.com/en/api/messages). Streaming usage arrives in
 * `message_start` (input and cache tokens) and `message_delta` (cumulative output tokens; newer API
 * versions repeat the input counts there too). `input_tokens` excludes cache reads and writes.
 * Server-side tools run inside the request: each web search is billed per search on top of tokens, and
 * counted in `usage.server_tool_use.web_search_requests` (web fetches, in `web_fetch_requests`, cost
 * only the tokens they bring in). There is no `n`: one request, one answer.
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
  overloaded: 'overloaded_error',
  internal: 'api_error',
};

/**
 * The searches held for a web search tool declared without `max_uses`, which the gateway then sends
 * upstream as its `max_uses`: without it Claude may search as often as it likes, and no strict budget
 * could hold that. Ten searches are $0.10 at list price.
 */
export const DEFAULT_WEB_SEARCH_USES = 10;

/**
 * The most searches one web search tool may allow. The API sets no maximum, but the gateway holds
 * every allowed search at the per-search fee in integer micro-dollars: a larger `max_uses` ($10 at
 * list price here) is refused, as an `n` it cannot count is, rather than held beyond exact arithmetic.
 */
export const MAX_WEB_SEARCH_USES = 1_000;

/** Web search tool versions (`web_search_20250305`, `web_search_20260209`): billed per search. */
const WEB_SEARCH_TOOL = /^web_search_\d{8}$/;

/** A tool whose `type` names a web search version; a `type` that is not a string names none. */
function isWebSearchTool(t: unknown): t is Record<string, unknown> {
  return isRecord(t) && typeof t.type === 'string' && WEB_SEARCH_TOOL.test(t.type);
}

function webSearchTools(body: Record<string, unknown>): Array<Record<string, unknown>> {
  if (!Array.isArray(body.tools)) return [];
  return body.tools.filter(isWebSearchTool);
}

/** The searches a request may run: each web search tool's `max_uses`, or the default it will be sent. */
function webSearchesAllowed(body: Record<string, unknown>): number {
  let total = 0;
  for (const tool of webSearchTools(body)) {
    const { max_uses } = tool;
    if (max_uses === undefined || max_uses === null) {
      total += DEFAULT_WEB_SEARCH_USES;
    } else if (
      typeof max_uses === 'number' &&
      Number.isInteger(max_uses) &&
      max_uses >= 1 &&
      max_uses <= MAX_WEB_SEARCH_USES
    ) {
      total += max_uses;
    } else {
      throw new GatewayError(
        'invalid_request',
        `tools: web search max_uses must be an integer from 1 to ${MAX_WEB_SEARCH_USES}`,
      );
    }
  }
  return total;
}

/** Sends the default `max_uses` with every web search tool that has none, as the reservation assumed. */
function withWebSearchLimits(body: Record<string, unknown>): Record<string, unknown> {
  const tools = body.tools;
  if (!Array.isArray(tools) || webSearchTools(body).every((t) => typeof t.max_uses === 'number')) return body;
  return {
    ...body,
    tools: tools.map((t) =>
      isWebSearchTool(t) && typeof t.max_uses !== 'number' ? { ...t, max_uses: DEFAULT_WEB_SEARCH_USES } : t,
    ),
  };
}

/**
 * The system prompt Anthropic adds to a request that carries tools: at most 530 tokens among the models
 * its documentation lists (346 for the Claude 4 models). Held in full, whatever the model.
 */
const TOOL_USE_SYSTEM_PROMPT_TOKENS = 600;

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
    webSearches: webSearchesAllowed(body),
    addedPromptTokens: Array.isArray(body.tools) && body.tools.length > 0 ? TOOL_USE_SYSTEM_PROMPT_TOKENS : 0,
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
  const serverTools = isRecord(u.server_tool_use) ? u.server_tool_use : undefined;
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
    web_search_requests: serverTools
      ? nonNegInt(serverTools.web_search_requests)
      : (base.web_search_requests ?? 0),
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
  /** Web searches started in the stream: what is billed if it ends before the final usage says. */
  let searchesSeen = 0;
  let error: string | undefined;
  const generated = createTextCollector();
  return {
    onEvent({ event, data }) {
      if (event === 'content_block_delta') {
        generated.add(data);
      } else if (event === 'content_block_start' && data.includes('"server_tool_use"')) {
        const block = safeParse(data)?.content_block;
        if (isRecord(block) && block.type === 'server_tool_use' && block.name === 'web_search')
          searchesSeen++;
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
    usage: () =>
      usage && !finalUsage
        ? { ...usage, web_search_requests: Math.max(usage.web_search_requests ?? 0, searchesSeen) }
        : usage,
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
    const limited = withWebSearchLimits(body);
    return { body: capped ? { ...limited, max_tokens: limit } : limited, stripUsageChunk: false };
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
  parseRequest: (body) => ({ ...parseRequest(body), stream: false, maxOutputTokens: 0, webSearches: 0 }),
  // Counted as the client wrote it: nothing runs, so no limit needs adding.
  upstreamBody: (body) => ({ body, stripUsageChunk: false }),
  usageFromJson: () => undefined,
};
