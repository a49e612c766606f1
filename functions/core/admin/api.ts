/**
 * The admin API: LiteLLM-compatible routes for keys and spend, and the reports the dashboard reads.
 * Like the proxy it is (Request) => Response; the Lambda handler and the local server are shells.
 */
import { z } from 'zod';
import { costByUser, recentUsage } from '../analytics/queries.ts';
import { signInRoutes } from '../auth/routes.ts';
import { GatewayError } from '../errors.ts';
import { maskKey, presentedKey } from '../governance/keys.ts';
import { parseJsonObject, readBodyText } from '../json-body.ts';
import type { IdentityClaims } from '../ports/identity.ts';
import { openaiChat } from '../protocols/openai-chat.ts';
import { createScimApi, SCIM_PREFIX } from '../scim/api.ts';
import { deactivatedAtIdp } from '../scim/deprovision.ts';
import { actorOf, createAccess } from './access.ts';
import type { AdminContext, AdminDeps, ClientInfo, Route } from './context.ts';
import { dashboardRoutes } from './dashboard-routes.ts';
import { day, instant, microsToUsd, parseQuery, queryCount } from './fields.ts';
import { groupMappingRoutes } from './group-mapping-routes.ts';
import { keyRoutes } from './key-routes.ts';
import { outcomeRoutes } from './outcome-routes.ts';
import { routingRoutes } from './routing-routes.ts';
import { teamRoutes } from './team-routes.ts';
import { userRoutes } from './user-routes.ts';

export type { AdminDeps, ClientInfo } from './context.ts';

const AuditQuery = z.looseObject({ since: instant.optional(), limit: queryCount.default(100) });
/** LiteLLM's `start_date` (a day, or a date-time of which the day counts); its other parameters are ignored. */
const SpendLogsQuery = z.looseObject({ start_date: instant.optional(), limit: queryCount.default(100) });
const CostByUserQuery = z.looseObject({ date: day.optional() });

/** Admin bodies are small documents; anything larger is refused before it is parsed. */
export const ADMIN_MAX_BODY_BYTES = 256 * 1024;

export function createAdminApi(
  deps: AdminDeps,
): (request: Request, client?: ClientInfo) => Promise<Response> {
  const { signIn } = deps;
  const scim = deps.scim && scimApi(deps, deps.scim);
  const access = createAccess({ ...deps, sessions: signIn?.sessions });
  const requireMaster = (headers: Headers) => access.requireMaster(headers);
  const ctx: AdminContext = {
    deps,
    caller: (headers) => access.caller(headers),
    requireMaster,
    readJson,
    async audit(caller, action, target, details) {
      const entry = { ts: deps.clock.now().toISOString(), actor: actorOf(caller), action, target, details };
      deps.log.info('admin.audit', { ...entry });
      await deps.audit.append(entry);
    },
  };

  const sessionAudit = (user_id: string, action: string, details?: Record<string, unknown>) =>
    deps.audit.append({
      ts: deps.clock.now().toISOString(),
      actor: { type: 'user', user_id, via: 'session' },
      action,
      target: `user:${user_id}`,
      details,
    });

  /**
   * With sign-in on, the master key is break-glass: every use of it is audited. A change made with a
   * session cookie (and no key) needs the session's CSRF token.
   */
  const guard = async (request: Request, path: string) => {
    if (!signIn) return;
    if (access.presentsMaster(request.headers)) {
      await deps.audit.append({
        ts: deps.clock.now().toISOString(),
        actor: { type: 'master' },
        action: signIn.masterKeyOff ? 'master_key.refused' : 'master_key.use',
        target: `route:${request.method} ${withoutSecrets(path)}`,
      });
      if (signIn.masterKeyOff)
        throw new GatewayError(
          'permission',
          'The master key is turned off here: admins sign in (/auth/login).',
        );
      return;
    }
    const unsafe = !['GET', 'HEAD', 'OPTIONS'].includes(request.method);
    if (unsafe && !presentedKey(request.headers) && signIn.sessions.presented(request.headers))
      signIn.sessions.checkCsrf(request);
  };

  const routes: Record<string, Route> = {
    ...keyRoutes(ctx),
    ...teamRoutes(ctx),
    ...userRoutes(ctx),
    ...dashboardRoutes(ctx),
    ...outcomeRoutes(ctx),
    ...routingRoutes(ctx),
    ...(signIn && {
      ...signInRoutes(signIn, { ...deps, audit: sessionAudit, deactivatedAtIdp: scimRefusal(deps.scim) }),
      ...groupMappingRoutes(ctx, signIn),
    }),
    'GET /health': async () => json({ status: 'ok' }),

    'GET /audit/log': async (request, url) => {
      await requireMaster(request.headers);
      const query = parseQuery(AuditQuery, url);
      const since = query.since ?? defaultSince(deps.clock.now());
      const limit = clampLimit(query.limit);
      return json({ entries: await deps.audit.list({ since: new Date(since).toISOString(), limit }) });
    },

    'GET /spend/logs': async (request, url) => {
      await requireMaster(request.headers);
      const query = parseQuery(SpendLogsQuery, url);
      const records = await recentUsage(deps.query, {
        limit: clampLimit(query.limit),
        sinceDay: (query.start_date ?? defaultSince(deps.clock.now())).slice(0, 10),
      });
      // LiteLLM's field names beside Tollgate's own, so existing spend scripts keep working.
      return json(
        records.map((r) => ({
          ...r,
          api_key: r.key_id,
          model: r.model_used ?? r.model_requested,
          user: r.user_id,
          spend: microsToUsd(r.cost_micros),
          startTime: r.ts,
          prompt_tokens:
            r.input_tokens + r.cache_read_tokens + r.cache_write_5m_tokens + r.cache_write_1h_tokens,
          completion_tokens: r.output_tokens,
          total_tokens:
            r.input_tokens +
            r.cache_read_tokens +
            r.cache_write_5m_tokens +
            r.cache_write_1h_tokens +
            r.output_tokens,
        })),
      );
    },

    'GET /api/reports/cost-by-user': async (request, url) => {
      await requireMaster(request.headers);
      const date = parseQuery(CostByUserQuery, url).date ?? deps.clock.now().toISOString().slice(0, 10);
      return json({ date, rows: await costByUser(deps.query, date) });
    },
  };

  return async (request, client = { address: undefined }) => {
    const url = new URL(request.url);
    // The IdP's own endpoint: its own token, its own error shape, no master key (core/scim/api.ts).
    if (scim && (url.pathname === SCIM_PREFIX || url.pathname.startsWith(`${SCIM_PREFIX}/`)))
      return scim(request);
    const route = findRoute(routes, request.method, url.pathname.replace(/\/+$/, ''));
    try {
      if (!route) throw new GatewayError('not_found', `No admin route for ${request.method} ${url.pathname}`);
      await guard(request, url.pathname);
      return await route(request, url, client);
    } catch (err) {
      const error =
        err instanceof GatewayError
          ? err
          : new GatewayError('internal', 'The admin API failed.', { cause: err });
      if (error.kind === 'internal')
        deps.log.error('admin.internal_error', { path: withoutSecrets(url.pathname), error: String(err) });
      return json(openaiChat.errorBody(error.kind, error.message), error.status);
    }
  };
}

