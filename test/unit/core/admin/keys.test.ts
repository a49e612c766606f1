import { describe, expect, it } from 'vitest';
import { findRoute } from '../../../../functions/core/admin/api.ts';
import {
  applyKeyChanges,
  DeleteKeysSchema,
  GenerateKeySchema,
  generateKey,
  hashOfRef,
  ListKeysQuerySchema,
  pageOfKeys,
  showRef,
  UpdateKeySchema,
  withSecret,
} from '../../../../functions/core/admin/keys.ts';
import { ConflictError } from '../../../../functions/core/errors.ts';
import { hashKey } from '../../../../functions/core/governance/keys.ts';
import type { KeyStore, VirtualKey } from '../../../../functions/core/ports/keys.ts';
import { keysOf } from '../../../support/stores.ts';
import { virtualKey } from '../../../support/virtual-key.ts';

const now = new Date('2026-11-25T12:00:00.000Z');
const key = virtualKey({
  key_alias: 'laptop',
  user_id: 'alice',
  team_id: 'platform',
  models: ['gpt-4.1'],
  max_budget_micros: 5_000_000,
  budget_duration: 'monthly',
  tags: ['cli'],
  metadata: { seat: 1 },
});

describe('applyKeyChanges', () => {
  it('changes only the fields given and keeps the identity', () => {
    // Prepare
    const input = UpdateKeySchema.parse({ key: 'sk-tg-x', models: ['gpt-4.1', 'o3'], max_budget: 2.5 });

    // Act
    const updated = applyKeyChanges(key, input, now);

    // Assess
    expect(updated).toEqual({ ...key, models: ['gpt-4.1', 'o3'], max_budget_micros: 2_500_000 });
  });

  it('clears a budget, an alias and a team given as null', () => {
    // Prepare
    const input = UpdateKeySchema.parse({ key: 'k', max_budget: null, key_alias: null, team_id: null });

    // Act
    const updated = applyKeyChanges(key, input, now);

    // Assess
    expect(updated).toMatchObject({ max_budget_micros: null, key_alias: null, team_id: null });
  });

  it('restarts the lifetime from now with a duration, and removes it with null', () => {
    // Prepare
    const expiring = UpdateKeySchema.parse({ key: 'k', duration: '7d' });
    const forever = UpdateKeySchema.parse({ key: 'k', duration: null });

    // Act
    const renewed = applyKeyChanges(key, expiring, now);
    const unlimited = applyKeyChanges({ ...key, expires_at: '2026-12-01T00:00:00.000Z' }, forever, now);

    // Assess
    expect(renewed.expires_at).toBe('2026-12-02T12:00:00.000Z');
    expect(unlimited.expires_at).toBeNull();
  });
});

describe('key request bodies', () => {
  it.each([
    ['a negative budget', { key: 'k', max_budget: -1 }, /max_budget/],
    ['a budget in text', { key: 'k', max_budget: '5' }, /max_budget/],
    ['a budget past a billion dollars', { key: 'k', max_budget: 2e9 }, /max_budget/],
    ['an empty key', { key: '' }, /key/],
    ['an unknown billing type', { key: 'k', billing_type: 'free' }, /billing_type/],
    ['a duration that is not one', { key: 'k', budget_duration: 'fortnightly' }, /budget_duration/],
  ])('rejects %s in an update', (_name, body, path) => {
    // Act
    const parsed = UpdateKeySchema.safeParse(body);

    // Assess
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.')).join(' ')).toMatch(path);
  });

  it('accepts LiteLLM fields it does not enforce, as generate does', () => {
    // Act
    const parsed = UpdateKeySchema.safeParse({ key: 'k', tpm_limit: 1000, rpm_limit: 10 });

    // Assess
    expect(parsed.success).toBe(true);
  });

  it('needs keys or key_aliases to delete, each a non-empty list', () => {
    // Act
    const results = [{}, { keys: [] }, { key_aliases: [''] }, { keys: ['a'] }, { key_aliases: ['b'] }].map(
      (body) => DeleteKeysSchema.safeParse(body).success,
    );

    // Assess
    expect(results).toEqual([false, false, false, true, true]);
  });
});

