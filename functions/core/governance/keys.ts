import { createHash, randomBytes } from 'node:crypto';
import { GatewayError } from '../errors.ts';
import type { BudgetCounter } from '../ports/budgets.ts';
import type { User } from '../ports/documents.ts';
import type { VirtualKey } from '../ports/keys.ts';
import { allowsModel, assertAllowsModel } from './allow-list.ts';
import { budgetCounter } from './budgets.ts';

/** Virtual keys look like OpenAI/Anthropic keys so clients that sniff the prefix accept them. */
const KEY_PREFIX = 'sk-tg-';

/**
 * The middle of every key: three dot-separated parts whose second is base64url JSON naming the
 * audience `claude-gateway` is how Claude Code tells a gateway's token from a plain API key, and only
 * for a gateway's token (sent as `ANTHROPIC_AUTH_TOKEN`) does it act on the budget standing the gateway
 * sends in `anthropic-ratelimit-unified-*` headers and warn its user at 75 % and 95 % (read from Claude
 * Code 2.1.331's own code and checked with it: `npm run test:agents`). Claude Code does not verify the
 * part, nor does Tollgate: a public label, the same in every key. The secret is the random part after it.
 */
const CLAUDE_GATEWAY_LABEL = `gw.${Buffer.from('{"aud":"claude-gateway"}').toString('base64url')}.`;

/** `sk-tg-gw.<label>.<24 random bytes, base64url>`; keys made before the label still work (lookups hash the whole string). */
export function generateSecretKey(): string {
  return KEY_PREFIX + CLAUDE_GATEWAY_LABEL + randomBytes(24).toString('base64url');
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
  if (key.invalid)
    throw new GatewayError(
      'permission',
      `Key '${key.key_alias ?? key.key_id}' cannot be read (${key.invalid}): ask an admin.`,
    );
  if (key.blocked)
    throw new GatewayError('permission', `Key '${key.key_alias ?? key.key_id}' has been revoked.`);
  if (key.expires_at && new Date(key.expires_at) <= now) {
    throw new GatewayError(
      'permission',
      `Key '${key.key_alias ?? key.key_id}' expired at ${key.expires_at}.`,
    );
  }
}

/**
 * A key a person issued themselves works only while the key it was issued from (`budget_parent`) does:
 * revoking, expiring or deleting that key stops the keys made from it, so a revocation cannot be
 * sidestepped. And since such a key spends from that key's budget when the person has no user budget,
 * one of the two must have a budget: otherwise nothing an admin set would bound what it spends.
 */
export function assertIssuedFromUsable(
  key: VirtualKey,
  parent: VirtualKey | undefined,
  user: User | undefined,
  now: Date,
): void {
  if (key.budget_parent === null) return;
  const name = `Key '${key.key_alias ?? key.key_id}'`;
  // Typed, so that the compiler knows a call to it ends the function (and narrows `parent`).
  const refuse: (why: string) => never = (why) => {
    throw new GatewayError('permission', `${name} was issued from ${why}.`);
  };
  if (!parent) refuse(`key '${key.budget_parent}', which no longer exists`);
  const from = `key '${parent.key_alias ?? parent.key_id}'`;
  if (parent.blocked) refuse(`${from}, which has been revoked`);
  if (parent.expires_at && new Date(parent.expires_at) <= now)
    refuse(`${from}, which expired at ${parent.expires_at}`);
  if ((user?.max_budget_micros ?? null) === null && parent.max_budget_micros === null)
    refuse(`${from}, and has no budget to spend from: neither that key nor its person has one`);
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
export function keyCounter(key: VirtualKey, now: Date, timeZone = 'UTC'): BudgetCounter {
  return budgetCounter(
    {
      scope: 'key',
      scope_id: key.key_id,
      label: key.key_alias ?? key.key_id,
      limit_micros: key.max_budget_micros,
      soft_limit_micros: key.soft_budget_micros,
      mode: key.budget_mode,
      duration: key.budget_duration,
      anchor: key.created_at,
    },
    now,
    timeZone,
  );
}

/**
 * The key's budgets on the model (`model_max_budget`, by requested or canonical name) and on the
 * provider it is served by, where it has them.
 */
export function keyPartCounters(
  key: VirtualKey,
  model: { requested: string; canonical: string; provider: string },
  now: Date,
  timeZone = 'UTC',
): BudgetCounter[] {
  const label = key.key_alias ?? key.key_id;
  const modelName = key.model_max_budget[model.requested] ? model.requested : model.canonical;
  const parts = [
    { scope: 'key_model' as const, name: modelName, budget: key.model_max_budget[modelName] },
    { scope: 'key_provider' as const, name: model.provider, budget: key.provider_max_budget[model.provider] },
  ];
  return parts.flatMap(({ scope, name, budget }) =>
    budget
      ? [
          budgetCounter(
            {
              scope,
              scope_id: `${key.key_id}/${name}`,
              label: `${label} on ${name}`,
              limit_micros: budget.limit_micros,
              mode: key.budget_mode,
              duration: budget.duration,
              anchor: key.created_at,
            },
            now,
            timeZone,
          ),
        ]
      : [],
  );
}
