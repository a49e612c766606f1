// A stand-in for bedrock-runtime.<region>.amazonaws.com on 127.0.0.1, for Claude's Messages API as the
// AWS SDK calls it (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages.html):
// - POST /model/{modelId}/invoke answers the Messages JSON;
// - POST /model/{modelId}/invoke-with-response-stream answers the Anthropic stream events, each one a
//   `chunk` message in the AWS event-stream encoding, its payload `{"bytes":"<base64 of the event JSON>"}`.
//   The last event also carries `amazon-bedrock-invocationMetrics`, as Bedrock's does.
// Errors are shaped as restJson1 errors: the type in `x-amzn-errortype`, `{"message"}` in the body.
// It speaks HTTP/2 (cleartext, prior knowledge): the Bedrock runtime client's default handler is HTTP/2.
import { randomUUID } from 'node:crypto';
import {
  createServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventStreamCodec } from '@smithy/eventstream-codec';

export interface BedrockRecordedRequest {
  method: string;
  /** The path as sent, still percent-encoded: `/model/us.anthropic.claude-…-v1%3A0/invoke`. */
  path: string;
  /** The model id from the path, decoded. */
  modelId: string;
  operation: 'invoke' | 'invoke-with-response-stream' | 'unknown';
  /** Header names are lowercase. */
  headers: Record<string, string>;
  body: unknown;
}

export interface MockBedrockUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

export interface MockBedrockScript {
  text: string;
  usage: MockBedrockUsage;
  /** Leave usage out of `message_start` and `message_delta`, so only Bedrock's metrics report it. */
  omitEventUsage?: boolean;
  /** Bedrock's own counts on the last event; the script's usage when unset. */
  metrics?: MockBedrockUsage;
  /** Answer with this restJson1 error, e.g. `{ status: 429, type: 'ThrottlingException', … }`. */
  failWith?: { status: number; type: string; message: string };
  /** Drop the connection after this many stream events, as when the connection dies mid-stream. */
  cutStreamAfterEvents?: number;
  /** Send a `modelStreamErrorException` message after this many stream events. */
  exceptionAfterEvents?: number;
  chunkDelayMs?: number;
}

export interface MockBedrock {
  /** `http://127.0.0.1:PORT`: the endpoint for the SDK client. */
  url: string;
  requests: BedrockRecordedRequest[];
  /** Mutable: each request reads it when it arrives. */
  script: MockBedrockScript;
  /** Stream events written so far, over all requests. */
  eventsSent: number;
  /** Streams the client closed before their last event was written. */
  streamsClosedEarly: number;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => new Uint8Array(Buffer.from(text, 'utf8')),
);

export const DEFAULT_BEDROCK_SCRIPT: MockBedrockScript = {
  text: 'Hello from the mock Bedrock runtime.',
  usage: { input_tokens: 12, output_tokens: 7 },
};

export async function startMockBedrock(): Promise<MockBedrock> {
  const sessions = new Set<Http2Session>();
  const mock: MockBedrock = {
    url: '',
    requests: [],
    script: { ...DEFAULT_BEDROCK_SCRIPT },
    eventsSent: 0,
    streamsClosedEarly: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      }),
  };
  const server = createServer((req, res) => {
    res.on('error', () => {});
    serve(req, res, mock).catch(() => {
      if (res.headersSent) res.stream.close();
      else sendError(res, 500, 'InternalServerException', 'The mock failed.');
    });
  });
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  mock.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return mock;
}

