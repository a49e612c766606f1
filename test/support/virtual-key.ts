import type { VirtualKey } from '../../functions/core/ports/keys.ts';

/** A usable key with no limits, for tests that need one; override what the test is about. */
export function virtualKey(overrides: Partial<VirtualKey> = {}): VirtualKey {
  const hash = overrides.hash ?? 'a'.repeat(64);
  return {
    hash,
    key_id: hash.slice(0, 12),
    key_alias: null,
    user_id: null,
    team_id: null,
    models: [],
    max_budget_micros: null,
    soft_budget_micros: null,
    budget_duration: null,
    budget_mode: 'strict',
    model_max_budget: {},
    provider_max_budget: {},
    max_parallel_requests: null,
    metadata: {},
    tags: [],
    billing_type: 'usage',
    rpm_limit: null,
    tpm_limit: null,
    blocked: false,
    created_at: '2026-11-25T00:00:00.000Z',
    expires_at: null,
    key_name: 'sk-tg-...abcd',
    budget_parent: null,
    ...overrides,
  };
}
