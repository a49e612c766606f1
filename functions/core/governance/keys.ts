import { createHash, randomBytes } from 'node:crypto';
import { GatewayError } from '../errors.ts';
import type { BudgetCounter, VirtualKey } from '../ports.ts';
import { allowsModel, assertAllowsModel } from './allow-list.ts';
import { budgetCounter } from './budgets.ts';

/** Virtual keys look like OpenAI/Anthropic keys so clients that sniff the prefix accept them. */
const KEY_PREFIX = 'sk-tg-';

export function generateSecretKey(): string {
  return KEY_PREFIX + randomBytes(24).toString('base64url');
}

export function hashKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function maskKey(secret: string): string {
  return `${secret.slice(0, KEY_PREFIX.length)}...${secret.slice(-4)}`;
}

/**
 * The key a request carries: `x-api-key` (Anthropic clients) or `Authorization: Bearer` (OpenAI clients,
 * `ANTHROPIC_AUTH_TOKEN`, and @anthropic-ai/sdk 1.x).
 */
export function presentedKey(headers: Headers): string | undefined {
  const apiKey = headers.get('x-api-key')?.trim();
  if (apiKey) return apiKey;
  const auth = headers.get('authorization');
  const match = auth ? /^Bearer\s+(.+)$/i.exec(auth.trim()) : null;
  return match?.[1]?.trim() || undefined;
}

/** Rejects a blocked or expired key with 403: the key exists, it just may not be used. */
export function assertKeyUsable(key: VirtualKey, now: Date): void {
  if (key.blocked)
    throw new GatewayError('permission', `Key '${key.key_alias ?? key.key_id}' has been revoked.`);
  if (key.expires_at && new Date(key.expires_at) <= now) {
    throw new GatewayError(
      'permission',
      `Key '${key.key_alias ?? key.key_id}' expired at ${key.expires_at}.`,
    );
  }
}

export function isModelAllowed(key: VirtualKey, requested: string, canonical: string): boolean {
  return allowsModel(key.models, requested, canonical);
}

export function assertModelAllowed(key: VirtualKey, requested: string, canonical: string): void {
  assertAllowsModel(`Key '${key.key_alias ?? key.key_id}'`, key.models, requested, canonical);
}

/**
 * The key's own budget counter for the period containing `now`; metered even without a limit. Counted
 * under the stable key_id, not the hash: a regenerated secret keeps the key's spend.
 */
export function keyCounter(key: VirtualKey, now: Date): BudgetCounter {
  return budgetCounter(
    {
      scope: 'key',
      scope_id: key.key_id,
      label: key.key_alias ?? key.key_id,
      limit_micros: key.max_budget_micros,
      duration: key.budget_duration,
      anchor: key.created_at,
    },
    now,
  );
}