async function serve(req: Http2ServerRequest, res: Http2ServerResponse, mock: MockBedrock): Promise<void> {
  const recorded = await record(req);
  mock.requests.push(recorded);
  const script = { ...mock.script };
  if (script.failWith) {
    const { status, type, message } = script.failWith;
    return sendError(res, status, type, message);
  }
  if (recorded.operation === 'unknown' || req.method !== 'POST') {
    return sendError(res, 404, 'UnknownOperationException', `No operation at ${recorded.path}`);
  }
  if (!/^AWS4-HMAC-SHA256 Credential=/.test(recorded.headers.authorization ?? '')) {
    return sendError(res, 403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  const body = recorded.body as Json;
  if (body.anthropic_version !== 'bedrock-2023-05-31' || 'model' in body || 'stream' in body) {
    return sendError(res, 400, 'ValidationException', 'Malformed input request, please reformat your input.');
  }
  if (recorded.operation === 'invoke') return sendJson(res, 200, finalMessage(recorded.modelId, script));
  await streamEvents(res, messageEvents(recorded.modelId, script), script, mock);
}

async function record(req: Http2ServerRequest): Promise<BedrockRecordedRequest> {
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
  const path = req.url ?? '/';
  const match = /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream)$/.exec(path);
  return {
    method: req.method ?? 'GET',
    path,
    modelId: match ? decodeURIComponent(match[1]!) : '',
    operation: (match?.[2] as BedrockRecordedRequest['operation']) ?? 'unknown',
    headers,
    body,
  };
}

function usageOf(script: MockBedrockScript, outputTokens: number): Json {
  return {
    input_tokens: script.usage.input_tokens,
    cache_creation_input_tokens: script.usage.cache_creation_input_tokens ?? 0,
    cache_read_input_tokens: script.usage.cache_read_input_tokens ?? 0,
    output_tokens: outputTokens,
  };
}

function finalMessage(modelId: string, script: MockBedrockScript): Json {
  return {
    id: `msg_bdrk_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
    type: 'message',
    role: 'assistant',
    model: modelId.replace(/^([a-z-]+\.)?anthropic\./, '').replace(/-v\d+(:\d+)?$/, ''),
    content: [{ type: 'text', text: script.text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: usageOf(script, script.usage.output_tokens),
  };
}

/** The Anthropic stream events of one answer (https://docs.anthropic.com/en/docs/build-with-claude/streaming). */
function messageEvents(modelId: string, script: MockBedrockScript): Json[] {
  const message = finalMessage(modelId, script);
  const { usage: _, ...withoutUsage } = message;
  const start = { ...message, content: [], stop_reason: null, usage: usageOf(script, 1) };
  const pieces = script.text.match(/.{1,8}/gs) ?? [];
  const metrics = script.metrics ?? script.usage;
  return [
    { type: 'message_start', message: script.omitEventUsage ? { ...withoutUsage, content: [] } : start },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    ...pieces.map((text) => ({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })),
    { type: 'content_block_stop', index: 0 },
    {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      ...(script.omitEventUsage ? {} : { usage: { output_tokens: script.usage.output_tokens } }),
    },
    {
      type: 'message_stop',
      'amazon-bedrock-invocationMetrics': {
        inputTokenCount: metrics.input_tokens,
        outputTokenCount: metrics.output_tokens,
        invocationLatency: 812,
        firstByteLatency: 301,
        ...(metrics.cache_read_input_tokens === undefined
          ? {}
          : { cacheReadInputTokenCount: metrics.cache_read_input_tokens }),
        ...(metrics.cache_creation_input_tokens === undefined
          ? {}
          : { cacheWriteInputTokenCount: metrics.cache_creation_input_tokens }),
      },
    },
  ];
}

async function streamEvents(
  res: Http2ServerResponse,
  events: Json[],
  script: MockBedrockScript,
  mock: MockBedrock,
): Promise<void> {
  let finished = false;
  res.stream.on('close', () => {
    if (!finished) mock.streamsClosedEarly++;
  });
  res.writeHead(200, {
    'content-type': 'application/vnd.amazon.eventstream',
    'x-amzn-requestid': randomUUID(),
    'x-amzn-bedrock-content-type': 'application/json',
  });
  for (const [sent, event] of events.entries()) {
    if (sent === script.cutStreamAfterEvents) {
      // Let the written messages leave before the connection goes, as when it dies mid-stream.
      finished = true;
      await sleep(20);
      res.stream.session?.destroy();
      return;
    }
    if (sent === script.exceptionAfterEvents) {
      finished = true;
      res.end(exceptionMessage('modelStreamErrorException', 'The model stopped unexpectedly.'));
      return;
    }
    if (sent > 0 && script.chunkDelayMs) await sleep(script.chunkDelayMs);
    if (res.stream.destroyed) return;
    res.write(chunkMessage(event));
    mock.eventsSent++;
  }
  finished = true;
  res.end();
}

function chunkMessage(event: Json): Uint8Array {
  const bytes = Buffer.from(JSON.stringify(event)).toString('base64');
  return codec.encode({
    headers: {
      ':event-type': { type: 'string', value: 'chunk' },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'event' },
    },
    body: Buffer.from(JSON.stringify({ bytes })),
  });
}

function exceptionMessage(type: string, message: string): Uint8Array {
  return codec.encode({
    headers: {
      ':exception-type': { type: 'string', value: type },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'exception' },
    },
    body: Buffer.from(JSON.stringify({ message, originalStatusCode: 500 })),
  });
}

function sendError(res: Http2ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'x-amzn-requestid': randomUUID(),
    'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
  });
  res.end(JSON.stringify({ message }));
}

function sendJson(res: Http2ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() });
  res.end(JSON.stringify(body));
}
