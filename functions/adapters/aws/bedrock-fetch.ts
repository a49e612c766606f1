/**
 * The Amazon Bedrock upstream: an UpstreamFetch that takes the Anthropic Messages request the pipeline
 * would send to api.anthropic.com, calls Bedrock's runtime through the AWS SDK (which signs it with the
 * function's IAM credentials) and answers as api.anthropic.com would: the same JSON, or the same SSE
 * events, re-encoded from Bedrock's event stream one by one as they arrive.
 * https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages.html
 */
import type {
  InvokeModelCommand,
  InvokeModelCommandOutput,
  InvokeModelWithResponseStreamCommand,
  InvokeModelWithResponseStreamCommandOutput,
  ResponseStream,
} from '@aws-sdk/client-bedrock-runtime';
import type { ErrorKind } from '../../core/errors.ts';
import type { UpstreamFetch } from '../../core/ports.ts';
import { anthropicMessages } from '../../core/protocols/anthropic-messages.ts';
import { isRecord } from '../../core/protocols/types.ts';

interface SendOptions {
  abortSignal?: AbortSignal;
}

/** The two calls this adapter makes; a BedrockRuntimeClient fits, and so does a fake in tests. */
export interface BedrockInvoke {
  send(command: InvokeModelCommand, options?: SendOptions): Promise<InvokeModelCommandOutput>;
  send(
    command: InvokeModelWithResponseStreamCommand,
    options?: SendOptions,
  ): Promise<InvokeModelWithResponseStreamCommandOutput>;
}

/** The Messages API version Bedrock takes in the body instead of the `anthropic-version` header. */
export const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';

export function createBedrockFetch(bedrock: () => Promise<BedrockInvoke>): UpstreamFetch {
  return async (_url, init) => {
    const { modelId, stream, body } = bedrockRequest(init);
    // Loaded on the first Bedrock request, not at cold start (on-first-use.ts).
    const [{ InvokeModelCommand, InvokeModelWithResponseStreamCommand }, client] = await Promise.all([
      import('@aws-sdk/client-bedrock-runtime'),
      bedrock(),
    ]);
    const input = { modelId, body, contentType: 'application/json', accept: 'application/json' };
    const options = init.signal ? { abortSignal: init.signal } : {};
    try {
      if (!stream) {
        const output = await client.send(new InvokeModelCommand(input), options);
        const json = new Uint8Array(output.body);
        return new Response(json, { status: 200, headers: responseHeaders('application/json', output) });
      }
      const output = await client.send(new InvokeModelWithResponseStreamCommand(input), options);
      if (!output.body) throw new Error('Bedrock answered without an event stream');
      return new Response(sseFromEventStream(output.body), {
        status: 200,
        headers: responseHeaders('text/event-stream', output),
      });
    } catch (err) {
      // Aborts (client gone, time up) and failures to reach Bedrock at all are the gateway's to report.
      if (init.signal?.aborted || !isServiceError(err)) throw err;
      return errorResponse(err);
    }
  };
}

/**
 * Bedrock takes the Messages body less `model` (it is in the path) and `stream` (it is the operation),
 * plus `anthropic_version`, and the beta flags as a body field instead of the `anthropic-beta` header.
 */
export function bedrockRequest(init: RequestInit): { modelId: string; stream: boolean; body: Uint8Array } {
  if (typeof init.body !== 'string') throw new TypeError('The Bedrock upstream expects a JSON text body');
  const { model, stream, ...rest } = JSON.parse(init.body) as Record<string, unknown>;
  if (typeof model !== 'string') throw new TypeError('The Bedrock upstream expects a model id in the body');
  const body: Record<string, unknown> = { ...rest };
  body.anthropic_version ??= BEDROCK_ANTHROPIC_VERSION;
  const fromHeader = (new Headers(init.headers).get('anthropic-beta') ?? '')
    .split(',')
    .map((flag) => flag.trim())
    .filter(Boolean);
  const fromBody = Array.isArray(rest.anthropic_beta) ? rest.anthropic_beta : [];
  const betas = [...new Set([...fromBody, ...fromHeader])];
  if (betas.length > 0) body.anthropic_beta = betas;
  return { modelId: model, stream: stream === true, body: new TextEncoder().encode(JSON.stringify(body)) };
}

