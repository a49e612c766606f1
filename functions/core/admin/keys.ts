import { z } from 'zod';
import { ConflictError, GatewayError, NotFoundError } from '../errors.ts';
import { generateSecretKey, hashKey, keyCounter, maskKey } from '../governance/keys.ts';
import { isValidDuration, periodFor } from '../governance/periods.ts';
import type { BudgetLedger, KeyStore, VirtualKey } from '../ports.ts';

const duration = z
  .string()
  .refine(isValidDuration, { message: 'expected daily|weekly|monthly or <n>(s|m|h|d|w|mo)' });
const id = z.string().min(1).max(256);
/** A billion dollars is 10^15 micro-dollars: still an exact integer in a double. */
const usd = z.number().nonnegative().max(1_000_000_000);
const perMinute = z.number().int().positive();

/** LiteLLM's `/key/generate` body; fields the gateway does not enforce yet are accepted and kept. */
export const GenerateKeySchema = z.looseObject({
  key_alias: id.nullish(),
  user_id: id.nullish(),
  team_id: id.nullish(),
  models: z.array(z.string().min(1)).default([]),
  max_budget: usd.nullish(),
  budget_duration: duration.nullish(),
  duration: duration.nullish(),
  metadata: z.record(z.string(), z.unknown()).default({}),
  tags: z.array(z.string()).default([]),
  billing_type: z.enum(['usage', 'subscription']).default('usage'),
  rpm_limit: perMinute.nullish(),
  tpm_limit: perMinute.nullish(),
});

/** What `/key/update` and `/key/regenerate` may change; an absent field is left as it is. */
const changes = {
  key_alias: id.nullish(),
  user_id: id.nullish(),
  team_id: id.nullish(),
  models: z.array(z.string().min(1)).optional(),
  max_budget: usd.nullish(),
  budget_duration: duration.nullish(),
  duration: duration.nullish(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  tags: z.array(z.string()).optional(),
  billing_type: z.enum(['usage', 'subscription']).optional(),
  rpm_limit: perMinute.nullish(),
  tpm_limit: perMinute.nullish(),
  blocked: z.boolean().optional(),
};
/** `key` is the secret (`sk-...`) or its token (the sha256 that /key/info and /key/list show). */
const keyRef = z.string().min(1).max(512);
export const UpdateKeySchema = z.looseObject({ key: keyRef, ...changes });
/** The key may instead come in the path (`/key/{key}/regenerate`), as LiteLLM allows. */
export const RegenerateKeySchema = z.looseObject({ key: keyRef.optional(), ...changes });
export const KeyRefSchema = z.looseObject({ key: keyRef });
export const DeleteKeysSchema = z
  .object({ keys: z.array(keyRef).min(1).optional(), key_aliases: z.array(id).min(1).optional() })
  .refine((b) => b.keys || b.key_aliases, { message: 'pass keys or key_aliases' });

/** `/key/list` query: LiteLLM's filters and paging; its other parameters are accepted and ignored. */
export const ListKeysQuerySchema = z.looseObject({
  user_id: id.optional(),
  team_id: id.optional(),
  key_alias: id.optional(),
  page: z.coerce.number().int().min(1).default(1),
  size: z.coerce.number().int().min(1).max(100).default(10),
});

export type KeyChanges = z.infer<typeof RegenerateKeySchema>;
export type DeleteKeys = z.infer<typeof DeleteKeysSchema>;
export type ListKeysQuery = z.infer<typeof ListKeysQuerySchema>;

/** USD (as LiteLLM's API speaks it) to integer micro-dollars, once, at the edge. */
export function usdToMicros(usd: number): number {
  return Math.round(usd * 1_000_000);
}

export function microsToUsd(micros: number): number {
  return micros / 1_000_000;
}

/** When a key given `duration` now expires. */
function expiryFor(duration: string, now: Date): string {
  return periodFor(duration, now, now).end.toISOString();
}

export async function generateKey(
  store: KeyStore,
  input: z.infer<typeof GenerateKeySchema>,
  now: Date,
): Promise<{ secret: string; key: VirtualKey }> {
  // key_id is 48 random bits: a clash is unlikely but possible, and the store refuses it; draw again.
  for (let attempt = 1; ; attempt++) {
    const secret = generateSecretKey();
    const hash = hashKey(secret);
    const key: VirtualKey = {
      hash,
      key_id: hash.slice(0, 12),
      key_name: maskKey(secret),
      key_alias: input.key_alias ?? null,
      user_id: input.user_id ?? null,
      team_id: input.team_id ?? null,
      models: input.models,
      max_budget_micros: input.max_budget == null ? null : usdToMicros(input.max_budget),
      budget_duration: input.budget_duration ?? null,
      metadata: input.metadata,
      tags: input.tags,
      billing_type: input.billing_type,
      rpm_limit: input.rpm_limit ?? null,
      tpm_limit: input.tpm_limit ?? null,
      blocked: false,
      created_at: now.toISOString(),
      expires_at: input.duration ? expiryFor(input.duration, now) : null,
    };
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
  const { max_budget, duration } = input;
  return {
    ...key,
    ...(input.key_alias !== undefined && { key_alias: input.key_alias }),
    ...(input.user_id !== undefined && { user_id: input.user_id }),
    ...(input.team_id !== undefined && { team_id: input.team_id }),
    ...(input.models !== undefined && { models: input.models }),
    ...(max_budget !== undefined && {
      max_budget_micros: max_budget === null ? null : usdToMicros(max_budget),
    }),
    ...(input.budget_duration !== undefined && { budget_duration: input.budget_duration }),
    ...(duration !== undefined && { expires_at: duration === null ? null : expiryFor(duration, now) }),
    ...(input.metadata !== undefined && { metadata: input.metadata }),
    ...(input.tags !== undefined && { tags: input.tags }),
    ...(input.billing_type !== undefined && { billing_type: input.billing_type }),
    ...(input.rpm_limit !== undefined && { rpm_limit: input.rpm_limit }),
    ...(input.tpm_limit !== undefined && { tpm_limit: input.tpm_limit }),
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

/** A key's public description in LiteLLM's field names, with its spend in the current budget period. */
export async function describeKey(ledger: BudgetLedger, key: VirtualKey, now: Date) {
  const counter = keyCounter(key, now);
  const { spent_micros, committed_micros } = await ledger.read(counter);
  return {
    token: key.hash,
    key_id: key.key_id,
    key_name: key.key_name,
    key_alias: key.key_alias,
    user_id: key.user_id,
    team_id: key.team_id,
    models: key.models,
    spend: microsToUsd(spent_micros),
    spend_micros: spent_micros,
    /** Reserved by requests still in flight. */
    reserved_micros: committed_micros - spent_micros,
    max_budget: key.max_budget_micros === null ? null : microsToUsd(key.max_budget_micros),
    budget_duration: key.budget_duration,
    budget_reset_at: counter.resets_at,
    expires: key.expires_at,
    blocked: key.blocked,
    metadata: key.metadata,
    tags: key.tags,
    billing_type: key.billing_type,
    rpm_limit: key.rpm_limit,
    tpm_limit: key.tpm_limit,
    created_at: key.created_at,
  };
}

export function invalidBody(error: z.ZodError, what = 'request body'): GatewayError {
  const detail = error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
  return new GatewayError('invalid_request', `Invalid ${what}: ${detail}`);
}
