import { describe, expect, it } from 'vitest';
import { cachedDocumentStore, cachedKeyStore } from '../../../../functions/core/governance/key-cache.ts';
import type { Clock } from '../../../../functions/core/ports/clock.ts';
import type { DocumentStore } from '../../../../functions/core/ports/documents.ts';
import type { KeyStore, VirtualKey } from '../../../../functions/core/ports/keys.ts';
import { virtualKey as baseKey } from '../../../support/virtual-key.ts';

const virtualKey = (hash: string, overrides: Partial<VirtualKey> = {}): VirtualKey =>
  baseKey({ hash, ...overrides });

/** An in-memory KeyStore (the port, not our code) that counts reads, and a clock the test moves. */
function memoryStore() {
  const keys = new Map<string, VirtualKey>();
  let reads = 0;
  const store: KeyStore = {
    async get(hash) {
      reads += 1;
      return keys.get(hash);
    },
    async getById(key_id) {
      reads += 1;
      return [...keys.values()].find((k) => k.key_id === key_id);
    },
    async create(key) {
      keys.set(key.hash, key);
    },
    async update(key, previousHash) {
      if (previousHash) keys.delete(previousHash);
      keys.set(key.hash, key);
    },
    async delete(key_id) {
      for (const [hash, key] of keys) if (key.key_id === key_id) keys.delete(hash);
    },
    list: async () => [...keys.values()],
  };
  return { store, keys, reads: () => reads };
}
function manualClock(startMs: number) {
  let now = startMs;
  const clock: Clock = { now: () => new Date(now) };
  return { clock, advance: (ms: number) => (now += ms) };
}

describe('cachedKeyStore', () => {
  it('answers repeated lookups within the TTL from memory', async () => {
    // Prepare
    const backing = memoryStore();
    backing.keys.set('h1', virtualKey('h1'));
    const { clock, advance } = manualClock(1_000_000);
    const cached = cachedKeyStore(backing.store, 5_000, clock);

    // Act
    await cached.get('h1');
    advance(4_999);
    const second = await cached.get('h1');

    // Assess
    expect(second?.hash).toBe('h1');
    expect(backing.reads()).toBe(1);
  });

  it('sees a revocation once the TTL has passed', async () => {
    // Prepare
    const backing = memoryStore();
    backing.keys.set('h1', virtualKey('h1'));
    const { clock, advance } = manualClock(1_000_000);
    const cached = cachedKeyStore(backing.store, 5_000, clock);
    await cached.get('h1');
    backing.keys.set('h1', virtualKey('h1', { blocked: true }));

    // Act
    advance(4_999);
    const stale = await cached.get('h1');
    advance(1);
    const fresh = await cached.get('h1');

    // Assess
    expect(stale?.blocked).toBe(false);
    expect(fresh?.blocked).toBe(true);
    expect(backing.reads()).toBe(2);
  });

  it('does not remember a miss, so a new key works at once', async () => {
    // Prepare
    const backing = memoryStore();
    const { clock } = manualClock(1_000_000);
    const cached = cachedKeyStore(backing.store, 60_000, clock);
    const before = await cached.get('new');

    // Act
    await cached.create(virtualKey('new'));
    const after = await cached.get('new');

    // Assess
    expect(before).toBeUndefined();
    expect(after?.hash).toBe('new');
  });

  it('forgets a cached key that has since been deleted', async () => {
    // Prepare
    const backing = memoryStore();
    backing.keys.set('h1', virtualKey('h1'));
    const { clock, advance } = manualClock(1_000_000);
    const cached = cachedKeyStore(backing.store, 1_000, clock);
    await cached.get('h1');
    backing.keys.delete('h1');

    // Act
    advance(1_000);
    const gone = await cached.get('h1');

    // Assess
    expect(gone).toBeUndefined();
  });

  it('forgets a key it updates itself, so the next lookup sees the change at once', async () => {
    // Prepare
    const backing = memoryStore();
    backing.keys.set('h1', virtualKey('h1'));
    const { clock } = manualClock(1_000_000);
    const cached = cachedKeyStore(backing.store, 60_000, clock);
    await cached.get('h1');

    // Act
    await cached.update(virtualKey('h1', { blocked: true }));
    const after = await cached.get('h1');

    // Assess
    expect(after?.blocked).toBe(true);
    expect(backing.reads()).toBe(2);
  });

  it('stops answering for a regenerated or deleted secret it wrote itself, within the TTL', async () => {
    // Prepare
    const backing = memoryStore();
    backing.keys.set('old', virtualKey('old', { key_id: 'k1' }));
    backing.keys.set('h2', virtualKey('h2', { key_id: 'k2' }));
    const { clock } = manualClock(1_000_000);
    const cached = cachedKeyStore(backing.store, 60_000, clock);
    await cached.get('old');
    await cached.get('h2');

    // Act
    await cached.update(virtualKey('new', { key_id: 'k1' }), 'old');
    await cached.delete('k2');

    // Assess
    expect(await cached.get('old')).toBeUndefined();
    expect((await cached.get('new'))?.key_id).toBe('k1');
    expect(await cached.get('h2')).toBeUndefined();
  });

  it('caches a lookup by key_id within the TTL, and forgets it when that key is written or deleted through it', async () => {
    // Prepare: the key a self-issued key was issued from, read on each of its requests.
    const backing = memoryStore();
    backing.keys.set('h1', virtualKey('h1', { key_id: 'k1', max_budget_micros: 2_000 }));
    const { clock, advance } = manualClock(1_000_000);
    const cached = cachedKeyStore(backing.store, 5_000, clock);
    await cached.getById('k1');
    advance(4_999);
    const remembered = await cached.getById('k1');
    const readsWithinTtl = backing.reads();

    // Act
    await cached.update(virtualKey('h1', { key_id: 'k1', max_budget_micros: 500 }));
    const lowered = await cached.getById('k1');
    await cached.delete('k1');
    const deleted = await cached.getById('k1');

    // Assess
    expect(remembered?.max_budget_micros).toBe(2_000);
    expect(readsWithinTtl).toBe(1);
    expect(lowered?.max_budget_micros).toBe(500);
    expect(deleted).toBeUndefined();
  });

  it('is the store itself when the TTL is zero', () => {
    // Prepare
    const backing = memoryStore();
    const { clock } = manualClock(0);

    // Act
    const cached = cachedKeyStore(backing.store, 0, clock);

    // Assess
    expect(cached).toBe(backing.store);
  });
});

