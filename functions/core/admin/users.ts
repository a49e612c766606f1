import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { userCounter } from '../governance/users.ts';
import type { BudgetLedger } from '../ports/budgets.ts';
import type { User, UserStore } from '../ports/documents.ts';
import type { Logger } from '../ports/logging.ts';
import { withGiven } from './document-service.ts';
import { requireDocument } from './documents.ts';
import { applyLimits, describeLimits, id, limitFields, metadata, modelList, NO_LIMITS } from './fields.ts';
import { describeSpend, periodSpend, silent } from './period-spend.ts';

const role = z.enum(['proxy_admin', 'proxy_admin_viewer', 'internal_user', 'internal_user_viewer']);

const userFields = {
  user_alias: id.nullish(),
  user_email: z.email().max(320).nullish(),
  user_role: role.optional(),
  models: modelList.optional(),
  ...limitFields,
  metadata: metadata.optional(),
  blocked: z.boolean().optional(),
};

/**
 * LiteLLM's `/user/new` body, plus `budget_mode`. With `auto_create_key` (the default, as in LiteLLM)
 * the answer carries a first key for the person; `teams` adds them as members of existing teams.
 */
export const NewUserSchema = z.strictObject({
  user_id: id.optional(),
  teams: z.array(id).max(100).optional(),
  auto_create_key: z.boolean().default(true),
  key_alias: id.nullish(),
  ...userFields,
});
export const UpdateUserSchema = z.strictObject({ user_id: id, ...userFields });
export const DeleteUsersSchema = z.strictObject({ user_ids: z.array(id).min(1).max(1000) });

export type NewUser = z.infer<typeof NewUserSchema>;

/** A new person from a `/user/new` body. */
export function newUser(input: NewUser, now: Date): User {
  const blank: User = {
    user_id: input.user_id ?? randomUUID(),
    user_alias: null,
    user_email: null,
    user_role: 'internal_user',
    models: [],
    ...NO_LIMITS,
    metadata: {},
    blocked: false,
    created_at: now.toISOString(),
  };
  return applyUserChanges(blank, input);
}

export function applyUserChanges(user: User, input: z.infer<typeof UpdateUserSchema> | NewUser): User {
  return withGiven(applyLimits(user, input), input, [
    'user_alias',
    'user_email',
    'user_role',
    'models',
    'metadata',
    'blocked',
  ]);
}

export function requireUser(store: UserStore, user_id: string): Promise<User> {
  return requireDocument(store, user_id, 'User');
}

/** A person in LiteLLM's field names, with their spend in the current budget period. */
export async function describeUser(
  ledger: BudgetLedger,
  user: User,
  now: Date,
  timeZone = 'UTC',
  log: Logger = silent,
) {
  const read = await periodSpend(ledger, user, () => userCounter(user, now, timeZone), {
    kind: 'user',
    id: user.user_id,
    log,
  });
  return {
    user_id: user.user_id,
    user_alias: user.user_alias,
    user_email: user.user_email,
    user_role: user.user_role,
    models: user.models,
    ...describeLimits(user),
    ...describeSpend(read),
    metadata: user.metadata,
    blocked: user.blocked,
    created_at: user.created_at,
  };
}
