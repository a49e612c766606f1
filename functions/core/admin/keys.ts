import { z } from 'zod';
import { ConflictError, GatewayError, NotFoundError } from '../errors.ts';
import { generateSecretKey, hashKey, keyCounter, maskKey } from '../governance/keys.ts';
import { periodFor } from '../governance/periods.ts';
import type { BudgetLedger } from '../ports/budgets.ts';
import type { KeyStore, VirtualKey } from '../ports/keys.ts';
import type { Logger } from '../ports/logging.ts';
import {
  applyLimits,
  describeLimits,
  duration,
  fromPartBudgets,
  id,
  limitFields,
  metadata,
  modelList,
  NO_LIMITS,
  partBudgets,
  queryCount,
  toPartBudgets,
} from './fields.ts';
import { describeSpend, periodSpend, silent, unreadable } from './period-spend.ts';

/** LiteLLM's `/key/generate` body, plus Tollgate's `budget_mode` and `provider_max_budget`. */
const keyFields = {
  key_alias: id.nullish(),
  user_id: id.nullish(),
  team_id: id.nullish(),
  models: modelList.optional(),
  ...limitFields,
  model_max_budget: partBudgets.optional(),
  provider_max_budget: partBudgets.optional(),
  duration: duration.nullish(),
  metadata: metadata.optional(),
  tags: z.array(id).max(100).optional(),
  billing_type: z.enum(['usage', 'subscription']).optional(),
  blocked: z.boolean().optional(),
};
export const GenerateKeySchema = z.strictObject(keyFields);

/** `key` is the secret (`sk-...`) or its token (the sha256 that /key/info and /key/list show). */
export const keyRef = id;
/** What `/key/update` and `/key/regenerate` may change; an absent field is left as it is. */
export const UpdateKeySchema = z.strictObject({ key: keyRef, ...keyFields });
/** The key may instead come in the path (`/key/{key}/regenerate`), as LiteLLM allows. */
export const RegenerateKeySchema = z.strictObject({ key: keyRef.optional(), ...keyFields });
export const KeyRefSchema = z.strictObject({ key: keyRef });
export const DeleteKeysSchema = z
  .strictObject({
    keys: z.array(keyRef).min(1).max(1000).optional(),
    key_aliases: z.array(id).min(1).max(1000).optional(),
  })
  .refine((b) => b.keys || b.key_aliases, { message: 'pass keys or key_aliases' });

/** `/key/list` query: LiteLLM's filters and paging; its other parameters are accepted and ignored. */
export const ListKeysQuerySchema = z.looseObject({
  user_id: id.optional(),
  team_id: id.optional(),
  key_alias: id.optional(),
  page: queryCount.default(1),
  size: queryCount.max(100).default(10),
});

/** `/key/info`: the key asked about; without it, the caller's own key. */
export const KeyInfoQuerySchema = z.looseObject({ key: keyRef.optional() });

export type KeyChanges = z.infer<typeof RegenerateKeySchema>;
export type NewKey = z.infer<typeof GenerateKeySchema>;
export type DeleteKeys = z.infer<typeof DeleteKeysSchema>;
export type ListKeysQuery = z.infer<typeof ListKeysQuerySchema>;

/** When a key given `duration` now expires. */
function expiryFor(duration: string, now: Date): string {
  return periodFor(duration, now, now).end.toISOString();
}

/** Makes a key from `input`; `shape` (self-service) may bound it before it is stored. */
export async function generateKey(
  store: KeyStore,
  input: NewKey,
  now: Date,
  shape: (key: VirtualKey) => VirtualKey = (key) => key,
): Promise<{ secret: string; key: VirtualKey }> {
  // key_id is 48 random bits: a clash is unlikely but possible, and the store refuses it; draw again.
  for (let attempt = 1; ; attempt++) {
    const secret = generateSecretKey();
    const hash = hashKey(secret);
    const blank: VirtualKey = {
      hash,
      key_id: hash.slice(0, 12),
      key_name: maskKey(secret),
      key_alias: null,
      user_id: null,
      team_id: null,
      models: [],
      ...NO_LIMITS,
      model_max_budget: {},
      provider_max_budget: {},
      metadata: {},
      tags: [],
      billing_type: 'usage',
      blocked: false,
      created_at: now.toISOString(),
      expires_at: null,
      budget_parent: null,
    };
    const key = shape(applyKeyChanges(blank, input, now));
    try {
      await store.create(key);
      return { secret, key };
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt === 3) throw err;
    }
  }
}