describe('cachedDocumentStore', () => {
  function memoryDocs() {
    const docs = new Map<string, { id: string; budget: number }>();
    let reads = 0;
    const store: DocumentStore<{ id: string; budget: number }> = {
      idOf: (d) => d.id,
      async get(id) {
        reads += 1;
        return docs.get(id);
      },
      create: async (d) => void docs.set(d.id, d),
      update: async (d) => void docs.set(d.id, d),
      delete: async (id) => void docs.delete(id),
      list: async () => [...docs.values()],
    };
    return { store, reads: () => reads };
  }

  it('remembers that a person has no record, so a key naming them costs no read per request', async () => {
    // Prepare
    const { store, reads } = memoryDocs();
    const { clock } = manualClock(0);
    const cached = cachedDocumentStore(store, 5_000, clock);

    // Act
    const answers = [await cached.get('nobody'), await cached.get('nobody'), await cached.get('nobody')];

    // Assess
    expect(answers).toEqual([undefined, undefined, undefined]);
    expect(reads()).toBe(1);
  });

  it('forgets what it remembered of a document written through it, and sees others after the TTL', async () => {
    // Prepare
    const { store } = memoryDocs();
    const { clock, advance } = manualClock(0);
    const cached = cachedDocumentStore(store, 5_000, clock);
    await cached.get('ada');

    // Act
    await cached.create({ id: 'ada', budget: 5 });
    const throughCache = await cached.get('ada');
    await store.update({ id: 'ada', budget: 9 });
    const stale = await cached.get('ada');
    advance(5_001);
    const fresh = await cached.get('ada');

    // Assess
    expect([throughCache?.budget, stale?.budget, fresh?.budget]).toEqual([5, 5, 9]);
  });
});
