import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../../functions/core/errors.ts';
import { assertIssuedFromUsable } from '../../../../functions/core/governance/keys.ts';
import {
  budgetCounters,
  DEFAULT_POLICY,
  type Principal,
} from '../../../../functions/core/governance/scopes.ts';
import type { User } from '../../../../functions/core/ports/documents.ts';
import { virtualKey } from '../../../support/virtual-key.ts';

const NOW = new Date('2026-11-30T12:00:00.000Z');
const MODEL = { requested: 'gpt-4.1-mini', canonical: 'gpt-4.1-mini', provider: 'openai' };

/** The key an admin gave Ivy ($0.002 a month), and one she issued herself from it. */
const given = virtualKey({
  hash: 'b'.repeat(64),
  key_alias: 'ivy-given',
  user_id: 'ivy',
  max_budget_micros: 2_000,
  budget_duration: '1mo',
  provider_max_budget: { openai: { limit_micros: 1_000, duration: 'daily' } },
});
const issued = virtualKey({
  hash: 'c'.repeat(64),
  key_alias: 'ivy-own',
  user_id: 'ivy',
  max_budget_micros: 2_000,
  budget_duration: '1mo',
  budget_parent: given.key_id,
});

const user = (max_budget_micros: number | null): User => ({
  user_id: 'ivy',
  user_alias: null,
  user_email: null,
  user_role: 'internal_user',
  models: [],
  metadata: {},
  blocked: false,
  created_at: '2026-11-01T00:00:00.000Z',
  max_budget_micros,
  soft_budget_micros: null,
  budget_duration: 'monthly',
  budget_mode: 'strict',
  rpm_limit: null,
  tpm_limit: null,
  max_parallel_requests: null,
});

const countersOf = (who: Principal) =>
  budgetCounters(who, MODEL, DEFAULT_POLICY, NOW).map((c) => `${c.scope}:${c.scope_id}:${c.period}`);

const thrownBy = (fn: () => void): unknown => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err;
  }
};

describe('budgetCounters for a self-issued key', () => {
  it("draws on the given key's own counters (same scope, id and period) when the person has no user budget", () => {
    // Prepare
    const who: Principal = { key: issued, team: undefined, user: user(null), parent: given };

    // Act
    const counters = countersOf(who);

    // Assess
    const givenOwn = countersOf({ key: given, team: undefined, user: user(null) });
    expect(counters).toEqual(expect.arrayContaining(givenOwn.filter((c) => !c.startsWith('user:'))));
    expect(counters.filter((c) => c.includes(given.key_id))).toHaveLength(2);
  });

  it("draws on the user budget, not the given key's, when the person has one", () => {
    // Prepare
    const who: Principal = { key: issued, team: undefined, user: user(5_000), parent: given };

    // Act
    const counters = countersOf(who);

    // Assess
    expect(counters.some((c) => c.startsWith('user:ivy:'))).toBe(true);
    expect(counters.some((c) => c.includes(given.key_id))).toBe(false);
  });
});

describe('assertIssuedFromUsable', () => {
  it.each([
    ['no longer exists', undefined, user(null), /issued from key '.+', which no longer exists/],
    ['is revoked', { ...given, blocked: true }, user(null), /'ivy-given', which has been revoked/],
    ['has expired', { ...given, expires_at: '2026-11-30T11:00:00.000Z' }, user(null), /which expired at/],
    ['has no budget, nor has the person', { ...given, max_budget_micros: null }, user(null), /no budget/],
  ])(
    'refuses a self-issued key with 403 when the key it was issued from %s',
    (_name, parent, person, message) => {
      // Act
      const err = thrownBy(() => assertIssuedFromUsable(issued, parent, person, NOW));

      // Assess
      expect(err).toBeInstanceOf(GatewayError);
      expect(err).toMatchObject({ status: 403, message: expect.stringMatching(message) });
    },
  );

  it('accepts it while that key is usable, whichever of the two has the budget; and any admin-issued key', () => {
    // Act
    const errors = [
      thrownBy(() => assertIssuedFromUsable(issued, given, user(null), NOW)),
      thrownBy(() => assertIssuedFromUsable(issued, { ...given, max_budget_micros: null }, user(5_000), NOW)),
      thrownBy(() => assertIssuedFromUsable(given, undefined, undefined, NOW)),
    ];

    // Assess
    expect(errors).toEqual([undefined, undefined, undefined]);
  });
});