function scimApi(deps: AdminDeps, scim: NonNullable<AdminDeps['scim']>) {
  return createScimApi({
    token: scim.token,
    scimUsers: scim.users,
    keys: deps.keys,
    users: deps.users,
    sessions: deps.signIn?.sessionStore,
    audit: deps.audit,
    clock: deps.clock,
    log: deps.log,
    originOf: deps.signIn?.originOf,
  });
}

/** With SCIM on, a person the IdP deactivated or deleted is refused at sign-in. */
function scimRefusal(scim: AdminDeps['scim']) {
  return scim ? (claims: IdentityClaims) => deactivatedAtIdp(scim.users, claims) : undefined;
}

/**
 * The route for a method and path: an exact match, else a template whose `{name}` segments match any
 * one segment (`POST /key/{key}/regenerate`); the route reads its parameters from the URL.
 */
export function findRoute<T>(routes: Record<string, T>, method: string, path: string): T | undefined {
  const exact = routes[`${method} ${path}`];
  if (exact) return exact;
  const segments = path.split('/');
  for (const [name, route] of Object.entries(routes)) {
    const [routeMethod, template = ''] = name.split(' ');
    const parts = template.split('/');
    if (routeMethod !== method || !template.includes('{') || parts.length !== segments.length) continue;
    if (parts.every((part, i) => /^\{\w+\}$/.test(part) || part === segments[i])) return route;
  }
  return undefined;
}

/** A path may carry a key (`/key/sk-.../regenerate`): logs get its masked form. */
function withoutSecrets(path: string): string {
  return path.replace(/sk-[^/]+/g, (secret) => maskKey(secret));
}

/** Admin bodies are JSON whatever the content-type says: `curl -d` sends form-encoded by default. */
async function readJson(request: Request): Promise<Record<string, unknown>> {
  const text = await readBodyText(request, ADMIN_MAX_BODY_BYTES, 'An admin request body');
  // Admin documents are shallow; metadata a few levels deep is plenty.
  return text.trim() === '' ? {} : parseJsonObject(text, 32);
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

function clampLimit(limit: number): number {
  return Math.min(limit, 1000);
}

/** Without a start date, the last 7 days: bounds what Athena scans. */
function defaultSince(now: Date): string {
  return new Date(now.getTime() - 7 * 86_400_000).toISOString().slice(0, 10);
}
