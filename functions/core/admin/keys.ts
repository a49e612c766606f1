import { z } from 'zod';
import { GatewayError } from '../errors.ts';
import { generateSecretKey, hashKey, keyCounter, maskKey } from '../governance/keys.ts';
import { isValidDuration, periodFor } from '../governance/periods.ts';
import type { BudgetLedger, KeyStore, VirtualKey } from '../ports.ts';

/** LiteLLM's `/key/generate` body; fields the gateway does not enforce yet are accepted and kept. */
const duration = z
  .string()
  .refine(isValidDuration, { message: 'expected daily|weekly|monthly or <n>(s|m|h|d|w|mo)' });
export const GenerateKeySchema = z.looseObject({
  key_alias: z.string().min(1).max(256).nullish(),
  user_id: z.string().min(1).max(256).nullish(),
  team_id: z.string().min(1).max(256).nullish(),
  models: z.array(z.string().min(1)).default([]),
  max_budget: z.number().nonnegative().nullish(),
  budget_duration: duration.nullish(),
  duration: duration.nullish(),
  metadata: z.record(z.string(), z.unknown()).default({}),
  tags: z.array(z.string()).default([]),
  billing_type: z.enum(['usage', 'subscription']).default('usage'),
});

/** USD (as LiteLLM's API speaks it) to integer micro-dollars, once, at the edge. */
export function usdToMicros(usd: number): number {
  return Math.round(usd * 1_000_000);
}

export function microsToUsd(micros: number): number {
  return micros / 1_000_000;
}

export async function generateKey(
  store: KeyStore,
  input: z.infer<typeof GenerateKeySchema>,
  now: Date,
): Promise<{ secret: string; key: VirtualKey }> {
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
    blocked: false,
    created_at: now.toISOString(),
    expires_at: input.duration ? periodFor(input.duration, now, now).end.toISOString() : null,
  };
  await store.create(key);
  return { secret, key };
}

/** A key's public description in LiteLLM's field names, with its spend in the current budget period. */
export async function describeKey(ledger: BudgetLedger, key: VirtualKey, now: Date) {
  const counter = keyCounter(key, now);
  const { spent_micros, committed_micros } = await ledger.read(counter);
  return {
    token: key.hash,
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
    created_at: key.created_at,
  };
}

export function invalidBody(error: z.ZodError): GatewayError {
  const detail = error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
  return new GatewayError('invalid_request', `Invalid request body: ${detail}`);
}