/** The key with `input`'s fields changed; `duration` restarts the key's lifetime from `now`. */
export function applyKeyChanges(key: VirtualKey, input: KeyChanges, now: Date): VirtualKey {
  const { duration } = input;
  return {
    ...applyLimits(key, input),
    ...(input.key_alias !== undefined && { key_alias: input.key_alias }),
    ...(input.user_id !== undefined && { user_id: input.user_id }),
    ...(input.team_id !== undefined && { team_id: input.team_id }),
    ...(input.models !== undefined && { models: input.models }),
    ...(input.model_max_budget !== undefined && { model_max_budget: toPartBudgets(input.model_max_budget) }),
    ...(input.provider_max_budget !== undefined && {
      provider_max_budget: toPartBudgets(input.provider_max_budget),
    }),
    ...(duration !== undefined && { expires_at: duration === null ? null : expiryFor(duration, now) }),
    ...(input.metadata !== undefined && { metadata: input.metadata }),
    ...(input.tags !== undefined && { tags: input.tags }),
    ...(input.billing_type !== undefined && { billing_type: input.billing_type }),
    ...(input.blocked !== undefined && { blocked: input.blocked }),
  };
}

/** The same key record under a new secret: same key_id, so the same budget counters and records. */
export function withSecret(key: VirtualKey, secret: string): VirtualKey {
  return { ...key, hash: hashKey(secret), key_name: maskKey(secret) };
}

/** The store's hash for a key reference: the secret is hashed, a token is the hash already. */
export function hashOfRef(ref: string): string {
  return ref.startsWith('sk-') ? hashKey(ref) : ref;
}

/** How an error names a key someone referred to, without echoing a secret. */
export function showRef(ref: string): string {
  return ref.startsWith('sk-') ? maskKey(ref) : ref.slice(0, 64);
}

export async function requireKey(store: KeyStore, ref: string): Promise<VirtualKey> {
  const key = await store.get(hashOfRef(ref));
  if (!key) throw new GatewayError('not_found', `No key '${showRef(ref)}'.`);
  return key;
}

/** Writes a changed key back; `previousHash` when its secret was regenerated. */
export async function saveKey(store: KeyStore, key: VirtualKey, previousHash?: string): Promise<void> {
  if (key.invalid) throw unreadable(`Key '${key.key_alias ?? key.key_id}'`, key.invalid);
  try {
    await store.update(key, previousHash);
  } catch (err) {
    if (err instanceof NotFoundError)
      throw new GatewayError('not_found', `No key '${key.key_alias ?? key.key_id}'.`, { cause: err });
    if (err instanceof ConflictError) {
      throw new GatewayError(
        'invalid_request',
        `Key '${key.key_alias ?? key.key_id}' was regenerated meanwhile: look it up again and retry.`,
        { cause: err },
      );
    }
    throw err;
  }
}

/** One page of keys, newest first, in LiteLLM's `/key/list` shape (descriptions are added by the caller). */
export function pageOfKeys(keys: VirtualKey[], query: ListKeysQuery) {
  const matching = keys
    .filter(
      (k) =>
        (query.user_id === undefined || k.user_id === query.user_id) &&
        (query.team_id === undefined || k.team_id === query.team_id) &&
        (query.key_alias === undefined || k.key_alias === query.key_alias),
    )
    .sort((a, b) => b.created_at.localeCompare(a.created_at) || a.key_id.localeCompare(b.key_id));
  const start = (query.page - 1) * query.size;
  return {
    keys: matching.slice(start, start + query.size),
    total_count: matching.length,
    current_page: query.page,
    total_pages: Math.ceil(matching.length / query.size),
  };
}

/**
 * A key's public description in LiteLLM's field names, with its spend in the current budget period;
 * a key whose period cannot be computed is described with `invalid` and no spend.
 */
export async function describeKey(
  ledger: BudgetLedger,
  key: VirtualKey,
  now: Date,
  timeZone = 'UTC',
  log: Logger = silent,
) {
  const read = await periodSpend(ledger, key, () => keyCounter(key, now, timeZone), {
    kind: 'key',
    id: key.key_id,
    log,
  });
  const { budget_reset_at, ...spend } = describeSpend(read);
  return {
    token: key.hash,
    key_id: key.key_id,
    key_name: key.key_name,
    key_alias: key.key_alias,
    user_id: key.user_id,
    team_id: key.team_id,
    models: key.models,
    ...spend,
    /** Reserved by requests still in flight. */
    reserved_micros: read.committed_micros === null ? null : read.committed_micros - read.spent_micros,
    ...describeLimits(key),
    model_max_budget: fromPartBudgets(key.model_max_budget),
    provider_max_budget: fromPartBudgets(key.provider_max_budget),
    budget_reset_at,
    expires: key.expires_at,
    blocked: key.blocked,
    metadata: key.metadata,
    tags: key.tags,
    billing_type: key.billing_type,
    /** For a key its person issued themselves: the key_id of the key it was issued from. */
    budget_parent: key.budget_parent,
    created_at: key.created_at,
  };
}
