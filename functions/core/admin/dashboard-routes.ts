/**
 * What the dashboard reads. The org view (`GET /api/rollup`) is for the master key and for people whose
 * role is `proxy_admin` or `proxy_admin_viewer`; viewers get it without the per-person and per-key spend
 * tables, which are for admins. A person's own page (`GET /api/me`) is for their own key and shows only
 * them: their budgets, their keys, their usage by agent and model.
 */

import { z } from 'zod';
import type { ReportRange } from '../analytics/aggregates.ts';
import { figuresOf, sessionOutcomes } from '../analytics/outcomes.ts';
import { lastDays, statusOfBudgets } from '../analytics/rollup.ts';
import type { Rollup } from '../analytics/rollup-document.ts';
import { personalSpend, spendBy } from '../analytics/spend.ts';
import type { DayRange } from '../analytics/sql.ts';
import { GatewayError } from '../errors.ts';
import { usableCounters } from '../governance/budgets.ts';
import { keyCounter } from '../governance/keys.ts';
import { teamCounter } from '../governance/teams.ts';
import { userCounter } from '../governance/users.ts';
import type { BudgetCounter } from '../ports/budgets.ts';
import type { Caller } from './access.ts';
import type { AdminContext, Route } from './context.ts';
import { day, id, parseQuery } from './fields.ts';
import { describeKey } from './keys.ts';
import { rangeOf, reported } from './outcome-routes.ts';
import { describeUser } from './users.ts';

const SpendQuery = z.strictObject({
  dimension: z.enum(['team', 'model', 'provider', 'agent', 'tag']),
  team: id,
  from: day,
  to: day,
});

/** How far back a person's own page looks. */
const PERSONAL_DAYS = 60;

type OrgView = 'admin' | 'viewer';

function orgViewOf(caller: Caller): OrgView | undefined {
  if (caller.type === 'master') return 'admin';
  if (caller.user.user_role === 'proxy_admin') return 'admin';
  if (caller.user.user_role === 'proxy_admin_viewer') return 'viewer';
  return undefined;
}

/** The rollup as a viewer may see it: spend by team, model, agent... but not per person or per key. */
export function forViewer(
  rollup: Rollup,
): Omit<Rollup, 'spend' | 'top_spenders'> & { spend: Omit<Rollup['spend'], 'user' | 'key'> } {
  const { user: _user, key: _key, ...spend } = rollup.spend;
  const { top_spenders: _top, ...rest } = rollup;
  return { ...rest, spend, budgets: rollup.budgets.filter((b) => b.scope === 'team' || b.scope === 'org') };
}

export function dashboardRoutes(ctx: AdminContext): Record<string, Route> {
  const { rollups, keys, teams, ledger, query, clock, policy, log, catalog } = ctx.deps;
  // Settled days from the daily aggregates where they are known to be current; raw records otherwise.
  const reading = async (range: DayRange): Promise<ReportRange> => ({
    ...range,
    aggregatedThrough: await (ctx.deps.aggregatedThrough?.(range) ?? null),
  });

  return {
    'GET /api/rollup': async (request) => {
      const view = orgViewOf(await ctx.caller(request.headers));
      if (!view)
        throw new GatewayError(
          'permission',
          'The org view needs an admin or viewer role; your own page is /api/me.',
        );
      const rollup = await rollups.latest();
      if (!rollup)
        throw new GatewayError('not_found', 'No rollup yet: the rollup function builds one every hour.');
      return Response.json(view === 'admin' ? rollup : forViewer(rollup));
    },

    // One team's spend by model, agent or tag: what the rollup does not break down, asked when the
    // dashboard filters by team. Same roles as the org view.
    'GET /api/spend': async (request, url) => {
      if (!orgViewOf(await ctx.caller(request.headers)))
        throw new GatewayError('permission', 'The org view needs an admin or viewer role.');
      const { dimension, team, from, to } = parseQuery(SpendQuery, url);
      try {
        return Response.json({ rows: await spendBy(query, dimension, await reading({ from, to }), team) });
      } catch (err) {
        if (err instanceof RangeError) throw new GatewayError('invalid_request', err.message);
        throw err;
      }
    },

    'GET /api/me': async (request, url) => {
      const caller = await ctx.caller(request.headers);
      if (caller.type !== 'person')
        throw new GatewayError('invalid_request', 'Your own page needs your own key, not the master key.');
      const { user, team_id } = caller;
      const now = clock.now();
      const zone = policy.timeZone;
      const mine = (await keys.list()).filter((k) => k.user_id === user.user_id);
      const team = team_id ? await teams.get(team_id) : undefined;
      const counters: BudgetCounter[] = [
        ...usableCounters([user], (u) => userCounter(u, now, zone), {
          kind: 'user',
          idOf: (u) => u.user_id,
          log,
        }),
        ...usableCounters(team ? [team] : [], (t) => teamCounter(t, now, zone), {
          kind: 'team',
          idOf: (t) => t.team_id,
          log,
        }),
        ...usableCounters(
          mine.filter((k) => !k.blocked),
          (k) => keyCounter(k, now, zone),
          { kind: 'key', idOf: (k) => k.key_id, log },
        ),
      ];
      // The agents' outcomes over `from`/`to` when given, else the page's usual window: the caller's alone.
      const range = rangeOf(url, now, PERSONAL_DAYS);
      const [info, described, budgets, usage, sessions] = await Promise.all([
        describeUser(ledger, user, now, zone, log),
        Promise.all(mine.map((k) => describeKey(ledger, k, now, zone, log))),
        statusOfBudgets(ledger, counters, now),
        personalSpend(query, user.user_id, await reading(lastDays(now, PERSONAL_DAYS))),
        reported(() => sessionOutcomes(query, catalog, range)),
      ]);
      const outcomes = { ...range, ...figuresOf(sessions.filter((s) => s.user_id === user.user_id)) };
      return Response.json({ user: info, team_id, budgets, keys: described, usage, outcomes });
    },
  };
}
