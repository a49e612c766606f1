import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../../functions/core/errors.ts';
import {
  assertKeyUsable,
  assertModelAllowed,
  generateSecretKey,
  hashKey,
  keyCounter,
  maskKey,
  presentedKey,
} from '../../../../functions/core/governance/keys.ts';
import type { VirtualKey } from '../../../../functions/core/ports/keys.ts';
import { virtualKey as baseKey } from '../../../support/virtual-key.ts';

const virtualKey = (overrides: Partial<VirtualKey> = {}): VirtualKey =>
  baseKey({
    key_alias: 'laptop',
    user_id: 'alice',
    team_id: 'platform',
    created_at: '2026-01-31T10:00:00.000Z',
    ...overrides,
  });

/** Runs `fn` and returns what it threw, or undefined. */
const thrownBy = (fn: () => void): unknown => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err;
  }
};

describe('secret keys', () => {
  it('generates distinct keys: the sk-tg- prefix, the claude-gateway label, and 24 random bytes in base64url', () => {
    // Prepare
    const count = 50;

    // Act
    const keys = Array.from({ length: count }, generateSecretKey);

    // Assess
    expect(new Set(keys).size).toBe(count);
    for (const k of keys) {
      expect(k).toMatch(/^sk-tg-gw\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{32}$/);
      // What Claude Code reads from the key's middle part to treat it as a gateway's token.
      expect(JSON.parse(Buffer.from(k.split('.')[1] ?? '', 'base64url').toString())).toEqual({
        aud: 'claude-gateway',
      });
    }
  });

  it('hashes a key to its hex sha256', () => {
    // Prepare
    const secret = 'abc';

    // Act
    const hash = hashKey(secret);

    // Assess
    expect(hash).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('masks a key to its prefix and last four characters', () => {
    // Prepare
    const secret = 'sk-tg-abcdefghijklmnopqrstuvwxyz0123456789';

    // Act
    const masked = maskKey(secret);

    // Assess
    expect(masked).toBe('sk-tg-...6789');
  });
});

describe('presentedKey', () => {
  it.each([
    ['x-api-key (Claude Code)', { 'x-api-key': 'sk-tg-one' }, 'sk-tg-one'],
    ['Authorization: Bearer (OpenAI clients)', { authorization: 'Bearer sk-tg-two' }, 'sk-tg-two'],
    ['a lower-case bearer with extra spaces', { authorization: '  bearer   sk-tg-three  ' }, 'sk-tg-three'],
    ['x-api-key over Bearer', { 'x-api-key': 'sk-tg-one', authorization: 'Bearer sk-tg-two' }, 'sk-tg-one'],
    ['Bearer when x-api-key is blank', { 'x-api-key': '  ', authorization: 'Bearer sk-tg-two' }, 'sk-tg-two'],
  ])('takes the key from %s', (_, headers, expected) => {
    // Prepare
    const h = new Headers(headers);

    // Act
    const key = presentedKey(h);

    // Assess
    expect(key).toBe(expected);
  });

  it.each([
    ['no auth header', {}],
    ['Basic auth', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['a Bearer with nothing after it', { authorization: 'Bearer   ' }],
    ['a bare token', { authorization: 'sk-tg-one' }],
  ])('finds no key with %s', (_, headers) => {
    // Prepare
    const h = new Headers(headers);

    // Act
    const key = presentedKey(h);

    // Assess
    expect(key).toBeUndefined();
  });
});

describe('assertKeyUsable', () => {
  const now = new Date('2026-11-25T12:00:00.000Z');

  it('refuses a revoked key with 403, naming it by alias', () => {
    // Prepare
    const key = virtualKey({ blocked: true });

    // Act
    const err = thrownBy(() => assertKeyUsable(key, now));

    // Assess
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ status: 403, kind: 'permission', message: "Key 'laptop' has been revoked." });
  });

  it('refuses a key from the instant it expires, naming it by id when it has no alias', () => {
    // Prepare
    const key = virtualKey({ key_alias: null, expires_at: now.toISOString() });

    // Act
    const err = thrownBy(() => assertKeyUsable(key, now));

    // Assess
    expect(err).toMatchObject({
      status: 403,
      message: `Key 'aaaaaaaaaaaa' expired at ${now.toISOString()}.`,
    });
  });

  it('accepts a key that expires a millisecond later, or never', () => {
    // Prepare
    const soon = virtualKey({ expires_at: '2026-11-25T12:00:00.001Z' });
    const never = virtualKey();

    // Act
    const errors = [thrownBy(() => assertKeyUsable(soon, now)), thrownBy(() => assertKeyUsable(never, now))];

    // Assess
    expect(errors).toEqual([undefined, undefined]);
  });
});

describe('assertModelAllowed', () => {
  it.each([
    ['an empty list', [], 'gpt-5', 'gpt-5'],
    ['all-proxy-models', ['all-proxy-models'], 'o3', 'o3'],
    ['the requested name', ['claude-sonnet-4-20250514'], 'claude-sonnet-4-20250514', 'claude-sonnet-4'],
    [
      'the canonical name of a dated snapshot',
      ['claude-sonnet-4'],
      'claude-sonnet-4-20250514',
      'claude-sonnet-4',
    ],
  ])('allows a model through %s', (_, models, requested, canonical) => {
    // Prepare
    const key = virtualKey({ models });

    // Act
    const err = thrownBy(() => assertModelAllowed(key, requested, canonical));

    // Assess
    expect(err).toBeUndefined();
  });

  it('refuses any other model with 403 and lists what the key may use', () => {
    // Prepare
    const key = virtualKey({ models: ['claude-haiku-4-5', 'gpt-4.1-mini'] });

    // Act
    const err = thrownBy(() => assertModelAllowed(key, 'claude-opus-4-5', 'claude-opus-4-5'));

    // Assess
    expect(err).toMatchObject({
      status: 403,
      message: "Key 'laptop' may not use model 'claude-opus-4-5'. Allowed: claude-haiku-4-5, gpt-4.1-mini.",
    });
  });
});

describe('keyCounter', () => {
  const now = new Date('2026-11-25T12:00:00.000Z');

  it('meters a key without a budget in a lifetime counter with no limit', () => {
    // Prepare
    const key = virtualKey();

    // Act
    const counter = keyCounter(key, now);

    // Assess
    expect(counter).toEqual({
      scope: 'key',
      scope_id: 'aaaaaaaaaaaa',
      label: 'laptop',
      period: 'lifetime',
      starts_at: null,
      resets_at: null,
      limit_micros: null,
      mode: 'strict',
      soft_limit_micros: null,
    });
  });

  it('counts a monthly budget in the calendar month, resetting on the 1st', () => {
    // Prepare
    const key = virtualKey({ max_budget_micros: 50_000_000, budget_duration: 'monthly' });

    // Act
    const counter = keyCounter(key, now);

    // Assess
    expect(counter).toMatchObject({
      period: '2026-11',
      resets_at: '2026-12-01T00:00:00.000Z',
      limit_micros: 50_000_000,
    });
  });

  it('anchors a `1mo` budget at the key creation time and labels by key id without an alias', () => {
    // Prepare
    // created Jan 31 10:00; on Nov 25 the window began Oct 31 10:00 and ends Nov 30 10:00 (clamped)
    const key = virtualKey({ key_alias: null, max_budget_micros: 1_000_000, budget_duration: '1mo' });

    // Act
    const counter = keyCounter(key, now);

    // Assess
    expect(counter).toMatchObject({
      label: 'aaaaaaaaaaaa',
      period: 'w:2026-10-31T10:00:00.000Z',
      resets_at: '2026-11-30T10:00:00.000Z',
    });
  });
});

describe('keyCounter across a regenerated secret', () => {
  it('counts under the stable key_id, so a new secret for the same key keeps its spend', () => {
    // Prepare
    const now = new Date('2026-11-25T12:00:00.000Z');
    const original = virtualKey({ hash: 'a'.repeat(64), key_id: 'aaaaaaaaaaaa', budget_duration: 'monthly' });
    const regenerated = { ...original, hash: 'b'.repeat(64) };

    // Act
    const before = keyCounter(original, now);
    const after = keyCounter(regenerated, now);

    // Assess
    expect(after).toEqual(before);
    expect(after.scope_id).toBe('aaaaaaaaaaaa');
  });
});
