/**
 * The admin API: LiteLLM-compatible routes for keys and spend, and the reports the dashboard reads.
 * Like the proxy it is (Request) => Response; the Lambda handler and the local server are shells.
 */
import { timingSafeEqual } from 'node:crypto';
import { costByUser, recentUsage } from '../analytics/queries.ts';
import { GatewayError } from '../errors.ts';
import { hashKey, maskKey, presentedKey } from '../governance/keys.ts';
import type { BudgetLedger, Clock, KeyStore, Logger, QueryEngine, TeamStore } from '../ports.ts';
import { openaiChat } from '../protocols/openai-chat.ts';
import { isRecord } from '../protocols/types.ts';
import { keyRoutes } from './key-routes.ts';
import { microsToUsd } from './keys.ts';
import { teamRoutes } from './team-routes.ts';

export interface AdminDeps {
  keys: KeyStore;
  teams: TeamStore;
  ledger: BudgetLedger;
  query: QueryEngine;
  clock: Clock;
  log: Logger;
  masterKey: string;
}

type Handler = (request: Request, url: URL) => Promise<Response>;

export function createAdminApi(deps: AdminDeps): (request: Request) => Promise<Response> {
  const master = hashKey(deps.masterKey);
  const isMaster = (headers: Headers) => {
    const presented = presentedKey(headers);
    return (
      presented !== undefined &&
      timingSafeEqual(Buffer.from(hashKey(presented), 'hex'), Buffer.from(master, 'hex'))
    );
  };
  const requireMaster = (headers: Headers) => {
    if (!isMaster(headers))
      throw new GatewayError(
        'authentication',
        'This route needs the master key, in Authorization: Bearer or x-api-key.',
      );
  };

  const routes: Record<string, Handler> = {
    ...keyRoutes(deps, { isMaster, requireMaster, readJson }),
    ...teamRoutes(deps, { requireMaster, readJson }),
    'GET /health': async () => json({ status: 'ok' }),

    'GET /spend/logs': async (request, url) => {
      requireMaster(request.headers);
      const limit = Number(url.searchParams.get('limit') ?? 100);
      const sinceDay = url.searchParams.get('start_date') ?? defaultSince(deps.clock.now());
      const records = await recentUsage(deps.query, {
        limit: clampLimit(limit),
        sinceDay: sinceDay.slice(0, 10),
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
      requireMaster(request.headers);
      const date = url.searchParams.get('date') ?? deps.clock.now().toISOString().slice(0, 10);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(date))
        throw new GatewayError('invalid_request', 'date must be YYYY-MM-DD');
      return json({ date, rows: await costByUser(deps.query, date) });
    },
  };

  return async (request) => {
    const url = new URL(request.url);
    const route = findRoute(routes, request.method, url.pathname.replace(/\/+$/, ''));
    try {
      if (!route) throw new GatewayError('not_found', `No admin route for ${request.method} ${url.pathname}`);
      return await route(request, url);
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
  const text = await request.text();
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (cause) {
    throw new GatewayError('invalid_request', 'The request body is not valid JSON.', { cause });
  }
  if (!isRecord(body)) throw new GatewayError('invalid_request', 'The request body must be a JSON object.');
  return body;
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

function clampLimit(limit: number): number {
  return Number.isInteger(limit) ? Math.min(Math.max(limit, 1), 1000) : 100;
}

/** Without a start date, the last 7 days: bounds what Athena scans. */
function defaultSince(now: Date): string {
  return new Date(now.getTime() - 7 * 86_400_000).toISOString().slice(0, 10);
}
