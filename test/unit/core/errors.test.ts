import { describe, expect, it } from 'vitest';
import {
  BudgetExceededError,
  ConflictError,
  type ErrorKind,
  GatewayError,
} from '../../../functions/core/errors.ts';

describe('BudgetExceededError', () => {
  it('says which budget, how much is used, what remains and when it resets', () => {
    // Prepare
    const [limit, committed] = [50_000_000, 49_990_000];

    // Act
    const err = new BudgetExceededError('team', 'platform', limit, committed, '2026-12-01T00:00:00.000Z');

    // Assess
    expect(err.message).toBe(
      "Budget exceeded for team 'platform': $49.99 of $50.00 used or reserved, $0.01 remaining; " +
        'it resets at 2026-12-01T00:00:00.000Z.',
    );
    expect(err.remaining_micros).toBe(10_000);
  });

  it('says what the refused request needed, when that is known', () => {
    // Act
    const err = new BudgetExceededError('key', 'laptop', 50_000, 0, null, { needed_micros: 90_000 });

    // Assess
    expect(err.message).toBe(
      "Budget exceeded for key 'laptop': $0.00 of $0.05 used or reserved, $0.05 remaining; this request needs $0.09 held for it (its prompt at worst and the fewest output tokens).",
    );
  });

  it('is a 402 GatewayError named for itself', () => {
    // Prepare
    const cause = new Error('ConditionalCheckFailed');

    // Act
    const err = new BudgetExceededError('key', 'laptop', 1, 1, null, { cause });

    // Assess
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ name: 'BudgetExceededError', kind: 'budget_exceeded', status: 402, cause });
  });

  it('never reports a negative remainder, and omits the reset of a lifetime budget', () => {
    // Prepare
    const [limit, committed] = [1_000_000, 1_250_000];

    // Act
    const err = new BudgetExceededError('user', 'alice', limit, committed, null);

    // Assess
    expect(err.remaining_micros).toBe(0);
    expect(err.message).toBe(
      "Budget exceeded for user 'alice': $1.25 of $1.00 used or reserved, $0.00 remaining.",
    );
  });
});

describe('GatewayError', () => {
  it.each([
    ['invalid_request', 400],
    ['authentication', 401],
    ['budget_exceeded', 402],
    ['permission', 403],
    ['not_found', 404],
    ['too_large', 413],
    ['rate_limited', 429],
    ['internal', 500],
    ['upstream', 502],
    ['upstream_timeout', 504],
  ] as Array<[ErrorKind, number]>)('turns %s into HTTP %i', (kind, status) => {
    // Prepare
    const message = 'x';

    // Act
    const err = new GatewayError(kind, message);

    // Assess
    expect(err.status).toBe(status);
  });

  it('carries response headers and its cause', () => {
    // Prepare
    const cause = new Error('too many');

    // Act
    const err = new GatewayError('rate_limited', 'Slow down', { cause, headers: { 'retry-after': '7' } });
    const plain = new GatewayError('internal', 'oops');

    // Assess
    expect(err).toMatchObject({ name: 'GatewayError', cause, headers: { 'retry-after': '7' } });
    expect(plain.headers).toEqual({});
  });

  it('has a ConflictError sibling for adapters, named for itself and keeping its cause', () => {
    // Prepare
    const cause = new Error('ConditionalCheckFailedException');

    // Act
    const err = new ConflictError('Key abc already exists', { cause });

    // Assess
    expect(err).toMatchObject({ name: 'ConflictError', message: 'Key abc already exists', cause });
    expect(err).not.toBeInstanceOf(GatewayError);
  });
});
