import { GatewayError } from '../errors.ts';
import type { Principal } from '../governance/scopes.ts';
import type { InflightHold } from '../ports/journal.ts';
import type { ResolvedModel } from '../pricing/catalog.ts';
import { isRecord, type ParsedRequest, type Protocol } from '../protocols/types.ts';
import { upstreamPath } from '../providers/providers.ts';
import {
  clientHeaders,
  providerRequestId,
  setBudgetHeaders,
  upstreamHeaders,
} from '../providers/upstream.ts';
import { attemptLeaseId, countersFor, releaseReservation, reserveFor } from './admit.ts';
import { type CallState, inflightEntry, releaseOnFinish } from './call.ts';
import type { ProxyDeps } from './deps.ts';
import { errorResponse } from './error-response.ts';
import type { Finisher } from './finish.ts';
import { type BodyEnd, jsonMeter, meteredBody, sseMeter } from './metered-body.ts';

export interface ForwardInput {
  request: Request;
  url: URL;
  /** The client's body, parsed, and as it arrived (sent on untouched when nothing needs changing). */
  body: Record<string, unknown>;
  raw: string;
  parsed: ParsedRequest;
  timeoutMs: number;
}

/**
 * Serves the request with the first of `models` that answers: each attempt reserves budget for its
 * own model, and a failure before any byte reached the client — 429, 5xx, no connection, no answer in
 * time — gives the reservation back and moves on to the next. The last attempt's failure is the
 * client's answer. Once a response is streaming, nothing is retried.
 */
export async function forward(
  deps: ProxyDeps,
  finisher: Finisher,
  call: CallState,
  who: Principal,
  models: ResolvedModel[],
  input: ForwardInput,
): Promise<Response> {
  const deadline = deadlineOf(call, input.timeoutMs);
  for (const [i, model] of models.entries()) {
    input.request.signal.throwIfAborted();
    call.model = model;
    const counters = countersFor(deps, call, who, model, input.parsed);
    journalStart(deps, call, model, input, { lease_id: attemptLeaseId(call, i), counters });
    const outputCap = await reserveFor(deps, call, counters, model, input.parsed, i);
    journalReserved(deps, call);
    const fallback = i < models.length - 1;
    const answer = await attempt(deps, finisher, call, input, { model, outputCap, deadline, fallback });
    if (answer !== RETRY) return answer;
    await releaseReservation(deps, call);
  }
  throw new GatewayError('internal', 'No model to serve the request.');
}

const RETRY = Symbol('retry');

/**
 * The request's deadline, let go of when the call is finished. Not `AbortSignal.timeout`: Node keeps
 * such a signal, and all that its listeners reach, until its timer fires, so a busy gateway would hold
 * every request of the last `timeoutMs` (ten minutes) in memory.
 */
function deadlineOf(call: CallState, timeoutMs: number): AbortSignal {
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new DOMException('The request ran out of time.', 'TimeoutError')),
    timeoutMs,
  );
  releaseOnFinish(call, () => clearTimeout(timer));
  return deadline.signal;
}

/** Notes in the in-flight entry where the request now holds its reservation. */
function journalReserved(deps: ProxyDeps, call: CallState): void {
  const reservation = call.reservation;
  if (!reservation) return;
  const before = call.journaled ?? Promise.resolve();
  call.journaled = before.then(() =>
    deps.journal.reserved(call.request_id, reservation).catch((err: unknown) => {
      deps.log.error('inflight.reserved_failed', { request_id: call.request_id, error: String(err) });
    }),
  );
}

/** How long past its deadline a request's in-flight entry waits before recovery may call it lost. */
const INFLIGHT_GRACE_MS = 60_000;

/**
 * Makes the request's existence durable as it reserves — in parallel with the reservation — so a
 * process that dies from here on still leaves a record and frees its hold. The provider call waits
 * for it where the write is cheap (`journalFirst`). Each attempt replaces the entry, adding its own hold.
 */
