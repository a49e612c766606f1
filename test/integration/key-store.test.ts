import { randomUUID } from 'node:crypto';
import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoKeyStore } from '../../functions/adapters/aws/dynamo-key-store.ts';
import { ConflictError, NotFoundError } from '../../functions/core/errors.ts';
import type { KeyStore, VirtualKey } from '../../functions/core/ports/keys.ts';
import { DYNAMO_ENGINES, rejectionOf, startEngineTable } from '../support/dynamo-engines.ts';
import { virtualKey } from '../support/virtual-key.ts';

/**
 * The DynamoDB key store's record + lookup layout against dynalite and DynamoDB Local: updates, secret
 * rotation, deletion and listing, and that nothing half-written ever resolves.
 */
const TABLE = 'tollgate-key-store-test';

/** A key with a fresh hash and key_id, so tests sharing a table never share keys. */
const freshKey = (overrides: Partial<VirtualKey> = {}): VirtualKey => {
  const hash = randomUUID().replaceAll('-', '').padEnd(64, '0');
  return virtualKey({ hash, key_id: hash.slice(0, 12), key_alias: 'laptop', ...overrides });
};
const newHash = () => randomUUID().replaceAll('-', '').padEnd(64, '1');

describe.each(DYNAMO_ENGINES)('the DynamoDB key store on $name', (engine) => {
  let client: DynamoDBClient;
  let close: (() => Promise<void>) | undefined;
  let store: KeyStore;

  beforeAll(async () => {
    if (engine.skip) return;
    ({ client, close } = await startEngineTable(engine, TABLE));
    store = createDynamoKeyStore(client, TABLE);
  });
  afterAll(async () => {
    await close?.();
  });

  describe.skipIf(engine.skip)('records and lookups', () => {
    it('replaces a key in place', async () => {
      // Prepare
      const key = freshKey();
      await store.create(key);

      // Act
      await store.update({ ...key, models: ['gpt-4.1'], blocked: true, max_budget_micros: 7 });

      // Assess
      expect(await store.get(key.hash)).toEqual({
        ...key,
        models: ['gpt-4.1'],
        blocked: true,
        max_budget_micros: 7,
      });
    });

    it('moves a key to a new secret: the old hash stops resolving, the key_id stays, one key is listed', async () => {
      // Prepare
      const key = freshKey();
      await store.create(key);
      const rotated = { ...key, hash: newHash(), key_name: 'sk-tg-...new1' };

      // Act
      await store.update(rotated, key.hash);

      // Assess
      expect(await store.get(key.hash)).toBeUndefined();
      expect(await store.get(rotated.hash)).toEqual(rotated);
      expect((await store.list()).filter((k) => k.key_id === key.key_id)).toEqual([rotated]);
    });

    it('refuses a rotation from a secret that is no longer current, and the loser resolves to nothing', async () => {
      // Prepare
      const key = freshKey();
      await store.create(key);
      const winner = { ...key, hash: newHash() };
      const loser = { ...key, hash: newHash() };
      await store.update(winner, key.hash);

      // Act
      const err = await rejectionOf(store.update(loser, key.hash));
      const stale = await rejectionOf(store.update({ ...key, blocked: true }));

      // Assess
      expect(err).toBeInstanceOf(ConflictError);
      expect(stale).toBeInstanceOf(ConflictError);
      expect(await store.get(loser.hash)).toBeUndefined();
      expect(await store.get(winner.hash)).toEqual(winner);
    });

    it('answers NotFoundError for an update or a delete of a key that does not exist', async () => {
      // Prepare
      const ghost = freshKey();

      // Act
      const updated = await rejectionOf(store.update(ghost));
      const deleted = await rejectionOf(store.delete(ghost.key_id));

      // Assess
      expect(updated).toBeInstanceOf(NotFoundError);
      expect(deleted).toBeInstanceOf(NotFoundError);
      expect(await store.get(ghost.hash)).toBeUndefined();
    });

    it('deletes a key: its secret stops resolving and it leaves the list', async () => {
      // Prepare
      const key = freshKey();
      await store.create(key);

      // Act
      await store.delete(key.key_id);

      // Assess
      expect(await store.get(key.hash)).toBeUndefined();
      expect((await store.list()).map((k) => k.key_id)).not.toContain(key.key_id);
    });

    it('refuses a second key with the same key_id, and its secret resolves to nothing', async () => {
      // Prepare
      const first = freshKey();
      await store.create(first);
      const clash = freshKey({ key_id: first.key_id, key_alias: 'clash' });

      // Act
      const err = await rejectionOf(store.create(clash));

      // Assess
      expect(err).toBeInstanceOf(ConflictError);
      expect(await store.get(clash.hash)).toBeUndefined();
      expect(await store.get(first.hash)).toEqual(first);
    });

    it('ignores a lookup item left behind by an interrupted regenerate', async () => {
      // Prepare: the old secret's lookup written back, as if its cleanup had failed
      const key = freshKey();
      await store.create(key);
      await store.update({ ...key, hash: newHash() }, key.hash);
      await client.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { pk: { S: `KEY#${key.hash}` }, sk: { S: 'KEY' }, key_id: { S: key.key_id } },
        }),
      );

      // Act
      const found = await store.get(key.hash);

      // Assess
      expect(found).toBeUndefined();
    });

    it('lists every key across query pages', async () => {
      // Prepare: big metadata makes a few hundred keys span several 1 MB query pages
      const filler = 'x'.repeat(8_000);
      const keys = Array.from({ length: 300 }, () => freshKey({ metadata: { filler } }));
      await Promise.all(keys.map((key) => store.create(key)));

      // Act
      const listed = new Set((await store.list()).map((k) => k.key_id));

      // Assess
      expect(keys.every((k) => listed.has(k.key_id))).toBe(true);
    });
  });
});
