// A stand-in for api.anthropic.com and api.openai.com on 127.0.0.1. It speaks the real wire formats
// (JSON and SSE) closely enough that the official SDKs, Claude Code and Codex CLI accept its answers:
// - Anthropic Messages: https://docs.anthropic.com/en/docs/build-with-claude/streaming
// - OpenAI Chat Completions: https://platform.openai.com/docs/api-reference/chat-streaming
// - OpenAI Responses: https://platform.openai.com/docs/api-reference/responses-streaming
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RecordedRequest {
  method: string;
  /** Path with the query string, e.g. `/v1/messages?beta=true`. */
  path: string;
  /** Header names are lowercase; repeated headers are joined with `, `. */
  headers: Record<string, string>;
  /** Parsed JSON, or the raw text when the body is not JSON. */
  body: unknown;
}

export interface MockUsage {
  /** Anthropic-style: excludes cache reads and writes. */
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
  reasoning_tokens?: number;
}

/** A content block of an Anthropic message; in a Responses answer a `tool_use` becomes a `function_call`. */
export type MockContentBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

/** The blocks of one server-side web search: Claude's call, then the results the API put in its context. */
type WebSearchBlock =
  | { type: 'server_tool_use'; id: string; name: 'web_search'; input: { query: string } }
  | { type: 'web_search_tool_result'; tool_use_id: string; content: Json[] };
type AnthropicBlock = MockContentBlock | WebSearchBlock;

/** What one request is answered with, when a responder picks it; unset fields come from the script. */
export type MockReply = Partial<
  Pick<
    MockScript,
    | 'text'
    | 'usage'
    | 'content'
    | 'webSearches'
    | 'failWith'
    | 'delayMs'
    | 'chunkDelayMs'
    | 'cutStreamAfterEvents'
  >
>;

export interface MockScript {
  text: string;
  usage: MockUsage;
  /**
   * Anthropic Messages and OpenAI Responses only: the blocks to answer with instead of one `text` block.
   * With a `tool_use` block the stop reason is `tool_use`, as when a model calls a tool.
   */
  content?: MockContentBlock[];
  /** Picks the answer of each request from what it carries (e.g. a tool call, then text after its result). */
  responder?: (request: RecordedRequest) => MockReply | undefined;
  /** Answer every request with this error; the body defaults to the route's protocol shape. */
  failWith?: { status: number; body?: unknown; headers?: Record<string, string> };
  /** Answer every request with these bytes as they are (a proxy's HTML page, a cut body). */
  rawReply?: { status: number; contentType: string; body: string; cut?: boolean };
  /** Wait before the first byte of any answer. */
  delayMs?: number;
  /** Wait between SSE events. */
  chunkDelayMs?: number;
  /** Destroy the socket after this many SSE events, as an upstream cut off mid-stream. */
  cutStreamAfterEvents?: number;
  /** Report no usage (Anthropic keeps its required usage objects, with zeros). */
  omitUsage?: boolean;
  /**
   * Each answer (each choice, with `n`) stops at the request's output limit, as real models do:
   * `usage.output_tokens` per choice becomes at most `max_tokens` / `max_completion_tokens`.
   */
  honourMaxTokens?: boolean;
  /**
   * Anthropic Messages only: the web searches Claude runs before answering, when the request offers the
   * web search tool; never more than its `max_uses`, as the API stops Claude there.
   */
  webSearches?: number;
}

export interface MockUpstream {
  /** `http://127.0.0.1:PORT`, without a trailing slash or `/v1`. */
  url: string;
  requests: RecordedRequest[];
  /** Mutable: each request reads it when it arrives. */
  script: MockScript;
  /** Answers sent whole, and answers the gateway walked away from (it closed the connection first). */
  finished: number;
  abandoned: number;
  close(): Promise<void>;
}

type Protocol = 'anthropic' | 'openai';
type Json = Record<string, unknown>;

interface Exchange {
  body: Json;
  script: MockScript;
  res: ServerResponse;
}

interface Route {
  protocol: Protocol;
  handle(ex: Exchange): Promise<void>;
}