describe('key references', () => {
  it('hashes a secret and takes anything else as the token', () => {
    // Act
    const fromSecret = hashOfRef('sk-tg-abc');
    const fromToken = hashOfRef('f'.repeat(64));

    // Assess
    expect(fromSecret).toBe(hashKey('sk-tg-abc'));
    expect(fromToken).toBe('f'.repeat(64));
  });

  it('shows a secret only masked in messages', () => {
    // Act
    const shown = showRef('sk-tg-supersecretvalue9876');

    // Assess
    expect(shown).toBe('sk-tg-...9876');
  });

  it('gives a regenerated key a new hash and mask under the same key_id', () => {
    // Act
    const regenerated = withSecret(key, 'sk-tg-brandnewsecret4321');

    // Assess
    expect(regenerated).toEqual({
      ...key,
      hash: hashKey('sk-tg-brandnewsecret4321'),
      key_name: 'sk-tg-...4321',
    });
  });
});

describe('generateKey', () => {
  it('draws again when the store reports a key_id clash', async () => {
    // Prepare
    const memory = keysOf();
    let attempts = 0;
    const store: KeyStore = {
      ...memory,
      async create(k) {
        attempts += 1;
        if (attempts === 1) throw new ConflictError('taken');
        await memory.create(k);
      },
    };

    // Act
    const { secret, key: created } = await generateKey(store, GenerateKeySchema.parse({}), now);

    // Assess
    expect(attempts).toBe(2);
    expect(created.key_id).toBe(hashKey(secret).slice(0, 12));
    expect(await memory.get(hashKey(secret))).toEqual(created);
  });
});

describe('pageOfKeys', () => {
  const at = (i: number, overrides: Partial<VirtualKey> = {}) =>
    virtualKey({
      hash: String(i).repeat(64).slice(0, 64),
      key_id: `id-${i}`,
      created_at: `2026-11-0${i}T00:00:00.000Z`,
      ...overrides,
    });
  const keys = [
    at(1, { user_id: 'ann' }),
    at(2, { user_id: 'bob', team_id: 't' }),
    at(3, { user_id: 'ann', key_alias: 'ci' }),
    at(4, { user_id: 'ann', team_id: 't' }),
  ];
  const query = (q: Record<string, string> = {}) => ListKeysQuerySchema.parse(q);

  it('pages the newest first with counts in LiteLLM’s shape', () => {
    // Act
    const first = pageOfKeys(keys, query({ size: '3' }));
    const second = pageOfKeys(keys, query({ size: '3', page: '2' }));

    // Assess
    expect(first.keys.map((k) => k.key_id)).toEqual(['id-4', 'id-3', 'id-2']);
    expect(second).toEqual({ keys: [keys[0]], total_count: 4, current_page: 2, total_pages: 2 });
  });

  it('filters by user, team and alias together', () => {
    // Act
    const ann = pageOfKeys(keys, query({ user_id: 'ann' }));
    const annInTeam = pageOfKeys(keys, query({ user_id: 'ann', team_id: 't' }));
    const ci = pageOfKeys(keys, query({ key_alias: 'ci' }));
    const nobody = pageOfKeys(keys, query({ user_id: 'zed' }));

    // Assess
    expect(ann.total_count).toBe(3);
    expect(annInTeam.keys.map((k) => k.key_id)).toEqual(['id-4']);
    expect(ci.keys.map((k) => k.key_id)).toEqual(['id-3']);
    expect(nobody).toEqual({ keys: [], total_count: 0, current_page: 1, total_pages: 0 });
  });

  it('defaults to page 1 of 10 and refuses pages and sizes out of range', () => {
    // Act
    const defaults = ListKeysQuerySchema.parse({});
    const refused = [{ page: '0' }, { size: '0' }, { size: '101' }, { page: '1.5' }, { page: 'x' }].map(
      (q) => ListKeysQuerySchema.safeParse(q).success,
    );

    // Assess
    expect(defaults).toMatchObject({ page: 1, size: 10 });
    expect(refused).toEqual([false, false, false, false, false]);
  });
});

describe('findRoute', () => {
  const routes = {
    'POST /key/regenerate': 'body',
    'POST /key/{key}/regenerate': 'path',
    'GET /key/list': 'list',
  };

  it('prefers an exact path and fills one {param} segment otherwise', () => {
    // Act
    const found = [
      findRoute(routes, 'POST', '/key/regenerate'),
      findRoute(routes, 'POST', '/key/sk-tg-abc/regenerate'),
      findRoute(routes, 'GET', '/key/list'),
    ];

    // Assess
    expect(found).toEqual(['body', 'path', 'list']);
  });

  it('matches neither another method nor another number of segments', () => {
    // Act
    const found = [
      findRoute(routes, 'GET', '/key/sk-tg-abc/regenerate'),
      findRoute(routes, 'POST', '/key/a/b/regenerate'),
      findRoute(routes, 'POST', '/key/abc/rotate'),
    ];

    // Assess
    expect(found).toEqual([undefined, undefined, undefined]);
  });
});
