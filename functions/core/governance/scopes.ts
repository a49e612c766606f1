/**
 * Which budgets and limits apply to a request. Every applicable budget is checked and a request passes
 * only if all pass: the key's own, its model's and provider's parts of the key, the person's, the
 * team's and the org's. No scope overrides another; the one with least left is the binding one.
 */

import { GatewayError } from '../errors.ts';
import type { BudgetCounter, BudgetSettings } from '../ports/budgets.ts';
import type { Team, User } from '../ports/documents.ts';
import type { VirtualKey } from '../ports/keys.ts';
import type { ParallelSlot, RateSettings, RateWindow } from '../ports/rate-limits.ts';
import { budgetCounter } from './budgets.ts';
import { isModelAllowed, keyCounter, keyPartCounters } from './keys.ts';
import { isModelAllowedForTeam, teamCounter } from './teams.ts';
import { isModelAllowedForUser, userCounter } from './users.ts';

/** The deployment-wide budget (config: TOLLGATE_ORG_*), shared by every key. */
export interface OrgBudget extends BudgetSettings {
  label: string;
  /** Where rolling windows (`30d`) start counting. */
  anchor: string;
}

export interface GovernancePolicy {
  /** IANA zone in which calendar budgets (daily, weekly, monthly) reset. */
  timeZone: string;
  /** The output a `fair` budget reserves for, whatever a request's `max_tokens`. */
  fairOutputTokens: number;
  /** How far above its limit a `fair` budget may ever spend, in percent of the limit. */
  fairOvershootPct: number;
  org: OrgBudget | null;
  /** Percent-of-limit levels whose crossing raises an alert event. */
  alertThresholdsPct: number[];
}

export const DEFAULT_POLICY: GovernancePolicy = {
  timeZone: 'UTC',
  fairOutputTokens: 4_096,
  fairOvershootPct: 10,
  org: null,
  alertThresholdsPct: [50, 80, 100],
};

/** Who a request is: the key, and the person and team it belongs to where those exist. */
export interface Principal {
  key: VirtualKey;
  team: Team | undefined;
  user: User | undefined;
  /** For a key the person issued themselves: the admin-issued key it was issued from (`budget_parent`). */
  parent?: VirtualKey;
}

/**
 * The key whose budget a self-issued key also spends from: the key it was issued from, when the person
 * has no user budget. Its counters are the ones that key's own requests draw on (same scope, id and
 * period), so however many keys a person issues, they share one pot an admin set.
 */
export function parentBudgetKey({ parent, user }: Principal): VirtualKey | undefined {
  return parent && (user?.max_budget_micros ?? null) === null ? parent : undefined;
}

export function orgCounter(org: OrgBudget, now: Date, timeZone: string): BudgetCounter {
  return budgetCounter(
    {
      scope: 'org',
      scope_id: 'org',
      label: org.label,
      limit_micros: org.max_budget_micros,
      soft_limit_micros: org.soft_budget_micros,
      mode: org.budget_mode,
      duration: org.budget_duration,
      anchor: org.anchor,
    },
    now,
    timeZone,
  );
}

/** Whether the key, its team and its person all allow the model (by either of its names). */
export function allowsModelFor(
  { key, team, user }: Principal,
  requested: string,
  canonical: string,
): boolean {
  return (
    isModelAllowed(key, requested, canonical) &&
    (!team || isModelAllowedForTeam(team, requested, canonical)) &&
    (!user || isModelAllowedForUser(user, requested, canonical))
  );
}

/**
 * Every budget counter the request draws on, for the period containing `now`. A stored budget whose
 * period cannot be computed (written before durations were bounded) refuses the request with a 403 an
 * admin can act on, rather than fail it as the gateway's own error.
 */
export function budgetCounters(
  who: Principal,
  model: { requested: string; canonical: string; provider: string },
  policy: GovernancePolicy,
  now: Date,
): BudgetCounter[] {
  try {
    return allCounters(who, model, policy, now);
  } catch (cause) {
    if (!(cause instanceof RangeError) && !/budget_duration/.test(String(cause))) throw cause;
    throw new GatewayError(
      'permission',
      `A budget on this key, its person or its team cannot be applied (${(cause as Error).message}); ask an admin to set a valid budget_duration.`,
      { cause },
    );
  }
}

function allCounters(
  who: Principal,
  model: { requested: string; canonical: string; provider: string },
  policy: GovernancePolicy,
  now: Date,
): BudgetCounter[] {
  const zone = policy.timeZone;
  const pot = parentBudgetKey(who);
  return [
    keyCounter(who.key, now, zone),
    ...keyPartCounters(who.key, model, now, zone),
    ...(pot ? [keyCounter(pot, now, zone), ...keyPartCounters(pot, model, now, zone)] : []),
    ...(who.user ? [userCounter(who.user, now, zone)] : []),
    ...(who.team ? [teamCounter(who.team, now, zone)] : []),
    ...(policy.org ? [orgCounter(policy.org, now, zone)] : []),
  ];
}

const MINUTE_MS = 60_000;

interface Limited {
  scope: string;
  limits: RateSettings;
}

function limitedScopes(who: Principal): Limited[] {
  return [
    { scope: `key:${who.key.key_id}`, limits: who.key },
    ...(who.user ? [{ scope: `user:${who.user.user_id}`, limits: who.user }] : []),
    ...(who.team ? [{ scope: `team:${who.team.team_id}`, limits: who.team }] : []),
  ];
}

/**
 * The rpm/tpm windows for `now`, one per scope that sets a limit: fixed calendar minutes (UTC). A new
 * minute is a new counter, so nothing resets them. A fixed window lets a burst straddling a minute
 * boundary reach twice the limit for a moment; that is the price of one conditional write per request.
 */
export function rateWindows(who: Principal, now: Date): RateWindow[] {
  const start = Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS;
  return limitedScopes(who)
    .filter(({ limits }) => limits.rpm_limit !== null || limits.tpm_limit !== null)
    .map(({ scope, limits }) => ({
      scope,
      window: new Date(start).toISOString().slice(0, 16),
      resets_at: new Date(start + MINUTE_MS).toISOString(),
      rpm: limits.rpm_limit,
      tpm: limits.tpm_limit,
    }));
}

/** The parallel-request limits that apply, one per scope that sets one. */
export function parallelSlots(who: Principal): ParallelSlot[] {
  return limitedScopes(who).flatMap(({ scope, limits }) =>
    limits.max_parallel_requests === null ? [] : [{ scope, max: limits.max_parallel_requests }],
  );
}
