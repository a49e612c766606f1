/**
 * The rollup: every report over the last `days` days in one JSON document, plus the status of every
 * budget, for the dashboard. On AWS a scheduled function builds it hourly on Athena and stores it;
 * locally the admin API builds it on DuckDB on demand and keeps it for a minute. Same code, same SQL.
 */

import { usableCounters } from '../governance/budgets.ts';
import { forecastBudget } from '../governance/forecast.ts';
import { keyCounter } from '../governance/keys.ts';
import { type GovernancePolicy, orgCounter } from '../governance/scopes.ts';
import { teamCounter } from '../governance/teams.ts';
import { userCounter } from '../governance/users.ts';
import { formatUsd } from '../money.ts';
import type { Alert } from '../ports/alerts.ts';
import type { BudgetCounter, BudgetLedger } from '../ports/budgets.ts';
import type { Clock } from '../ports/clock.ts';
import type { TeamStore, UserStore } from '../ports/documents.ts';
import type { KeyStore } from '../ports/keys.ts';
import type { LakeAggregates, QueryEngine } from '../ports/lake.ts';
import type { Logger } from '../ports/logging.ts';
import type { RollupStore } from '../ports/rollups.ts';
import type { ModelCatalog } from '../pricing/catalog.ts';
import { cacheSavingsMicros } from '../pricing/cost.ts';
import { newAndLapsed, repeatUsage, toolsPerPerson, weeklyActive } from './adoption.ts';
import { withAggregates } from './refresh.ts';
import {
  type BudgetStatusRow,
  type BudgetTopSpenders,
  ROLLUP_VERSION,
  type Rollup,
} from './rollup-document.ts';
import { routingEffects } from './routing.ts';
import {
  denialsAndErrors,
  latencyByModel,
  SPEND_DIMENSIONS,
  type SpendDimension,
  type SpendRow,
  spendBy,
  type TopSpenders,
  topSpenders,
  totalsByValue,
} from './spend.ts';
import { type DayRange, NONE } from './sql.ts';

/**
 * The top spenders of the budgets most at risk (the rollup's budgets come by risk): those on pace to
 * run out, or past half the lowest alert threshold, `limit` of them at most, one budget at a time so
 * Athena's concurrent query quota is not spent on this. A budget whose lookup fails is left out.
 */
export async function topSpendersOfBudgets(
  query: QueryEngine,
  budgets: BudgetStatusRow[],
  options: {
    now: Date;
    thresholdsPct: number[];
    limit?: number;
    log?: Logger;
    /** The days the aggregates cover (the rollup's range from, and its `aggregated_through`). */
    aggregated?: { from: string; through: string | null | undefined };
  },
): Promise<BudgetTopSpenders[]> {
  const floor = Math.min(...options.thresholdsPct) / 2;
  const atRisk = budgets
    .filter((b) => b.runs_out_at !== null || b.used_pct >= floor)
    .slice(0, options.limit ?? 10);
  const to = options.now.toISOString().slice(0, 10);
  const out: BudgetTopSpenders[] = [];
  for (const b of atRisk) {
    const from = b.starts_at?.slice(0, 10) ?? '2000-01-01';
    try {
      // Aggregates are kept for the rollup's days: a budget whose period began earlier reads raw records.
      const aggregatedThrough =
        options.aggregated && from >= options.aggregated.from ? options.aggregated.through : null;
      const top = await topSpenders(query, b, { from, to, aggregatedThrough });
      out.push({ scope: b.scope, scope_id: b.scope_id, starts_at: b.starts_at, ...top });
    } catch (err) {
      options.log?.warn('rollup.top_spenders_failed', { scope: b.scope, error: String(err) });
    }
  }
  return out;
}

/**
 * Top spenders for an alert from the stored rollup: the entry of the alert's budget in the same period
 * (`range.from` is the alert's period start), or none.
 */
export function rollupTopSpenders(store: RollupStore) {
  return async (
    budget: { scope: string; scope_id: string },
    range: { from: string },
  ): Promise<Record<string, TopSpenders['users']>> => {
    const entry = (await store.latest())?.top_spenders?.find(
      (e) =>
        e.scope === budget.scope &&
        e.scope_id === budget.scope_id &&
        (e.starts_at?.slice(0, 10) ?? '2000-01-01') === range.from,
    );
    return entry ? { users: entry.users, models: entry.models, agents: entry.agents } : {};
  };
}