const defaultScript: MockScript = {
  text: 'Hello from the mock upstream.',
  usage: { input_tokens: 12, output_tokens: 7 },
};

export async function startMockUpstream(
  opts: { port?: number; script?: Partial<MockScript> } = {},
): Promise<MockUpstream> {
  const requests: RecordedRequest[] = [];
  const mock: MockUpstream = {
    url: '',
    requests,
    script: { ...defaultScript, usage: { ...defaultScript.usage }, ...opts.script },
    finished: 0,
    abandoned: 0,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  const server = createServer((req, res) => {
    res.on('error', () => {});
    res.on('close', () => {
      if (res.writableFinished) mock.finished++;
      else mock.abandoned++;
    });
    serve(req, res, mock).catch((err: unknown) => {
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, { error: { message: String(err), type: 'server_error' } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  mock.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return mock;
}

async function serve(req: IncomingMessage, res: ServerResponse, mock: MockUpstream): Promise<void> {
  const recorded = await record(req);
  mock.requests.push(recorded);
  // Snapshot the script so a test changing it mid-stream does not change a response under way.
  const reply = mock.script.responder?.(recorded) ?? {};
  const script: MockScript = { ...mock.script, ...reply, usage: { ...(reply.usage ?? mock.script.usage) } };
  if (script.delayMs) await sleep(script.delayMs);

  // Moonshot serves its Anthropic-compatible API under /anthropic; answer there too.
  const pathname = (recorded.path.split('?')[0] ?? '').replace(/^\/anthropic(?=\/v1\/messages)/, '');
  const route = req.method === 'POST' ? routes[pathname] : undefined;
  if (!route) {
    const protocol: Protocol = pathname.startsWith('/v1/messages') ? 'anthropic' : 'openai';
    return sendError(res, protocol, 404, `Not found: ${req.method} ${pathname}`);
  }
  if (script.rawReply) {
    res.writeHead(script.rawReply.status, { 'content-type': script.rawReply.contentType });
    if (!script.rawReply.cut) {
      res.end(script.rawReply.body);
      return;
    }
    // Part of the body, then the connection drops: an upstream that dies mid-answer.
    res.write(script.rawReply.body, () => res.destroy());
    return;
  }
  if (script.failWith) {
    const { status, body, headers } = script.failWith;
    if (body === undefined) return sendError(res, route.protocol, status, undefined, headers);
    return sendJson(res, status, body, { ...requestIdHeader(route.protocol), ...headers });
  }
  if (!isAuthorized(route.protocol, recorded.headers)) {
    return sendError(res, route.protocol, 401, 'Missing or invalid API key.');
  }
  const body = recorded.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return sendError(res, route.protocol, 400, 'The request body is not a JSON object.');
  }
  await route.handle({ body: body as Json, script, res });
}

async function record(req: IncomingMessage): Promise<RecordedRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: keep the raw text.
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return { method: req.method ?? 'GET', path: req.url ?? '/', headers, body };
}

function isAuthorized(protocol: Protocol, headers: Record<string, string>): boolean {
  const bearer = /^Bearer\s+\S+/i.test(headers.authorization ?? '');
  return protocol === 'anthropic' ? Boolean(headers['x-api-key']) || bearer : bearer;
}

const routes: Record<string, Route> = {
  '/v1/messages': { protocol: 'anthropic', handle: (ex) => anthropicMessages(ex) },
  '/v1/messages/count_tokens': {
    protocol: 'anthropic',
    handle: async ({ res, script }) => sendJson(res, 200, { input_tokens: script.usage.input_tokens }),
  },
  '/v1/chat/completions': { protocol: 'openai', handle: (ex) => chatCompletions(ex) },
  '/v1/responses': { protocol: 'openai', handle: (ex) => responses(ex) },
  '/v1/embeddings': { protocol: 'openai', handle: async (ex) => embeddings(ex) },
};

// ---------- Anthropic Messages ----------

async function anthropicMessages({ body, script, res }: Exchange): Promise<void> {
  // The API checks each tool is an object (`tools.0: Input should be a valid dictionary`).
  const tools = body.tools;
  if (tools !== undefined && (!Array.isArray(tools) || tools.some((t) => !isObject(t)))) {
    return sendError(res, 'anthropic', 400, 'tools: Input should be a list of objects.');
  }
  const searches = webSearchesOf(body, script);
  const content: AnthropicBlock[] = [...webSearchBlocks(searches), ...contentOf(script)];
  const stopReason = content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
  const output = outputPerChoice(body, script);
  const message = {
    id: `msg_01${randomId(22)}`,
    type: 'message',
    role: 'assistant',
    model: modelOf(body),
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: { ...anthropicUsage(script, output), ...serverToolUse(script, searches) },
  };
  if (body.stream !== true) return sendJson(res, 200, message, requestIdHeader('anthropic'));

  // message_start carries the input side and an output_tokens placeholder; message_delta carries the
  // final cumulative output_tokens (the SDK overwrites, never adds).
  const sse = new SseWriter(res, script, 'anthropic');
  const start = {
    ...message,
    content: [],
    stop_reason: null,
    usage: anthropicUsage(script, script.omitUsage ? 0 : 1),
  };
  await sse.send('message_start', { type: 'message_start', message: start });
  for (const [index, block] of content.entries()) {
    await sendAnthropicBlock(sse, index, block);
  }
  // With server tools the final usage carries the count of each tool's calls, cumulative like output_tokens.
  await sse.send('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: stopReason, stop_sequence: null },
    usage: { output_tokens: script.omitUsage ? 0 : output, ...serverToolUse(script, searches) },
  });
  await sse.send('message_stop', { type: 'message_stop' });
  sse.end();
}

/**
 * A block streams as start, deltas, stop. A tool call starts with `input: {}` and sends its input as
 * `input_json_delta` fragments of the JSON text, which the client joins and parses at the block's stop.
 */
async function sendAnthropicBlock(sse: SseWriter, index: number, block: AnthropicBlock): Promise<void> {
  // A search result block arrives whole in its start event, with no deltas.
  const start =
    block.type === 'text'
      ? { type: 'text', text: '' }
      : block.type === 'web_search_tool_result'
        ? block
        : { ...block, input: {} };
  await sse.send('content_block_start', { type: 'content_block_start', index, content_block: start });
  // The real API sends one ping, after the first block starts.
  if (index === 0) await sse.send('ping', { type: 'ping' });
  const deltas =
    block.type === 'text'
      ? textPieces(block.text).map((text) => ({ type: 'text_delta', text }))
      : block.type === 'web_search_tool_result'
        ? []
        : jsonPieces(JSON.stringify(block.input)).map((partial_json) => ({
            type: 'input_json_delta',
            partial_json,
          }));
  for (const delta of deltas) {
    await sse.send('content_block_delta', { type: 'content_block_delta', index, delta });
  }
  await sse.send('content_block_stop', { type: 'content_block_stop', index });
}

function contentOf(script: MockScript): MockContentBlock[] {
  return script.content ?? [{ type: 'text', text: script.text }];
}

/**
 * The searches run: the script's, if the request offers a web search tool (`web_search_20250305` and its
 * successors), capped at the tool's `max_uses`.
 * https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/web-search-tool
 */
function webSearchesOf(body: Json, script: MockScript): number {
  const tools = Array.isArray(body.tools) ? (body.tools as Json[]) : [];
  const tool = tools.find((t) => typeof t.type === 'string' && t.type.startsWith('web_search_'));
  if (!tool || !script.webSearches) return 0;
  const maxUses = typeof tool.max_uses === 'number' ? tool.max_uses : Number.POSITIVE_INFINITY;
  return Math.min(script.webSearches, maxUses);
}

function webSearchBlocks(searches: number): WebSearchBlock[] {
  return Array.from({ length: searches }, (_, i): WebSearchBlock[] => {
    const id = `srvtoolu_01${randomId(22)}`;
    const result = {
      type: 'web_search_result',
      url: `https://example.com/result-${i + 1}`,
      title: `Result ${i + 1}`,
      encrypted_content: randomId(48),
      page_age: null,
    };
    return [
      { type: 'server_tool_use', id, name: 'web_search', input: { query: `query ${i + 1}` } },
      { type: 'web_search_tool_result', tool_use_id: id, content: [result] },
    ];
  }).flat();
}

function serverToolUse(script: MockScript, searches: number): Json {
  if (searches === 0 || script.omitUsage) return {};
  return { server_tool_use: { web_search_requests: searches } };
}

/** The output tokens of one answer: the script's, or fewer where the request's limit stops it. */
function outputPerChoice(body: Json, script: MockScript): number {
  const limit = body.max_completion_tokens ?? body.max_tokens;
  const output = script.usage.output_tokens;
  return script.honourMaxTokens && typeof limit === 'number' ? Math.min(output, limit) : output;
}

function anthropicUsage(script: MockScript, outputTokens: number): Json {
  const zero = script.omitUsage === true;
  const written = zero ? 0 : (script.usage.cache_creation_input_tokens ?? 0);
  return {
    input_tokens: zero ? 0 : script.usage.input_tokens,
    cache_creation_input_tokens: written,
    cache_read_input_tokens: zero ? 0 : (script.usage.cache_read_input_tokens ?? 0),
    cache_creation: { ephemeral_5m_input_tokens: written, ephemeral_1h_input_tokens: 0 },
    output_tokens: outputTokens,
    service_tier: 'standard',
  };
}

// ---------- OpenAI Chat Completions ----------

/**
 * `n` asks for that many choices; each is a full answer, and `usage` counts the completion tokens of all
 * of them (the prompt once).
 */
async function chatCompletions({ body, script, res }: Exchange): Promise<void> {
  const base = {
    id: `chatcmpl-${randomId(29)}`,
    created: nowSeconds(),
    model: modelOf(body),
    service_tier: 'default',
    system_fingerprint: 'fp_mock0001',
  };
  const n = typeof body.n === 'number' ? body.n : 1;
  const indexes = Array.from({ length: n }, (_, i) => i);
  const usage = { ...script.usage, output_tokens: outputPerChoice(body, script) * n };
  if (body.stream !== true) {
    const message = { role: 'assistant', content: script.text, refusal: null, annotations: [] };
    const choices = indexes.map((index) => ({ index, message, logprobs: null, finish_reason: 'stop' }));
    const withUsage = script.omitUsage ? {} : { usage: chatUsage(usage) };
    return sendJson(
      res,
      200,
      { ...base, object: 'chat.completion', choices, ...withUsage },
      requestIdHeader('openai'),
    );
  }

  // With stream_options.include_usage the real API puts `usage: null` on every chunk and adds one
  // last chunk with `choices: []` and the usage; without it, no chunk has a usage field. Each chunk
  // carries one choice, told apart by its `index`.
  const streamOptions = body.stream_options as Json | undefined;
  const withUsage = streamOptions?.include_usage === true && !script.omitUsage;
  const chunk = (choices: unknown[], u: unknown = null) => ({
    ...base,
    object: 'chat.completion.chunk',
    choices,
    ...(withUsage ? { usage: u } : {}),
  });
  const sse = new SseWriter(res, script, 'openai');
  for (const index of indexes) {
    const choice = (delta: Json, finish_reason: string | null = null) => ({
      index,
      delta,
      logprobs: null,
      finish_reason,
    });
    await sse.send(null, chunk([choice({ role: 'assistant', content: '', refusal: null })]));
    for (const piece of textPieces(script.text)) await sse.send(null, chunk([choice({ content: piece })]));
    await sse.send(null, chunk([choice({}, 'stop')]));
  }
  if (withUsage) await sse.send(null, chunk([], chatUsage(usage)));
  await sse.send(null, '[DONE]');
  sse.end();
}

function chatUsage(usage: MockUsage): Json {
  // OpenAI's prompt_tokens include the cached tokens; Anthropic's input_tokens do not.
  const cached = usage.cache_read_input_tokens ?? 0;
  const prompt = usage.input_tokens + cached;
  return {
    prompt_tokens: prompt,
    completion_tokens: usage.output_tokens,
    total_tokens: prompt + usage.output_tokens,
    prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: usage.reasoning_tokens ?? 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

// ---------- OpenAI Responses ----------

async function responses({ body, script, res }: Exchange): Promise<void> {
  const id = `resp_${randomBytes(24).toString('hex')}`;
  const items = contentOf(script).map(toResponsesItem);
  const usage = script.omitUsage ? null : responsesUsage(script.usage);
  const response = (status: string, output: unknown[], u: unknown) => ({
    ...responseObject(id, body),
    status,
    output,
    usage: u,
  });
  if (body.stream !== true) {
    return sendJson(res, 200, response('completed', items, usage), requestIdHeader('openai'));
  }

  const sse = new SseWriter(res, script, 'openai');
  let seq = 0;
  const send = (type: string, fields: Json) => sse.send(type, { type, sequence_number: seq++, ...fields });
  await send('response.created', { response: response('in_progress', [], null) });
  await send('response.in_progress', { response: response('in_progress', [], null) });
  for (const [output_index, item] of items.entries()) await streamResponsesItem(send, output_index, item);
  await send('response.completed', { response: response('completed', items, usage) });
  sse.end();
}

type ResponsesItem =
  | { id: string; type: 'message'; status: string; content: Json[]; role: 'assistant' }
  | { id: string; type: 'function_call'; status: string; arguments: string; call_id: string; name: string };

function toResponsesItem(block: MockContentBlock): ResponsesItem {
  if (block.type === 'tool_use') {
    const { id: call_id, name, input } = block;
    const args = JSON.stringify(input);
    return {
      id: `fc_${randomBytes(24).toString('hex')}`,
      type: 'function_call',
      status: 'completed',
      arguments: args,
      call_id,
      name,
    };
  }
  const part = { type: 'output_text', annotations: [], logprobs: [], text: block.text };
  return {
    id: `msg_${randomBytes(24).toString('hex')}`,
    type: 'message',
    status: 'completed',
    content: [part],
    role: 'assistant',
  };
}

async function streamResponsesItem(
  send: (type: string, fields: Json) => Promise<void>,
  output_index: number,
  item: ResponsesItem,
): Promise<void> {
  if (item.type === 'function_call') {
    await send('response.output_item.added', {
      output_index,
      item: { ...item, status: 'in_progress', arguments: '' },
    });
    const at = { item_id: item.id, output_index };
    for (const delta of jsonPieces(item.arguments).filter(Boolean)) {
      await send('response.function_call_arguments.delta', { ...at, delta });
    }
    await send('response.function_call_arguments.done', { ...at, arguments: item.arguments });
    await send('response.output_item.done', { output_index, item });
    return;
  }
  const part = item.content[0] as Json & { text: string };
  const at = { item_id: item.id, output_index, content_index: 0 };
  await send('response.output_item.added', {
    output_index,
    item: { ...item, status: 'in_progress', content: [] },
  });
  await send('response.content_part.added', { ...at, part: { ...part, text: '' } });
  for (const delta of textPieces(part.text)) {
    await send('response.output_text.delta', { ...at, delta, logprobs: [] });
  }
  await send('response.output_text.done', { ...at, text: part.text, logprobs: [] });
  await send('response.content_part.done', { ...at, part });
  await send('response.output_item.done', { output_index, item });
}

function responseObject(id: string, body: Json): Json {
  return {
    id,
    object: 'response',
    created_at: nowSeconds(),
    background: false,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: modelOf(body),
    parallel_tool_calls: true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: body.store ?? true,
    temperature: 1,
    text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    truncation: 'disabled',
    user: null,
    metadata: {},
  };
}

function responsesUsage(usage: MockUsage): Json {
  const cached = usage.cache_read_input_tokens ?? 0;
  const input = usage.input_tokens + cached;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: cached },
    output_tokens: usage.output_tokens,
    output_tokens_details: { reasoning_tokens: usage.reasoning_tokens ?? 0 },
    total_tokens: input + usage.output_tokens,
  };
}

// ---------- OpenAI Embeddings ----------

function embeddings({ body, script, res }: Exchange): void {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  // The openai SDK asks for base64 unless the caller chose a format, then decodes little-endian float32.
  const base64 = body.encoding_format === 'base64';
  const data = inputs.map((_, index) => {
    const vector = Array.from({ length: 8 }, (_v, i) => Math.fround((index + 1) * 0.125 + i * 0.0625));
    const embedding = base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
    return { object: 'embedding', index, embedding };
  });
  const tokens = script.usage.input_tokens;
  const usage = script.omitUsage ? {} : { usage: { prompt_tokens: tokens, total_tokens: tokens } };
  sendJson(res, 200, { object: 'list', data, model: modelOf(body), ...usage }, requestIdHeader('openai'));
}

// ---------- plumbing ----------

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class SseWriter {
  private count = 0;
  private stopped = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly script: MockScript,
    protocol: Protocol,
  ) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      ...requestIdHeader(protocol),
    });
    res.flushHeaders();
    this.cutIfDue();
  }

  /** One `res.write` per event, so a reader can observe the stream arriving piece by piece. */
  async send(event: string | null, data: unknown): Promise<void> {
    if (this.stopped) return;
    if (this.count > 0 && this.script.chunkDelayMs) await sleep(this.script.chunkDelayMs);
    if (this.res.destroyed) {
      this.stopped = true;
      return;
    }
    const payload = typeof data === 'string' ? data : JSON.stringify(data);
    this.res.write(`${event === null ? '' : `event: ${event}\n`}data: ${payload}\n\n`);
    this.count++;
    this.cutIfDue();
  }

  end(): void {
    if (!this.stopped && !this.res.destroyed) this.res.end();
  }

  private cutIfDue(): void {
    const cut = this.script.cutStreamAfterEvents;
    if (cut === undefined || this.count < cut) return;
    this.stopped = true;
    // Let the written events leave before the socket goes, as when an upstream dies mid-stream.
    const socket = this.res.socket;
    if (socket) socket.end(() => socket.destroy());
  }
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function sendError(
  res: ServerResponse,
  protocol: Protocol,
  status: number,
  message = `Mock upstream error (HTTP ${status}).`,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, errorBody(protocol, status, message), { ...requestIdHeader(protocol), ...headers });
}

