import { GatewayError } from '../errors.ts';
import type { BudgetCounter } from '../ports/budgets.ts';
import type { User } from '../ports/documents.ts';
import { allowsModel, assertAllowsModel } from './allow-list.ts';
import { budgetCounter } from './budgets.ts';

/** Rejects requests on a blocked person's keys with 403. */
export function assertUserUsable(user: User): void {
  if (user.invalid)
    throw new GatewayError(
      'permission',
      `User '${user.user_id}' cannot be read (${user.invalid}): ask an admin.`,
    );
  if (user.blocked) throw new GatewayError('permission', `User '${user.user_id}' is blocked.`);
}

export function isModelAllowedForUser(user: User, requested: string, canonical: string): boolean {
  return allowsModel(user.models, requested, canonical);
}

export function assertUserModelAllowed(user: User, requested: string, canonical: string): void {
  assertAllowsModel(`User '${user.user_id}'`, user.models, requested, canonical);
}

/** The person's budget counter for the period containing `now`, shared by all their keys. */
export function userCounter(user: User, now: Date, timeZone = 'UTC'): BudgetCounter {
  return budgetCounter(
    {
      scope: 'user',
      scope_id: user.user_id,
      label: user.user_alias ?? user.user_id,
      limit_micros: user.max_budget_micros,
      soft_limit_micros: user.soft_budget_micros,
      mode: user.budget_mode,
      duration: user.budget_duration,
      anchor: user.created_at,
    },
    now,
    timeZone,
  );
}