function responseHeaders(contentType: string, output: { $metadata: { requestId?: string } }): HeadersInit {
  const requestId = output.$metadata.requestId;
  return { 'content-type': contentType, ...(requestId ? { 'request-id': requestId } : {}) };
}

/**
 * Each Bedrock `chunk` holds one Anthropic stream event as JSON; it goes out as that SSE event, unchanged.
 * Pulled one event at a time, so nothing is held back. An exception in the stream, or a stream that
 * stops before `message_stop`, errors the body: the gateway then ends its own with an error event.
 */
function sseFromEventStream(events: AsyncIterable<ResponseStream>): ReadableStream<Uint8Array> {
  const iterator = events[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  let stopped = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Loop until something is enqueued: a pull that enqueues nothing is not called again.
      for (;;) {
        const { done, value } = await iterator.next();
        if (done) {
          // Over HTTP/2 the SDK ends the iteration quietly when the connection drops mid-stream.
          if (!stopped) throw new Error('Bedrock event stream ended before message_stop');
          return controller.close();
        }
        if (!value.chunk) throw streamException(value);
        if (value.chunk.bytes?.length) {
          const event = sseEvent(decoder.decode(value.chunk.bytes));
          stopped = event.type === 'message_stop';
          return controller.enqueue(encoder.encode(event.text));
        }
      }
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}

function sseEvent(json: string): { type: string; text: string } {
  const event: unknown = JSON.parse(json);
  const type = isRecord(event) && typeof event.type === 'string' ? event.type : 'message';
  // A `data:` line ends at a line break; compact JSON has none, and any other is re-serialized without.
  const data = /[\r\n]/.test(json) ? JSON.stringify(event) : json;
  return { type, text: `event: ${type}\ndata: ${data}\n\n` };
}

/** A modelled exception the SDK handed over as a stream member instead of throwing it. */
function streamException(member: ResponseStream): Error {
  const [name, detail] = Object.entries(member).find(([, v]) => v !== undefined) ?? ['unknown', undefined];
  const message = isRecord(detail) && typeof detail.message === 'string' ? detail.message : 'no message';
  return new Error(`Bedrock stream failed: ${name}: ${message}`);
}

interface ServiceError {
  name: string;
  message: string;
  $fault: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
}

/** An answer from Bedrock (any modelled or unmodelled service exception), not a failure to reach it. */
function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && '$fault' in err;
}

/**
 * The status Bedrock sends with each exception, for when the SDK did not keep it.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModel.html#API_runtime_InvokeModel_Errors
 */
const EXCEPTION_STATUS: Record<string, number> = {
  ValidationException: 400,
  ServiceQuotaExceededException: 400,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  ModelTimeoutException: 408,
  ModelErrorException: 424,
  ModelNotReadyException: 429,
  ThrottlingException: 429,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
};

const KIND_BY_STATUS: Record<number, ErrorKind> = {
  400: 'invalid_request',
  403: 'permission',
  404: 'not_found',
  429: 'rate_limited',
  504: 'upstream_timeout',
};

/** Bedrock's error as the Anthropic API shapes its own, with Bedrock's status. */
function errorResponse(err: ServiceError): Response {
  const bedrockStatus = err.$metadata?.httpStatusCode ?? EXCEPTION_STATUS[err.name] ?? 500;
  // A model that ran out of time is a gateway timeout to the client; a 408 would say the client was slow.
  const status = bedrockStatus === 408 ? 504 : bedrockStatus;
  const body = anthropicMessages.errorBody(
    KIND_BY_STATUS[status] ?? 'upstream',
    `Amazon Bedrock: ${err.name}: ${err.message}`,
  );
  return Response.json(body, { status });
}
