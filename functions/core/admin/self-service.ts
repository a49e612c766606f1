import { GatewayError } from '../errors.ts';
import { allowsModel } from '../governance/allow-list.ts';
import { assertIssuedFromUsable } from '../governance/keys.ts';
import type { ScopedBudget } from '../ports/budgets.ts';
import type { User } from '../ports/documents.ts';
import type { KeyStore, VirtualKey } from '../ports/keys.ts';
import { usdToMicros } from './fields.ts';
import type { NewKey } from './keys.ts';

/** How many keys a person may hold when they make their own: rate limits are per key. */
export const SELF_SERVICE_MAX_KEYS = 20;

export interface Person {
  /** The key they called with; null when they called from a sign-in session. */
  key: VirtualKey | null;
  user: User;
  /** Their team: their call key's, or the one their groups named at sign-in. */
  team_id: string | null;
  /**
   * The key they were given: the admin-issued key at the root of their call key (the call key itself,
   * or its `budget_parent`); null from a session. Every key they issue records it, and spends from its
   * budget when they have no user budget.
   */
  root: VirtualKey | null;
}

/** The budget an admin set for the person, which bounds everything their keys spend together. */
interface BindingBudget {
  owner: string;
  duration: string | null;
}

/**
 * The person behind a self-service call, with the key they were given. A call key that was itself
 * self-issued names that key as its `budget_parent`; it must still be usable (403 otherwise).
 */
export async function personOf(
  keys: Pick<KeyStore, 'getById'>,
  { key, user, team_id }: { key: VirtualKey | null; user: User; team_id: string | null },
  now: Date,
): Promise<Person> {
  if (key === null) return { key, user, team_id, root: null };
  if (key.budget_parent === null) return { key, user, team_id, root: key };
  const root = await keys.getById(key.budget_parent);
  assertIssuedFromUsable(key, root, user, now); // throws when there is no such key
  return { key, user, team_id, root: root as VirtualKey };
}

const refuse = (why: string): never => {
  throw new GatewayError('permission', `A key you create for yourself ${why}.`);
};

/**
 * Refuses what a person may not ask for when making their own key: any key at all when no admin set
 * them a budget (neither a user budget nor one on the key they were given), someone else's or another
 * team's key, a blocked one, another billing type, models their key lacks, a budget above their own or
 * their key's, a budget period other than their binding budget's (or none), a rate limit above their
 * key's, or more than SELF_SERVICE_MAX_KEYS keys.
 */
export function checkSelfServiceRequest(person: Person, input: NewKey, keysHeld: number): void {
  const { key, user } = person;
  const binding = bindingBudget(person);
  if (keysHeld >= SELF_SERVICE_MAX_KEYS)
    refuse(`would be your key number ${keysHeld + 1}; the most is ${SELF_SERVICE_MAX_KEYS}`);
  if (input.user_id != null && input.user_id !== user.user_id)
    refuse(`must be yours (user_id '${user.user_id}')`);
  if (input.team_id != null && input.team_id !== person.team_id)
    refuse(`stays in your team ('${person.team_id ?? 'none'}')`);
  if (input.blocked) refuse('cannot be created blocked');
  if (key && input.billing_type !== undefined && input.billing_type !== key.billing_type)
    refuse(`is billed as yours is (${key.billing_type})`);
  const denied = (input.models ?? []).filter((m) => !allowsModel((key ?? user).models, m, m));
  if (denied.length > 0) refuse(`may only use models your key may use (not ${denied.join(', ')})`);
  const cap = budgetCap(person);
  if (input.max_budget != null && cap !== null && usdToMicros(input.max_budget) > cap.limit_micros)
    refuse(`cannot have a budget above your own (${cap.limit_micros / 1_000_000} USD)`);
  // A shorter period resets more often; its own budget would only narrow the pot it shares, but a key
  // should not look as if it had money that resets every second.
  if (input.budget_duration != null && input.budget_duration !== binding.duration) {
    refuse(
      `may have budget_duration '${binding.duration ?? 'null'}' (the period of ${binding.owner}) or null ` +
        `(a budget that never resets), not '${input.budget_duration}'`,
    );
  }
  for (const limit of ['rpm_limit', 'tpm_limit', 'max_parallel_requests'] as const) {
    const mine = key?.[limit] ?? null;
    const asked = input[limit];
    if (mine !== null && asked != null && asked > mine)
      refuse(`cannot have a ${limit} above your key's (${mine})`);
  }
}

/**
 * The key as it is made: theirs and their team's, billed as their key is, issued from the key they
 * were given; what it leaves unset it takes from their key (models, budget, rate limits, per-model and
 * per-provider budgets; a budget given without a period resets with the binding budget), and it
 * expires no later than their key. Every key of theirs also draws on
 * their user budget, or — when they have none — on the budget of the key they were given.
 */
export function boundSelfServiceKey(person: Person, made: VirtualKey, input: NewKey): VirtualKey {
  const { key: mine, user, root } = person;
  const cap = budgetCap(person);
  return {
    ...made,
    user_id: user.user_id,
    team_id: person.team_id,
    billing_type: mine?.billing_type ?? made.billing_type,
    budget_parent: root?.key_id ?? null,
    models: made.models.length > 0 ? made.models : (mine?.models ?? []),
    ...(made.max_budget_micros === null
      ? cap !== null && { max_budget_micros: cap.limit_micros, budget_duration: cap.budget_duration }
      : input.budget_duration === undefined && { budget_duration: bindingBudget(person).duration }),
    rpm_limit: made.rpm_limit ?? mine?.rpm_limit ?? null,
    tpm_limit: made.tpm_limit ?? mine?.tpm_limit ?? null,
    max_parallel_requests: made.max_parallel_requests ?? mine?.max_parallel_requests ?? null,
    model_max_budget: mine ? tighter(made.model_max_budget, mine.model_max_budget) : made.model_max_budget,
    provider_max_budget: mine
      ? tighter(made.provider_max_budget, mine.provider_max_budget)
      : made.provider_max_budget,
    expires_at:
      mine && mine.expires_at !== null && (made.expires_at === null || made.expires_at > mine.expires_at)
        ? mine.expires_at
        : made.expires_at,
  };
}

/**
 * The person's user budget, or else the budget of the key they were given; a person with neither has
 * nothing an admin set to bound what their keys spend, and may not issue keys.
 */
function bindingBudget({ user, root }: Person): BindingBudget {
  if (user.max_budget_micros !== null) return { owner: `your user budget`, duration: user.budget_duration };
  if (root && root.max_budget_micros !== null)
    return {
      owner: `the budget of your key '${root.key_alias ?? root.key_id}'`,
      duration: root.budget_duration,
    };
  if (!root)
    return refuse('needs a budget to spend from, and you have no user budget. Ask an admin to set one');
  return refuse(
    `needs a budget to spend from, and you have no budget: neither a user budget nor one on the key ` +
      `you were given ('${root.key_alias ?? root.key_id}'). Ask an admin to set one`,
  );
}

/** The smallest of the person's, their call key's and their given key's budgets, or null when none has one. */
function budgetCap({
  key,
  user,
  root,
}: Person): { limit_micros: number; budget_duration: string | null } | null {
  const owners = [key, root, user].filter(
    (o): o is VirtualKey | User => o !== null && o.max_budget_micros !== null,
  );
  const least = owners.sort((a, b) => (a.max_budget_micros as number) - (b.max_budget_micros as number))[0];
  return least
    ? { limit_micros: least.max_budget_micros as number, budget_duration: least.budget_duration }
    : null;
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
