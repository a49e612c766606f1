/**
 * The proxy pipeline: (Request) => Response, whatever runtime hosts it. Route, authenticate, resolve
 * the model, reserve budget, forward with streaming, and — however the request ends — settle the
 * reservation to the real cost and write exactly one usage record.
 */
import type { ProviderName, ProviderSettings } from '../../config.ts';
import { GatewayError } from '../errors.ts';
import { estimatePromptTokensForReservation, reserveBudget } from '../governance/budgets.ts';
import {
  assertKeyUsable,
  assertModelAllowed,
  hashKey,
  keyCounter,
  presentedKey,
} from '../governance/keys.ts';
import type {
  BudgetLedger,
  Clock,
  KeyStore,
  Logger,
  UpstreamFetch,
  UsageSink,
  VirtualKey,
} from '../ports.ts';
import type { ModelCatalog, ResolvedModel } from '../pricing/catalog.ts';
import type { Protocol } from '../protocols/types.ts';
import { isRecord } from '../protocols/types.ts';
import { type CallState, createFinisher } from './finish.ts';
import { forward } from './forward.ts';
import { detectAgent, matchRoute } from './routes.ts';

export interface ProxyDeps {
  keys: KeyStore;
  ledger: BudgetLedger;
  usage: UsageSink;
  upstream: UpstreamFetch;
  clock: Clock;
  catalog: ModelCatalog;
  providers: Record<ProviderName, ProviderSettings>;
  log: Logger;
  newRequestId: () => string;
  upstreamTimeoutMs: number;
  maxBodyBytes: number;
}

export interface ProxyPipeline {
  /** `timeoutMs` bounds the upstream call below the configured limit (Lambda: the time left). */
  handle(request: Request, options?: { timeoutMs?: number }): Promise<Response>;
  /** Resolves when every started request has settled and written its record. */
  drain(): Promise<void>;
}

export function createProxy(deps: ProxyDeps): ProxyPipeline {
  const finisher = createFinisher(deps);

  async function handle(request: Request, options: { timeoutMs?: number } = {}): Promise<Response> {
    const url = new URL(request.url);
    const route = matchRoute(url.pathname);
    if (!route) {
      return errorResponse(
        undefined,
        new GatewayError('not_found', `No route for ${request.method} ${url.pathname}`),
      );
    }
    const call = startCall(route.path, route.protocol, request);
    try {
      if (request.method !== 'POST') throw new GatewayError('not_found', `${url.pathname} only accepts POST`);
      const key = await authenticate(request.headers);
      call.key = key;
      const { body, bytes } = await readJsonBody(request, deps.maxBodyBytes);
      const parsed = route.protocol.parseRequest(body);
      Object.assign(call, {
        stream: parsed.stream,
        model_requested: parsed.model,
        session_id: parsed.sessionId,
      });
      const model = resolveModel(key, parsed.model);
      call.model = model;
      const { reservation, outputCap } = await reserveBudget(
        deps.ledger,
        [keyCounter(key, deps.clock.now())],
        {
          promptTokens: estimatePromptTokensForReservation(bytes),
          outputTokens: Math.min(parsed.maxOutputTokens ?? model.max_output_tokens, model.max_output_tokens),
          price: model.price,
        },
      );
      call.reservation = reservation;
      call.prompt_bytes = bytes;
      const timeoutMs = Math.min(deps.upstreamTimeoutMs, options.timeoutMs ?? Number.POSITIVE_INFINITY);
      return await forward(deps, finisher, call, { request, url, body, parsed, outputCap, timeoutMs });
    } catch (err) {
      const error = asGatewayError(err, deps.log, call.request_id);
      finisher.finish(call, { status: error.status, outcome: outcomeOf(error), error_type: error.kind });
      return errorResponse(route.protocol, error, call.request_id);
    }
  }

  function startCall(route: string, protocol: Protocol, request: Request): CallState {
    const { agent, version } = detectAgent(request.headers.get('user-agent'));
    return {
      request_id: deps.newRequestId(),
      started: deps.clock.now(),
      route,
      protocol,
      agent,
      agent_version: version,
      stream: false,
      prompt_bytes: 0,
    };
  }

  async function authenticate(headers: Headers): Promise<VirtualKey> {
    const secret = presentedKey(headers);
    if (!secret) {
      throw new GatewayError(
        'authentication',
        'No API key: send your Tollgate key in x-api-key or Authorization: Bearer.',
      );
    }
    const key = await deps.keys.get(hashKey(secret));
    if (!key)
      throw new GatewayError('authentication', 'Invalid API key: this key is not known to the gateway.');
    assertKeyUsable(key, deps.clock.now());
    return key;
  }

  function resolveModel(key: VirtualKey, requested: string): ResolvedModel {
    const model = deps.catalog.resolve(requested);
    if (!model) {
      throw new GatewayError(
        'invalid_request',
        `Unknown model '${requested}': it is not in the gateway's catalog.`,
      );
    }
    assertModelAllowed(key, requested, model.model);
    return model;
  }

  return { handle, drain: () => finisher.drain() };
}

async function readJsonBody(
  request: Request,
  maxBytes: number,
): Promise<{ body: Record<string, unknown>; bytes: number }> {
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const raw = await request.arrayBuffer();
  if (raw.byteLength > maxBytes) throw tooLarge(maxBytes);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(raw));
  } catch (cause) {
    throw new GatewayError('invalid_request', 'The request body is not valid JSON.', { cause });
  }
  if (!isRecord(body)) throw new GatewayError('invalid_request', 'The request body must be a JSON object.');
  return { body, bytes: raw.byteLength };
}

function tooLarge(maxBytes: number): GatewayError {
  return new GatewayError('too_large', `The request body exceeds the gateway's limit of ${maxBytes} bytes.`);
}

function asGatewayError(err: unknown, log: Logger, requestId: string): GatewayError {
  if (err instanceof GatewayError) return err;
  log.error('proxy.internal_error', { request_id: requestId, error: String(err) });
  return new GatewayError('internal', 'The gateway failed to handle this request.', { cause: err });
}

function outcomeOf(error: GatewayError): 'invalid' | 'denied' | 'upstream_error' | 'error' {
  if (error.status === 400 || error.status === 404 || error.status === 413) return 'invalid';
  if (error.status < 500) return 'denied';
  return error.kind === 'internal' ? 'error' : 'upstream_error';
}

export function errorResponse(
  protocol: Protocol | undefined,
  error: GatewayError,
  requestId?: string,
): Response {
  const body = protocol
    ? protocol.errorBody(error.kind, error.message)
    : { error: { message: error.message, type: error.kind } };
  const headers = new Headers({ 'content-type': 'application/json', ...error.headers });
  if (requestId) headers.set('x-tollgate-request-id', requestId);
  return new Response(JSON.stringify(body), { status: error.status, headers });
}