function journalStart(
  deps: ProxyDeps,
  call: CallState,
  model: ResolvedModel,
  input: ForwardInput,
  hold: InflightHold,
): void {
  if (hold.counters.length > 0) call.holds.push(hold);
  const output = Math.min(input.parsed.maxOutputTokens ?? model.max_output_tokens, model.max_output_tokens);
  const now = deps.clock.now();
  const expires = new Date(now.getTime() + input.timeoutMs + INFLIGHT_GRACE_MS);
  const entry = inflightEntry(
    call,
    { output, choices: input.parsed.choices, searches: input.parsed.webSearches },
    expires,
    now,
  );
  const begun = deps.journal.begin(entry).catch((err: unknown) => {
    deps.log.error('inflight.begin_failed', { request_id: call.request_id, error: String(err) });
  });
  call.journaled = call.journaled ? Promise.all([call.journaled, begun]).then(() => undefined) : begun;
}

/** Statuses worth another provider: rate limited, overloaded, or failing. */
function retryable(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * One upstream call, streamed back through a meter. Failures before the first byte become
 * protocol-shaped errors (thrown), or RETRY when a fallback is left and the failure is worth one;
 * after it, a protocol error event ends the stream. Either way the call is finished exactly once.
 */
async function attempt(
  deps: ProxyDeps,
  finisher: Finisher,
  call: CallState,
  input: ForwardInput,
  a: { model: ResolvedModel; outputCap: number | undefined; deadline: AbortSignal; fallback: boolean },
): Promise<Response | typeof RETRY> {
  const { model } = a;
  const protocol = call.protocol;
  const { body, stripUsageChunk } = upstreamBody(input, model, a.outputCap, protocol);
  const settings = deps.providers[model.provider];
  const headers = upstreamHeaders(model.provider, protocol.family, settings, input.request.headers);
  const noted = (result: string | number) => call.attempts.push(`${model.provider}/${model.model} ${result}`);
  const target = `${settings.baseUrl}${upstreamPath(model.provider, protocol.name)}${input.url.search}`;
  const cancel = new AbortController();
  // The client's own signal is in it: a client that leaves cancels the provider call at once.
  const signal = linked(cancel, a.deadline, input.request.signal);
  // A stream's headers come within seconds; with somewhere else to go, do not wait for the deadline.
  // (A non-streamed answer's headers come only with the whole answer, so it waits.)
  const patience =
    a.fallback && call.stream
      ? setTimeout(
          () => cancel.abort(new DOMException('No answer in time', 'TimeoutError')),
          deps.routing.fallbackAfterMs,
        )
      : undefined;

  let response: Response;
  // Never a provider call that recovery could not account for (see ProxyDeps.journalFirst).
  if (deps.journalFirst) await call.journaled;
  call.upstream_started ??= deps.clock.now();
  try {
    const upstream = deps.upstreams?.[model.provider] ?? deps.upstream;
    response = await upstream(target, { method: 'POST', headers, body, signal });
  } catch (cause) {
    call.upstream_ended = deps.clock.now();
    if (input.request.signal.aborted) throw cause;
    const error = unreachable(model.provider, cause, signal);
    noted(error.kind === 'upstream_timeout' ? 'timeout' : 'unreachable');
    // Past the request's own deadline no fallback has time left.
    if (a.fallback && !a.deadline.aborted) return RETRY;
    throw error;
  } finally {
    clearTimeout(patience);
  }
  noted(response.status);
  call.provider_request_id = providerRequestId(response.headers) ?? call.provider_request_id;

  if (!response.ok || !response.body) {
    if (a.fallback && retryable(response.status)) {
      call.upstream_ended = deps.clock.now();
      await response.body?.cancel().catch(() => undefined);
      return RETRY;
    }
    return upstreamFailure(call, finisher, response, deps.clock);
  }

  const isSse = (response.headers.get('content-type') ?? '').includes('text/event-stream');
  if (!isSse && !call.stream) {
    // A body cut or timed out while it is read is the provider's failure (502/504), not the gateway's.
    return jsonAnswer(call, finisher, response, deps.clock, model.provider).catch((cause: unknown) => {
      if (input.request.signal.aborted) throw cause;
      throw unreachable(model.provider, cause, signal);
    });
  }
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
      call.upstream_ended = deps.clock.now();
      if (end.kind === 'client_gone') cancel.abort();
      const reading = meter.reading();
      const complete = end.kind === 'complete' && !reading.error;
      finisher.finish(call, {
        status,
        outcome: complete ? 'success' : end.kind === 'client_gone' ? 'client_closed' : 'truncated',
        error_type:
          end.kind === 'complete' ? reading.error : end.kind === 'client_gone' ? 'mid_stream' : end.kind,
        reading,
      });
    },
  });
  const replyHeaders = clientHeaders(response.headers, call.request_id);
  setBudgetHeaders(replyHeaders, call.reservation, call.protocol.name === 'anthropic-messages');
  if (call.rule) replyHeaders.set('x-tollgate-model', model.model);
  return new Response(stream, { status, headers: replyHeaders });
}

