/**
 * Admission: who the request is (key, person, team), and what it may hold before the provider is
 * called — a place in every rate window, a parallel slot in every scope that limits them, and a
 * reservation on every budget. Each step runs only when the one before passed; whatever was taken is
 * recorded on the call, and the finisher gives it back however the request ends.
 */
import { GatewayError } from '../errors.ts';
import { promptTokensAtMost, reserveBudget } from '../governance/budgets.ts';
import { assertIssuedFromUsable } from '../governance/keys.ts';
import {
  budgetCounters,
  type GovernancePolicy,
  type Principal,
  parallelSlots,
  rateWindows,
} from '../governance/scopes.ts';
import { assertTeamUsable } from '../governance/teams.ts';
import { assertUserUsable } from '../governance/users.ts';
import type { BudgetCounter, BudgetLedger, Lease } from '../ports/budgets.ts';
import type { Clock } from '../ports/clock.ts';
import type { TeamStore, UserStore } from '../ports/documents.ts';
import type { KeyStore, VirtualKey } from '../ports/keys.ts';
import type { Logger } from '../ports/logging.ts';
import type { ParallelSlot, RateLimiter } from '../ports/rate-limits.ts';
import type { ResolvedModel } from '../pricing/catalog.ts';
import type { ParsedRequest } from '../protocols/types.ts';
import type { CallState } from './call.ts';

/** How long past its upstream deadline a reservation is kept before another request may reclaim it. */
const LEASE_GRACE_MS = 60_000;

export interface AdmissionDeps {
  /** Read for a self-issued key: the key it was issued from. */
  keys: Pick<KeyStore, 'getById'>;
  teams: TeamStore;
  users: UserStore;
  ledger: BudgetLedger;
  limiter: RateLimiter;
  clock: Clock;
  policy: GovernancePolicy;
}

/**
 * The key's team (which must exist and not be blocked), its person, where a user record exists, and for
 * a self-issued key the key it was issued from (which must still be usable).
 */
export async function principalOf(deps: AdmissionDeps, key: VirtualKey): Promise<Principal> {
  const [team, user, parent] = await Promise.all([
    key.team_id ? deps.teams.get(key.team_id) : undefined,
    key.user_id ? deps.users.get(key.user_id) : undefined,
    key.budget_parent ? deps.keys.getById(key.budget_parent) : undefined,
  ]);
  if (key.team_id && !team) {
    throw new GatewayError(
      'permission',
      `Key '${key.key_alias ?? key.key_id}' belongs to a team that no longer exists.`,
    );
  }
  if (team) assertTeamUsable(team);
  if (user) assertUserUsable(user);
  assertIssuedFromUsable(key, parent, user, deps.clock.now());
  return { key, team, user, ...(parent && { parent }) };
}

/**
 * Rate limits, then parallel slots: a request refused by a limit never holds a reservation. These
 * are the request's, whichever model serves it; its budget is reserved per attempt (`reserveFor`).
 */
export async function admit(
  deps: AdmissionDeps,
  call: CallState,
  who: Principal,
  timeoutMs: number,
): Promise<void> {
  const now = deps.clock.now();
  call.lease = { id: call.request_id, expires_at: new Date(now.getTime() + timeoutMs + LEASE_GRACE_MS) };
  call.rate_windows = rateWindows(who, now);
  await Promise.all(call.rate_windows.map((w) => deps.limiter.admit(w)));
  call.slots = await acquireAll(deps.limiter, parallelSlots(who), call.lease);
}

/**
 * Reserves the worst case of serving the request with `model` on every budget that applies to it
 * (its model's and provider's parts of the key included). Resolves to the output cap the budgets
 * leave, if they cap it.
 */
