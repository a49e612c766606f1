/**
 * The proxy pipeline: (Request) => Response, whatever runtime hosts it. Route, authenticate, resolve
 * the model, reserve budget, forward with streaming, and — however the request ends — settle the
 * reservation to the real cost and write exactly one usage record.
 */
import { BudgetExceededError, GatewayError } from '../errors.ts';
import { assertKeyUsable, assertModelAllowed, hashKey, presentedKey } from '../governance/keys.ts';
import { allowsModelFor, type Principal } from '../governance/scopes.ts';
import { assertTeamModelAllowed } from '../governance/teams.ts';
import { assertUserModelAllowed } from '../governance/users.ts';
import { parseJsonObject, readBodyText } from '../json-body.ts';
import { refusalScope } from '../metrics.ts';
import type { VirtualKey } from '../ports/keys.ts';
import type { Logger } from '../ports/logging.ts';
import type { ResolvedModel } from '../pricing/catalog.ts';
import { anthropicMessages } from '../protocols/anthropic-messages.ts';
import { openaiChat } from '../protocols/openai-chat.ts';
import type { Protocol } from '../protocols/types.ts';
import { usesApiKey } from '../providers/list.ts';
import { upstreamPath } from '../providers/providers.ts';
import { createRouter } from '../routing/router.ts';
import { admit, budgetUsedPct, principalOf } from './admit.ts';
import { headerTags, mergeTags } from './attribution.ts';
import { type CallState, releaseOnFinish } from './call.ts';
import { codexBudgetRefusal } from './codex-refusal.ts';
import type { ProxyDeps } from './deps.ts';
import { errorResponse } from './error-response.ts';
import { createFinisher } from './finish.ts';
import { forward } from './forward.ts';
import { anthropicModelList, isModelsPath, openaiModelList } from './models.ts';
import { detectAgent, matchRoute } from './routes.ts';
import { lazyTelemetryReceiver, telemetrySignal } from './telemetry-route.ts';

export interface ProxyPipeline {
  /** `timeoutMs` bounds the upstream call below the configured limit (Lambda: the time left). */
  handle(request: Request, options?: { timeoutMs?: number }): Promise<Response>;
  /** Resolves when every started request has settled and written its record. */
  drain(): Promise<void>;
}