/**
 * A whole JSON answer, read before the client gets it, so a 200 that is not JSON (a proxy's HTML page, a
 * cut body) becomes a 502 and an `upstream_error` record rather than a success the client cannot parse.
 */
async function jsonAnswer(
  call: CallState,
  finisher: Finisher,
  response: Response,
  clock: ProxyDeps['clock'],
  provider: string,
): Promise<Response> {
  const text = await response.text();
  call.first_byte = call.upstream_ended = clock.now();
  const meter = jsonMeter(call.protocol);
  meter.push(new TextEncoder().encode(text));
  const reading = meter.reading();
  if (reading.error === 'invalid_json') {
    finisher.finish(call, { status: 502, outcome: 'upstream_error', error_type: 'upstream_invalid_json' });
    const message = `The ${provider} API answered ${response.status} with a body that is not JSON.`;
    return errorResponse(call.protocol, new GatewayError('upstream', message), call.request_id);
  }
  finisher.finish(call, { status: response.status, outcome: 'success', reading });
  const headers = clientHeaders(response.headers, call.request_id);
  setBudgetHeaders(headers, call.reservation, call.protocol.name === 'anthropic-messages');
  if (call.rule) headers.set('x-tollgate-model', call.model?.model ?? '');
  return new Response(text, { status: response.status, headers });
}

/** An upstream error answer: passed back as is, except credential failures, which are the gateway's. */
async function upstreamFailure(
  call: CallState,
  finisher: Finisher,
  response: Response,
  clock: ProxyDeps['clock'],
): Promise<Response> {
  const text = await response.text().catch(() => '');
  call.upstream_ended = clock.now();
  const status = response.status;
  finisher.finish(call, { status, outcome: 'upstream_error', error_type: `upstream_${status}` });
  if (status === 401 || status === 403) {
    const message = `The provider rejected the gateway's credentials (HTTP ${status}); tell your gateway admin.`;
    return errorResponse(call.protocol, new GatewayError('upstream', message), call.request_id);
  }
  return new Response(text, { status, headers: clientHeaders(response.headers, call.request_id) });
}

/**
 * `cancel`'s signal, aborted with the reason of whichever of `sources` aborts first. (AbortSignal.any
 * does the same, but on Node 20 each composite signal is tracked for the garbage collector, which costs
 * a busy gateway measurably; these sources live exactly as long as the request.)
 */
function linked(cancel: AbortController, ...sources: AbortSignal[]): AbortSignal {
  for (const source of sources) {
    if (source.aborted) cancel.abort(source.reason);
    else source.addEventListener('abort', () => cancel.abort(source.reason), { once: true });
  }
  return cancel.signal;
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

/**
 * The body text for the provider. The client's bytes go through untouched unless something must
 * change: a lowered output limit, usage reporting on an OpenAI stream, the upstream model id of a
 * `provider/model` name or of the model a rule chose, or gateway-only `metadata.tags` that providers would reject.
 */
function upstreamBody(
  input: ForwardInput,
  model: ResolvedModel,
  outputCap: number | undefined,
  protocol: Protocol,
): { body: string; stripUsageChunk: boolean } {
  const adjusted = protocol.upstreamBody(input.body, input.parsed, outputCap);
  let body = adjusted.body;
  if (model.upstream_model !== input.parsed.model) body = { ...body, model: model.upstream_model };
  if (input.parsed.tags.length > 0 && isRecord(body.metadata)) {
    const { tags: _, ...metadata } = body.metadata;
    body = { ...body, metadata };
  }
  return {
    body: body === input.body ? input.raw : JSON.stringify(body),
    stripUsageChunk: adjusted.stripUsageChunk,
  };
}
