import { GatewayError } from '../errors.ts';
import { allowsModel } from '../governance/allow-list.ts';
import type { ScopedBudget, User, VirtualKey } from '../ports.ts';
import { usdToMicros } from './fields.ts';
import type { NewKey } from './keys.ts';

/** How many keys a person may hold when they make their own: rate limits are per key. */
export const SELF_SERVICE_MAX_KEYS = 20;

export interface Person {
  key: VirtualKey;
  user: User;
}

const refuse = (why: string): never => {
  throw new GatewayError('permission', `A key you create for yourself ${why}.`);
};

/**
 * Refuses what a person may not ask for when making their own key: someone else's or another team's
 * key, a blocked one, another billing type, models their key lacks, a budget above their own or their
 * key's, a rate limit above their key's, or more than SELF_SERVICE_MAX_KEYS keys.
 */
export function checkSelfServiceRequest({ key, user }: Person, input: NewKey, keysHeld: number): void {
  if (keysHeld >= SELF_SERVICE_MAX_KEYS)
    refuse(`would be your key number ${keysHeld + 1}; the most is ${SELF_SERVICE_MAX_KEYS}`);
  if (input.user_id != null && input.user_id !== user.user_id)
    refuse(`must be yours (user_id '${user.user_id}')`);
  if (input.team_id != null && input.team_id !== key.team_id)
    refuse(`stays in your team ('${key.team_id ?? 'none'}')`);
  if (input.blocked) refuse('cannot be created blocked');
  if (input.billing_type !== undefined && input.billing_type !== key.billing_type)
    refuse(`is billed as yours is (${key.billing_type})`);
  const denied = (input.models ?? []).filter((m) => !allowsModel(key.models, m, m));
  if (denied.length > 0) refuse(`may only use models your key may use (not ${denied.join(', ')})`);
  const cap = budgetCap({ key, user });
  if (input.max_budget != null && cap !== null && usdToMicros(input.max_budget) > cap)
    refuse(`cannot have a budget above your own (${cap / 1_000_000} USD)`);
  for (const limit of ['rpm_limit', 'tpm_limit', 'max_parallel_requests'] as const) {
    const mine = key[limit];
    const asked = input[limit];
    if (mine !== null && asked != null && asked > mine)
      refuse(`cannot have a ${limit} above your key's (${mine})`);
  }
}

/**
 * The key as it is made: theirs and their team's, billed as their key is; what it leaves unset it
 * takes from their key (models, budget, rate limits, per-model and per-provider budgets), and it
 * expires no later than their key. Every key of theirs also draws on their user budget.
 */
export function boundSelfServiceKey({ key: mine, user }: Person, made: VirtualKey): VirtualKey {
  const cap = budgetCap({ key: mine, user });
  const inheritsBudget = made.max_budget_micros === null && cap !== null;
  return {
    ...made,
    user_id: user.user_id,
    team_id: mine.team_id,
    billing_type: mine.billing_type,
    models: made.models.length > 0 ? made.models : mine.models,
    ...(inheritsBudget && {
      max_budget_micros: cap,
      budget_duration: mine.max_budget_micros === cap ? mine.budget_duration : user.budget_duration,
    }),
    rpm_limit: made.rpm_limit ?? mine.rpm_limit,
    tpm_limit: made.tpm_limit ?? mine.tpm_limit,
    max_parallel_requests: made.max_parallel_requests ?? mine.max_parallel_requests,
    model_max_budget: tighter(made.model_max_budget, mine.model_max_budget),
    provider_max_budget: tighter(made.provider_max_budget, mine.provider_max_budget),
    expires_at:
      mine.expires_at !== null && (made.expires_at === null || made.expires_at > mine.expires_at)
        ? mine.expires_at
        : made.expires_at,
  };
}

/** The smaller of the person's and their key's budgets, or null when neither has one. */
function budgetCap({ key, user }: Person): number | null {
  const caps = [key.max_budget_micros, user.max_budget_micros].filter((c): c is number => c !== null);
  return caps.length > 0 ? Math.min(...caps) : null;
}

/** The new key's part budgets, with each of the caller's that is missing or lower taking its place. */
function tighter(
  made: Record<string, ScopedBudget>,
  mine: Record<string, ScopedBudget>,
): Record<string, ScopedBudget> {
  const out = { ...made };
  for (const [name, budget] of Object.entries(mine)) {
    const asked = out[name];
    if (!asked || asked.limit_micros > budget.limit_micros) out[name] = budget;
  }
  return out;
}