export function createProxy(deps: ProxyDeps): ProxyPipeline {
  const finisher = createFinisher(deps);
  const router = createRouter({
    rules: deps.routing.rules,
    catalog: deps.catalog,
    log: deps.log,
    maxAttempts: deps.routing.maxAttempts,
  });
  const telemetry = lazyTelemetryReceiver(deps, authenticate);

  async function handle(request: Request, options: { timeoutMs?: number } = {}): Promise<Response> {
    const url = new URL(request.url);
    if (isModelsPath(url.pathname) && request.method === 'GET') return models(request);
    if (request.headers.get('upgrade')?.toLowerCase() === 'websocket') return noWebSocket();
    const signal = telemetrySignal(url.pathname);
    if (signal)
      return telemetry(request, signal).catch((err) =>
        errorResponse(undefined, asGatewayError(err, deps.log, 'telemetry')),
      );
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
      assertHeadersFit(request.headers);
      const key = await authenticate(request.headers);
      call.key = key;
      call.tags = mergeTags(key.tags, headerTags(request.headers));
      const who = await principalOf(deps, key);
      const { body, raw, bytes } = await readJsonBody(request, deps.maxBodyBytes, holdBody(call));
      const parsed = route.protocol.parseRequest(body);
      Object.assign(call, {
        stream: parsed.stream,
        model_requested: parsed.model,
        session_id: call.session_id ?? parsed.sessionId,
        tags: mergeTags(call.tags, parsed.tags),
        billable: route.protocol.billable && parsed.generates,
        prompt_bytes: bytes,
        body,
      });
      const models = await modelsFor(call, who, request.headers);
      call.model = models[0];
      const timeoutMs = Math.min(deps.upstreamTimeoutMs, options.timeoutMs ?? Number.POSITIVE_INFINITY);
      await admit(deps, call, who, timeoutMs);
      request.signal.throwIfAborted();
      return await forward(deps, finisher, call, who, models, { request, url, body, raw, parsed, timeoutMs });
    } catch (err) {
      if (request.signal.aborted) return clientClosed(call);
      const error = asGatewayError(err, deps.log, call.request_id);
      const outcome = outcomeOf(error);
      if (outcome === 'denied') deps.metrics?.add('refusals', 1, { scope: refusalScope(error) });
      if (error instanceof BudgetExceededError && call.agent === 'codex') {
        finisher.finish(call, { status: 429, outcome, error_type: error.kind });
        return codexBudgetRefusal(error, call.request_id);
      }
      finisher.finish(call, { status: error.status, outcome, error_type: error.kind });
      return errorResponse(route.protocol, error, call.request_id);
    }
  }

  let bodyBytesHeld = 0;
  /**
   * Counts the request's body, as its bytes arrive, against what this instance may hold, until the call
   * is finished: past it, a 503 the client retries, not a process out of memory (a hundred 6 MB bodies
   * at once would be a gigabyte). Bytes that have arrived, not bytes declared: a client that declares
   * 6 MiB and stalls after one byte holds one byte. One body alone is always let in.
   */
  function holdBody(call: CallState): ((bytes: number) => void) | undefined {
    const limit = deps.bodyBytesInFlight;
    if (limit === undefined) return undefined;
    let mine = 0;
    releaseOnFinish(call, () => {
      bodyBytesHeld -= mine;
      mine = 0;
    });
    return (bytes) => {
      const others = bodyBytesHeld - mine;
      if (others > 0 && bodyBytesHeld + bytes > limit) {
        throw new GatewayError(
          'overloaded',
          'The gateway is busy with other large requests; retry shortly.',
          {
            headers: { 'retry-after': '2' },
          },
        );
      }
      bodyBytesHeld += bytes;
      mine += bytes;
    };
  }

  /**
   * The client left before its answer began (Esc in Claude Code, a load test closing its connections):
   * the provider call, if one started, was cancelled with the request's signal. The provider bills the
   * prompt it received, so the record estimates it; nobody reads the response.
   */
  function clientClosed(call: CallState): Response {
    const reading = call.upstream_started
      ? { usage: undefined, error: undefined, generatedText: '' }
      : undefined;
    finisher.finish(call, { status: 499, outcome: 'client_closed', error_type: 'before_response', reading });
    return new Response(null, { status: 499 });
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
      // Claude Code sends its session in a header; Codex CLI in `session-id`.
      session_id:
        request.headers.get('x-claude-code-session-id') ?? request.headers.get('session-id') ?? undefined,
      stream: false,
      prompt_bytes: 0,
      tags: [],
      billable: protocol.billable,
      attempts: [],
      holds: [],
    };
  }

  /** `GET /v1/models`: the models this key may use, in the list shape of the client's protocol. */
  async function models(request: Request): Promise<Response> {
    const anthropic = request.headers.has('anthropic-version');
    try {
      const who = await principalOf(deps, await authenticate(request.headers));
      const names = deps.catalog.models().filter((m) => allowsModelFor(who, m, m));
      return Response.json(anthropic ? anthropicModelList(names) : openaiModelList(names));
    } catch (err) {
      return errorResponse(
        anthropic ? anthropicMessages : openaiChat,
        asGatewayError(err, deps.log, 'models'),
      );
    }
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

  /**
   * The models to try, in order: those of the first routing rule that fires, else the model asked for.
   * Either way each may be used by the key, its team and its person, over the client's protocol.
   */
  async function modelsFor(call: CallState, who: Principal, headers: Headers): Promise<ResolvedModel[]> {
    const requested = call.model_requested ?? '';
    const asked = deps.catalog.resolve(requested);
    const plan = await router.plan(
      { who, requested, asked, agent: call.agent, tags: call.tags, headers, seed: call.request_id },
      {
        usable: (model) => isUsable(who, model, call.protocol),
        budgetUsed: () => budgetUsedPct(deps, who, requested, asked),
      },
    );
    if (!plan) return [resolveModel(who, requested, asked, call.protocol)];
    call.rule = plan.rule;
    call.asked = asked;
    return plan.models;
  }

  /** A routed model must be allowed, speak the client's protocol, and be on a provider with a key here. */
  function isUsable(who: Principal, model: ResolvedModel, protocol: Protocol): boolean {
    return (
      (!usesApiKey(model.provider) || deps.providers[model.provider].apiKey !== undefined) &&
      allowsModelFor(who, model.model, model.model) &&
      upstreamPath(model.provider, protocol.name) !== undefined
    );
  }

  /** The catalog model, if the key, its team and its person may all use it (403 before any upstream call). */
  function resolveModel(
    { key, team, user }: Principal,
    requested: string,
    model: ResolvedModel | undefined,
    protocol: Protocol,
  ): ResolvedModel {
    if (!model) {
      throw new GatewayError(
        'invalid_request',
        `Unknown model '${requested}': it is not in the gateway's catalog.`,
      );
    }
    assertModelAllowed(key, requested, model.model);
    if (team) assertTeamModelAllowed(team, requested, model.model);
    if (user) assertUserModelAllowed(user, requested, model.model);
    if (!upstreamPath(model.provider, protocol.name)) {
      throw new GatewayError(
        'invalid_request',
        `Model '${requested}' is served by ${model.provider}, which does not offer the ${protocol.name} API.`,
      );
    }
    return model;
  }

  return { handle, drain: () => finisher.drain() };
}

