/**
 * The admin API: LiteLLM-compatible routes for keys and spend, and the reports the dashboard reads.
 * Like the proxy it is (Request) => Response; the Lambda handler and the local server are shells.
 */
import { timingSafeEqual } from 'node:crypto';
import { costByUser, recentUsage } from '../analytics/queries.ts';
import { GatewayError } from '../errors.ts';
import { hashKey, presentedKey } from '../governance/keys.ts';
import type { BudgetLedger, Clock, KeyStore, Logger, QueryEngine, TeamStore } from '../ports.ts';
import { openaiChat } from '../protocols/openai-chat.ts';
import { isRecord } from '../protocols/types.ts';
import { describeKey, GenerateKeySchema, generateKey, invalidBody, microsToUsd } from './keys.ts';
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
      throw new GatewayError('authentication', 'This route needs the master key in Authorization: Bearer.');
  };

  const routes: Record<string, Handler> = {
    ...teamRoutes(deps, { requireMaster, readJson }),
    'GET /health': async () => json({ status: 'ok' }),

    'POST /key/generate': async (request) => {
      requireMaster(request.headers);
      const parsed = GenerateKeySchema.safeParse(await readJson(request));
      if (!parsed.success) throw invalidBody(parsed.error);
      if (parsed.data.team_id && !(await deps.teams.get(parsed.data.team_id))) {
        throw new GatewayError(
          'invalid_request',
          `No team '${parsed.data.team_id}': create it with /team/new first.`,
        );
      }
      const { secret, key } = await generateKey(deps.keys, parsed.data, deps.clock.now());
      deps.log.info('admin.key_generated', { key_id: key.key_id, key_alias: key.key_alias, actor: 'master' });
      return json({ key: secret, ...(await describeKey(deps.ledger, key, deps.clock.now())) });
    },

    // LiteLLM lets a key read its own info; the master key reads any.
    'GET /key/info': async (request, url) => {
      const asked = url.searchParams.get('key') ?? presentedKey(request.headers);
      if (!asked) throw new GatewayError('invalid_request', 'Pass the key as ?key=...');
      if (!isMaster(request.headers) && presentedKey(request.headers) !== asked) {
        throw new GatewayError('authentication', 'Use the master key, or the key itself, to read a key.');
      }
      const key = await deps.keys.get(asked.startsWith('sk-') ? hashKey(asked) : asked);
      if (!key) throw new GatewayError('not_found', 'No such key.');
      return json({ key: asked, info: await describeKey(deps.ledger, key, deps.clock.now()) });
    },

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
    const route = routes[`${request.method} ${url.pathname.replace(/\/+$/, '')}`];
    try {
      if (!route) throw new GatewayError('not_found', `No admin route for ${request.method} ${url.pathname}`);
      return await route(request, url);
    } catch (err) {
      const error =
        err instanceof GatewayError
          ? err
          : new GatewayError('internal', 'The admin API failed.', { cause: err });
      if (error.kind === 'internal')
        deps.log.error('admin.internal_error', { path: url.pathname, error: String(err) });
      return json(openaiChat.errorBody(error.kind, error.message), error.status);
    }
  };
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