export interface RollupDeps {
  query: QueryEngine;
  keys: KeyStore;
  teams: TeamStore;
  users: UserStore;
  ledger: BudgetLedger;
  clock: Clock;
  policy: GovernancePolicy;
  /** Prices, for the cache savings. */
  catalog: ModelCatalog;
  /** Where a record left out of budget status is reported; nowhere by default. */
  log?: Logger;
  /**
   * The daily aggregates: settled days are read from them (built or rebuilt first where missing or
   * stale), today from raw records. Without them every report reads raw records.
   */
  aggregates?: LakeAggregates;
  /** How long building aggregates may go on in one run; unbounded by default. */
  aggregatesTimeLeft?: () => boolean;
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** The last `days` UTC days, today included. */
export function lastDays(now: Date, days: number): DayRange {
  const from = new Date(now.getTime() - (days - 1) * 86_400_000);
  return { from: from.toISOString().slice(0, 10), to: now.toISOString().slice(0, 10) };
}

export async function buildRollup(deps: RollupDeps, options: { days?: number } = {}): Promise<Rollup> {
  const now = deps.clock.now();
  const range = await withAggregates(deps, lastDays(now, options.days ?? 90));
  const q = deps.query;
  const dimensions = Object.keys(SPEND_DIMENSIONS) as SpendDimension[];
  // Athena runs queries side by side; the DuckDB engine queues them.
  const [spendRows, latency, outcomes, weekly, repeat, tools, newLapsed, holders, budgets, routing] =
    await Promise.all([
      Promise.all(dimensions.map((d) => spendBy(q, d, range))),
      latencyByModel(q, range),
      denialsAndErrors(q, range),
      weeklyActive(q, range),
      repeatUsage(q, range),
      toolsPerPerson(q, range),
      newAndLapsed(q, range),
      keyHoldersByTeam(deps.keys, now),
      budgetStatus(deps, now),
      routingEffects(q, range),
    ]);
  return {
    version: ROLLUP_VERSION,
    generated_at: now.toISOString(),
    range: { from: range.from, to: range.to },
    aggregated_through: range.aggregatedThrough ?? null,
    spend: Object.fromEntries(
      dimensions.map((d, i) => {
        const rows = spendRows[i] ?? [];
        return [d, d === 'user' || d === 'key' ? totalsByValue(rows) : rows];
      }),
    ) as Rollup['spend'],
    latency,
    outcomes,
    adoption: {
      weekly_active: weekly.map((row) => {
        const key_holders = holders.get(row.team_id) ?? 0;
        return {
          ...row,
          key_holders,
          weekly_active_rate: key_holders === 0 ? null : row.active_people / key_holders,
        };
      }),
      repeat_usage: repeat,
      tools_per_person: tools,
      new_and_lapsed: newLapsed,
    },
    budgets,
    cache_savings: cacheSavings(spendRows[dimensions.indexOf('model')] ?? [], deps.catalog),
    routing,
  };
}

function cacheSavings(byModel: SpendRow[], catalog: ModelCatalog): Rollup['cache_savings'] {
  const perDay = new Map<string, number>();
  for (const row of byModel) {
    const price = catalog.resolve(row.value)?.price;
    if (!price) continue;
    perDay.set(row.day, (perDay.get(row.day) ?? 0) + cacheSavingsMicros(row.cache_read_tokens, price));
  }
  return [...perDay]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([day, savings_micros]) => ({ day, savings_micros }));
}

/** Distinct people holding a usable key, per team of the key. */
async function keyHoldersByTeam(keys: KeyStore, now: Date): Promise<Map<string, number>> {
  const people = new Map<string, Set<string>>();
  for (const key of await keys.list()) {
    const expired = key.expires_at !== null && new Date(key.expires_at) <= now;
    if (key.blocked || expired || !key.user_id) continue;
    const team = key.team_id ?? NONE;
    people.set(team, (people.get(team) ?? new Set()).add(key.user_id));
  }
  return new Map([...people].map(([team, set]) => [team, set.size]));
}

/**
 * Every budget with a limit — keys, people, teams, the org — in its current period, by risk: those
 * on pace to run out first (soonest first), then the most used.
 */
async function budgetStatus(deps: RollupDeps, now: Date): Promise<BudgetStatusRow[]> {
  const zone = deps.policy.timeZone;
  const [keys, users, teams] = await Promise.all([deps.keys.list(), deps.users.list(), deps.teams.list()]);
  // A record whose period cannot be computed is left out and logged: it must not fail the whole rollup.
  const log = deps.log ?? silent;
  const counters = [
    ...usableCounters(
      keys.filter((k) => !k.blocked),
      (k) => keyCounter(k, now, zone),
      { kind: 'key', idOf: (k) => k.key_id, log },
    ),
    ...usableCounters(users, (u) => userCounter(u, now, zone), { kind: 'user', idOf: (u) => u.user_id, log }),
    ...usableCounters(teams, (t) => teamCounter(t, now, zone), { kind: 'team', idOf: (t) => t.team_id, log }),
    ...(deps.policy.org ? [orgCounter(deps.policy.org, now, zone)] : []),
  ];
  return statusOfBudgets(deps.ledger, counters, now);
}