/**
 * Codex CLI may first try its WebSocket transport (`GET /v1/responses` with `Upgrade: websocket`).
 * 426 makes it fall back to HTTPS at once; a 404 or 405 costs six retries with backoff.
 */
function noWebSocket(): Response {
  const message = 'This gateway speaks HTTPS with server-sent events, not WebSockets.';
  return Response.json(openaiChat.errorBody('invalid_request', message), {
    status: 426,
    headers: { upgrade: 'HTTP/1.1' },
  });
}

async function readJsonBody(
  request: Request,
  maxBytes: number,
  onChunk?: (bytes: number) => void,
): Promise<{ body: Record<string, unknown>; raw: string; bytes: number }> {
  const raw = await readBodyText(request, maxBytes, 'The request body', onChunk);
  return { body: parseJsonObject(raw), raw, bytes: Buffer.byteLength(raw) };
}

/** Real clients send a few KB of headers (Claude Code's beta list included); far more is a mistake or an attack. */
export const MAX_HEADER_BYTES = 32 * 1024;

function assertHeadersFit(headers: Headers): void {
  let bytes = 0;
  for (const [name, value] of headers) bytes += name.length + value.length + 4;
  if (bytes > MAX_HEADER_BYTES) {
    throw new GatewayError(
      'headers_too_large',
      `The request's headers take ${bytes} bytes; the gateway accepts at most ${MAX_HEADER_BYTES}.`,
    );
  }
}

function asGatewayError(err: unknown, log: Logger, requestId: string): GatewayError {
  if (err instanceof GatewayError) return err;
  log.error('proxy.internal_error', { request_id: requestId, error: String(err) });
  return new GatewayError('internal', 'The gateway failed to handle this request.', { cause: err });
}

function outcomeOf(error: GatewayError): 'invalid' | 'denied' | 'upstream_error' | 'error' {
  if ([400, 404, 413, 431].includes(error.status)) return 'invalid';
  if (error.kind === 'overloaded') return 'denied';
  if (error.status < 500) return 'denied';
  return error.kind === 'internal' ? 'error' : 'upstream_error';
}
