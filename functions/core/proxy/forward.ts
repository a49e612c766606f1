import { type ErrorKind, GatewayError } from '../errors.ts';
import type { ParsedRequest } from '../protocols/types.ts';
import { clientHeaders, upstreamHeaders } from '../providers/upstream.ts';
import type { CallState, Finisher } from './finish.ts';
import { type BodyEnd, jsonMeter, meteredBody, sseMeter } from './metered-body.ts';
import type { ProxyDeps } from './pipeline.ts';

export interface ForwardInput {
  request: Request;
  url: URL;
  body: Record<string, unknown>;
  parsed: ParsedRequest;
  outputCap: number | undefined;
  timeoutMs: number;
}

/**
 * Sends the request to the model's provider and streams the answer back through a meter. Failures
 * before the first byte become protocol-shaped errors (thrown); after it, a protocol error event ends
 * the stream. Either way the call is finished exactly once.
 */
export async function forward(
  deps: ProxyDeps,
  finisher: Finisher,
  call: CallState,
  input: ForwardInput,
): Promise<Response> {
  const model = call.model!;
  const protocol = call.protocol;
  const { body, stripUsageChunk } = protocol.upstreamBody(input.body, input.parsed, input.outputCap);
  const settings = deps.providers[model.provider];
  const headers = upstreamHeaders(model.provider, settings, input.request.headers);
  const target = `${settings.baseUrl}${protocol.upstreamPath}${input.url.search}`;
  const cancel = new AbortController();
  const signal = AbortSignal.any([cancel.signal, AbortSignal.timeout(input.timeoutMs)]);

  let response: Response;
  try {
    response = await deps.upstream(target, { method: 'POST', headers, body: JSON.stringify(body), signal });
  } catch (cause) {
    throw unreachable(model.provider, cause, signal);
  }

  if (!response.ok || !response.body) return upstreamFailure(call, finisher, response);

  const isSse = (response.headers.get('content-type') ?? '').includes('text/event-stream');
  const meter = isSse ? sseMeter(protocol, stripUsageChunk) : jsonMeter(protocol);
  const status = response.status;
  const stream = meteredBody(response.body, meter, {
    onFirstChunk: () => {
      call.first_byte = deps.clock.now();
    },
    errorTail: (cause) => {
      const error = unreachable(model.provider, cause, signal);
      return isSse
        ? new TextEncoder().encode(protocol.streamErrorEvent(error.kind, error.message))
        : undefined;
    },
    onEnd: (end: BodyEnd) => {
      if (end.kind === 'client_gone') cancel.abort();
      const reading = meter.reading();
      const complete = end.kind === 'complete' && !reading.error;
      finisher.finish(call, {
        status,
        outcome: complete ? 'success' : 'truncated',
        error_type: end.kind === 'complete' ? reading.error : end.kind,
        reading,
      });
    },
  });
  return new Response(stream, { status, headers: clientHeaders(response.headers, call.request_id) });
}

/** An upstream error answer: passed back as is, except credential failures, which are the gateway's. */
async function upstreamFailure(call: CallState, finisher: Finisher, response: Response): Promise<Response> {
  const text = await response.text().catch(() => '');
  const status = response.status;
  finisher.finish(call, { status, outcome: 'upstream_error', error_type: `upstream_${status}` });
  if (status === 401 || status === 403) {
    const message = `The provider rejected the gateway's credentials (HTTP ${status}); tell your gateway admin.`;
    return protocolError(call, 'upstream', message, 502);
  }
  return new Response(text, { status, headers: clientHeaders(response.headers, call.request_id) });
}

function protocolError(call: CallState, kind: ErrorKind, message: string, status: number): Response {
  return new Response(JSON.stringify(call.protocol.errorBody(kind, message)), {
    status,
    headers: { 'content-type': 'application/json', 'x-tollgate-request-id': call.request_id },
  });
}

function unreachable(provider: string, cause: unknown, signal: AbortSignal): GatewayError {
  const timedOut = signal.reason instanceof DOMException && signal.reason.name === 'TimeoutError';
  return timedOut
    ? new GatewayError('upstream_timeout', `The ${provider} API did not answer in time.`, { cause })
    : new GatewayError(
        'upstream',
        `Could not reach the ${provider} API: ${(cause as Error)?.message ?? cause}`,
        { cause },
      );
}
