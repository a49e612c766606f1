/**
 * What the money bought, for scripts and the dashboard: the agents' own telemetry joined to billed
 * spend (core/analytics/outcomes.ts). The org rows are by team, agent and ISO week, never by person,
 * and a team's figures are hidden below `min_people` contributors; a person sees their own on /api/me.
 */
import { z } from 'zod';
import { type DayRange, reconciliation, sessionOutcomes, teamOutcomes } from '../analytics/outcomes.ts';
import { lastDays } from '../analytics/rollup.ts';
import { GatewayError } from '../errors.ts';
import type { Caller } from './access.ts';
import type { AdminContext, Route } from './context.ts';
import { day, parseQuery } from './fields.ts';

export const RangeQuery = z.strictObject({ from: day.optional(), to: day.optional() });

/** Without a range, the last four ISO weeks or so. */
const DEFAULT_DAYS = 28;

/** Fewer contributors than this and a team's outcome figures are not shown. */
export const DEFAULT_MIN_PEOPLE = 3;

export function outcomeRoutes(ctx: AdminContext): Record<string, Route> {
  const { query, catalog, clock } = ctx.deps;
  const minPeople = ctx.deps.outcomesMinPeople ?? DEFAULT_MIN_PEOPLE;

  return {
    'GET /api/reports/agent-outcomes': async (request, url) => {
      if (!mayReadOrg(await ctx.caller(request.headers)))
        throw new GatewayError(
          'permission',
          'Outcome reports need an admin or viewer role; yours are on /api/me.',
        );
      const range = rangeOf(url, clock.now(), DEFAULT_DAYS);
      const [sessions, reconciled] = await reported(() =>
        Promise.all([sessionOutcomes(query, catalog, range), reconciliation(query, range)]),
      );
      return Response.json({
        ...range,
        min_people: minPeople,
        rows: teamOutcomes(sessions, minPeople),
        reconciliation: reconciled.filter((r) => r.finding),
      });
    },
  };
}

function mayReadOrg(caller: Caller): boolean {
  return (
    caller.type === 'master' ||
    caller.user.user_role === 'proxy_admin' ||
    caller.user.user_role === 'proxy_admin_viewer'
  );
}

/** `from`/`to` from the query string, else the last `days` days; a bad range is the caller's 400. */
export function rangeOf(url: URL, now: Date, days: number): DayRange {
  const { from, to } = parseQuery(RangeQuery, url);
  const fallback = lastDays(now, days);
  return { from: from ?? fallback.from, to: to ?? fallback.to };
}

export async function reported<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof RangeError) throw new GatewayError('invalid_request', err.message);
    throw err;
  }
}
