/**
 * Admission: who the request is (key, person, team), and what it may hold before the provider is
 * called — a place in every rate window, a parallel slot in every scope that limits them, and a
 * reservation on every budget. Each step runs only when the one before passed; whatever was taken is
 * recorded on the call, and the finisher gives it back however the request ends.
 */
import { GatewayError } from '../errors.ts';
import { estimatePromptTokensForReservation, reserveBudget } from '../governance/budgets.ts';
import {
  budgetCounters,
  type GovernancePolicy,
  type Principal,
  parallelSlots,
  rateWindows,
} from '../governance/scopes.ts';
import { assertTeamUsable } from '../governance/teams.ts';
import { assertUserUsable } from '../governance/users.ts';
import type {
  BudgetLedger,
  Clock,
  Lease,
  ParallelSlot,
  RateLimiter,
  TeamStore,
  UserStore,
  VirtualKey,
} from '../ports.ts';
import type { ParsedRequest } from '../protocols/types.ts';
import type { CallState } from './finish.ts';

/** How long past its upstream deadline a reservation is kept before another request may reclaim it. */
const LEASE_GRACE_MS = 60_000;

export interface AdmissionDeps {
  teams: TeamStore;
  users: UserStore;
  ledger: BudgetLedger;
  limiter: RateLimiter;
  clock: Clock;
  policy: GovernancePolicy;
}

/** The key's team (which must exist and not be blocked) and its person, where a user record exists. */
export async function principalOf(deps: AdmissionDeps, key: VirtualKey): Promise<Principal> {
  const [team, user] = await Promise.all([
    key.team_id ? deps.teams.get(key.team_id) : undefined,
    key.user_id ? deps.users.get(key.user_id) : undefined,
  ]);
  if (key.team_id && !team) {
    throw new GatewayError(
      'permission',
      `Key '${key.key_alias ?? key.key_id}' belongs to a team that no longer exists.`,
    );
  }
  if (team) assertTeamUsable(team);
  if (user) assertUserUsable(user);
  return { key, team, user };
}

/**
 * Rate limits, then parallel slots, then budgets: a request refused by a limit never holds a
 * reservation. Resolves to the output cap the budgets leave, if they cap it.
 */
export async function admit(
  deps: AdmissionDeps,
  call: CallState,
  who: Principal,
  parsed: ParsedRequest,
  request: { bytes: number; timeoutMs: number },
): Promise<number | undefined> {
  const now = deps.clock.now();
  const lease: Lease = {
    id: call.request_id,
    expires_at: new Date(now.getTime() + request.timeoutMs + LEASE_GRACE_MS),
  };
  call.rate_windows = rateWindows(who, now);
  await Promise.all(call.rate_windows.map((w) => deps.limiter.admit(w)));
  call.slots = await acquireAll(deps.limiter, parallelSlots(who), lease);
  if (!call.billable || !call.model) return undefined;
  const model = call.model;
  const counters = budgetCounters(
    who,
    { requested: parsed.model, canonical: model.model, provider: model.provider },
    deps.policy,
    now,
  );
  const { reservation, outputCap } = await reserveBudget(
    deps.ledger,
    counters,
    {
      promptTokens: estimatePromptTokensForReservation(request.bytes),
      outputTokens: Math.min(parsed.maxOutputTokens ?? model.max_output_tokens, model.max_output_tokens),
      price: model.price,
      fairOutputTokens: deps.policy.fairOutputTokens,
      fairOvershootPct: deps.policy.fairOvershootPct,
    },
    lease,
  );
  call.reservation = reservation;
  return outputCap;
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
