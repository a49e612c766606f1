import { GatewayError } from '../errors.ts';
import { allowsModel } from '../governance/allow-list.ts';
import type { User, VirtualKey } from '../ports.ts';
import { usdToMicros } from './fields.ts';
import type { NewKey } from './keys.ts';

/**
 * A key a person makes for themselves: theirs and their team's, with no model their own key lacks,
 * no budget above their user budget, no rate limit above their key's, billed as their key is. Every
 * key of theirs also draws on their user budget, so making more keys never makes more money.
 */
export function boundedSelfServiceKey(caller: { key: VirtualKey; user: User }, input: NewKey): NewKey {
  const { key, user } = caller;
  const refuse = (why: string) => {
    throw new GatewayError('permission', `A key you create for yourself ${why}.`);
  };
  if (input.user_id != null && input.user_id !== user.user_id)
    refuse(`must be yours (user_id '${user.user_id}')`);
  if (input.team_id != null && input.team_id !== key.team_id)
    refuse(`stays in your team ('${key.team_id ?? 'none'}')`);
  if (input.blocked) refuse('cannot be created blocked');
  if (input.billing_type !== undefined && input.billing_type !== key.billing_type)
    refuse(`is billed as yours is (${key.billing_type})`);
  const models = input.models?.length ? input.models : key.models;
  const denied = models.filter((m) => !allowsModel(key.models, m, m));
  if (denied.length > 0) refuse(`may only use models your key may use (not ${denied.join(', ')})`);
  if (
    input.max_budget != null &&
    user.max_budget_micros !== null &&
    usdToMicros(input.max_budget) > user.max_budget_micros
  )
    refuse(`cannot have a budget above your own (${user.max_budget_micros / 1_000_000} USD)`);
  for (const limit of ['rpm_limit', 'tpm_limit', 'max_parallel_requests'] as const) {
    const mine = key[limit];
    const asked = input[limit];
    if (mine !== null && asked != null && asked > mine)
      refuse(`cannot have a ${limit} above your key's (${mine})`);
  }
  return {
    ...input,
    user_id: user.user_id,
    team_id: key.team_id,
    models,
    billing_type: key.billing_type,
    rpm_limit: input.rpm_limit ?? key.rpm_limit,
    tpm_limit: input.tpm_limit ?? key.tpm_limit,
    max_parallel_requests: input.max_parallel_requests ?? key.max_parallel_requests,
  };
}