function errorBody(protocol: Protocol, status: number, message: string): Json {
  if (protocol === 'anthropic') {
    const type = anthropicErrorTypes[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
    return { type: 'error', error: { type, message }, request_id: `req_011C${randomId(20)}` };
  }
  const [type, code] = openaiErrorTypes[status] ?? [
    status >= 500 ? 'server_error' : 'invalid_request_error',
    null,
  ];
  return { error: { message, type, param: null, code } };
}

// https://docs.anthropic.com/en/api/errors
const anthropicErrorTypes: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

// https://platform.openai.com/docs/guides/error-codes
const openaiErrorTypes: Record<number, [string, string | null]> = {
  401: ['invalid_request_error', 'invalid_api_key'],
  404: ['invalid_request_error', 'unknown_url'],
  429: ['requests', 'rate_limit_exceeded'],
};

function requestIdHeader(protocol: Protocol): Record<string, string> {
  return protocol === 'anthropic'
    ? { 'request-id': `req_011C${randomId(20)}` }
    : { 'x-request-id': `req_${randomBytes(16).toString('hex')}` };
}

/** The real API sends an empty fragment first, then pieces of a few characters. */
function jsonPieces(json: string): string[] {
  return ['', ...(json.match(/[\s\S]{1,8}/g) ?? [])];
}

/** Word-sized pieces (each keeps its trailing space), like the token-sized deltas real models send. */
function textPieces(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? (text ? [text] : []);
}

function modelOf(body: Json): string {
  return typeof body.model === 'string' ? body.model : 'mock-model';
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

const base62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function randomId(length: number): string {
  return Array.from(randomBytes(length), (byte) => base62[byte % 62]).join('');
}