/**
 * The status of the counters that have a limit, in their current period: spent, in flight, percent
 * and forecast, by risk (soonest to run out first, then the most used). The org view and a person's
 * own page both show budgets this way.
 */
export async function statusOfBudgets(
  ledger: BudgetLedger,
  counters: BudgetCounter[],
  now: Date,
): Promise<BudgetStatusRow[]> {
  const limited = counters.filter(
    (c): c is BudgetCounter & { limit_micros: number } => c.limit_micros !== null,
  );
  const rows = await Promise.all(
    limited.map(async (c): Promise<BudgetStatusRow> => {
      const state = await ledger.read(c);
      return {
        scope: c.scope,
        scope_id: c.scope_id,
        label: c.label,
        mode: c.mode,
        period: c.period,
        starts_at: c.starts_at,
        resets_at: c.resets_at,
        limit_micros: c.limit_micros,
        spent_micros: state.spent_micros,
        reserved_micros: state.committed_micros - state.spent_micros,
        used_pct: c.limit_micros === 0 ? 100 : Math.round((state.spent_micros / c.limit_micros) * 1000) / 10,
        ...(forecastBudget({ ...c, spent_micros: state.spent_micros }, now) ?? {
          forecast_micros: null,
          runs_out_at: null,
        }),
      };
    }),
  );
  const runsOut = (r: BudgetStatusRow) =>
    r.runs_out_at ? Date.parse(r.runs_out_at) : Number.POSITIVE_INFINITY;
  return rows.sort(
    (a, b) => runsOut(a) - runsOut(b) || b.used_pct - a.used_pct || a.label.localeCompare(b.label),
  );
}

/**
 * Builds the rollup when asked and keeps it for `ttlMs` (the local runtime: no scheduler, a small
 * lake). Concurrent askers share one build.
 */
export function onDemandRollups(build: () => Promise<Rollup>, ttlMs: number, clock: Clock): RollupStore {
  let kept: { rollup: Promise<Rollup>; until: number } | undefined;
  return {
    latest() {
      const now = clock.now().getTime();
      if (!kept || kept.until <= now) {
        const rollup = build();
        kept = { rollup, until: now + ttlMs };
        rollup.catch(() => {
          kept = undefined;
        });
      }
      return kept.rollup;
    },
  };
}

/**
 * The weekly digest (opt-in, `TOLLGATE_WEEKLY_DIGEST`): each team's spend over the last 7 days and
 * its weekly active rate, from the rollup. Sent once per ISO week.
 */
export function weeklyDigest(rollup: Rollup, now: Date): Alert | null {
  const weekAgo = new Date(now.getTime() - 7 * 86_400_000).toISOString().slice(0, 10);
  const spend = new Map<string, number>();
  for (const r of rollup.spend.team)
    if (r.day > weekAgo) spend.set(r.value, (spend.get(r.value) ?? 0) + r.cost_micros);
  if (spend.size === 0) return null;
  const lastWeek = rollup.adoption.weekly_active
    .map((r) => r.week)
    .sort()
    .at(-1);
  const rate = (team: string) =>
    rollup.adoption.weekly_active.find((r) => r.week === lastWeek && r.team_id === team)?.weekly_active_rate;
  const lines = [...spend]
    .sort(([, a], [, b]) => b - a)
    .map(([team, micros]) => {
      const r = rate(team);
      return `${team}: ${formatUsd(micros)}${r === undefined || r === null ? '' : `, ${Math.round(r * 100)}% of key holders active`}`;
    });
  const total = [...spend.values()].reduce((a, b) => a + b, 0);
  const monday = new Date(
    Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - ((now.getUTCDay() + 6) % 7)),
  );
  return {
    severity: 'info',
    subject: `Tollgate weekly digest: ${formatUsd(total)} in the last 7 days`,
    message: `Spend and adoption by team, the 7 days to ${rollup.range.to}:\n${lines.join('\n')}`,
    scope: 'org:digest',
    once_key: `digest|${monday.toISOString().slice(0, 10)}`,
    once_until: new Date(monday.getTime() + 7 * 86_400_000).toISOString(),
    details: { kind: 'weekly_digest', total_micros: total },
  };
}