/** The budget counters serving the request with `model` draws on; none for a call that bills nothing. */
export function countersFor(
  deps: AdmissionDeps,
  call: CallState,
  who: Principal,
  model: ResolvedModel,
  parsed: ParsedRequest,
): BudgetCounter[] {
  if (!call.billable) return [];
  // Part budgets (`model_max_budget`) know the model by the client's name while it is the one served.
  const asAsked = call.asked?.model === model.model && call.asked.provider === model.provider;
  const requested = !call.rule || asAsked ? parsed.model : model.model;
  return budgetCounters(
    who,
    { requested, canonical: model.model, provider: model.provider },
    deps.policy,
    deps.clock.now(),
  );
}

/** Each attempt holds its reservation under a lease of its own (see reserveFor). */
export function attemptLeaseId(call: CallState, attempt: number): string {
  return attempt === 0 ? call.request_id : `${call.request_id}.${attempt}`;
}

export async function reserveFor(
  deps: AdmissionDeps,
  call: CallState,
  counters: BudgetCounter[],
  model: ResolvedModel,
  parsed: ParsedRequest,
  attempt: number,
): Promise<number | undefined> {
  if (!call.billable || !call.lease) return undefined;
  const field = parsed.promptNotCarried;
  if (field && counters.some((c) => c.limit_micros !== null)) {
    throw new GatewayError(
      'invalid_request',
      `'${field}' brings earlier turns into the prompt without sending them, so a budget cannot hold what this request costs. Send the whole input instead (as Codex does).`,
    );
  }
  const { reservation, outputCap } = await reserveBudget(
    deps.ledger,
    counters,
    {
      promptTokens: promptTokensAtMost(call.prompt_bytes, parsed.addedPromptTokens),
      outputTokens: Math.min(parsed.maxOutputTokens ?? model.max_output_tokens, model.max_output_tokens),
      multipliers: { choices: parsed.choices ?? 1, webSearches: parsed.webSearches ?? 0 },
      price: model.price,
      fairOutputTokens: deps.policy.fairOutputTokens,
      fairOvershootPct: deps.policy.fairOvershootPct,
    },
    // Each attempt holds its reservation under a lease of its own, so a release that failed can never
    // be mistaken by the ledger for the next attempt's reservation having landed already.
    { ...call.lease, id: attemptLeaseId(call, attempt) },
  );
  call.reservation = reservation;
  return outputCap;
}

/** Gives back a failed attempt's reservation before the next one reserves; its lease frees it otherwise. */
export async function releaseReservation(
  deps: AdmissionDeps & { log: Logger },
  call: CallState,
): Promise<void> {
  const reservation = call.reservation;
  if (!reservation) return;
  call.reservation = undefined;
  try {
    await deps.ledger.settle(reservation, 0);
  } catch (err) {
    deps.log.error('budget.release_failed', { request_id: call.request_id, error: String(err) });
  }
}

/**
 * The highest percent of its limit that any of the request's budgets has spent (settled spend; what
 * is in flight is not used yet), for routing rules that read `budget_used`. 0 when none has a limit.
 */
export async function budgetUsedPct(
  deps: AdmissionDeps,
  who: Principal,
  requested: string,
  model: ResolvedModel | undefined,
): Promise<number> {
  const counters = budgetCounters(
    who,
    { requested, canonical: model?.model ?? requested, provider: model?.provider ?? '' },
    deps.policy,
    deps.clock.now(),
  ).filter((c) => c.limit_micros !== null && c.limit_micros > 0);
  const states = await Promise.all(counters.map((c) => deps.ledger.read(c)));
  return Math.max(0, ...states.map((s, i) => (100 * s.spent_micros) / (counters[i]!.limit_micros as number)));
}

/** Takes every slot or none: on a refusal the slots already taken are given back. */
async function acquireAll(
  limiter: RateLimiter,
  slots: ParallelSlot[],
  lease: Lease,
): Promise<ParallelSlot[]> {
  const results = await Promise.allSettled(slots.map((s) => limiter.acquire(s, lease)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (!failed) return slots;
  const taken = slots.filter((_, i) => results[i]?.status === 'fulfilled');
  await Promise.all(taken.map((s) => limiter.release(s, lease.id)));
  throw failed.reason;
}
