import type { Clock, KeyStore, VirtualKey } from '../ports.ts';

/**
 * Keeps found keys in memory for `ttlMs`, so the hot path skips a DynamoDB read per request. A revoked
 * key therefore stops working within `ttlMs`. Misses are not cached: a new key works at once.
 */
export function cachedKeyStore(store: KeyStore, ttlMs: number, clock: Clock): KeyStore {
  if (ttlMs <= 0) return store;
  const cache = new Map<string, { key: VirtualKey; until: number }>();
  return {
    async get(hash) {
      const now = clock.now().getTime();
      const hit = cache.get(hash);
      if (hit && hit.until > now) return hit.key;
      const key = await store.get(hash);
      if (key) cache.set(hash, { key, until: now + ttlMs });
      else cache.delete(hash);
      return key;
    },
    async create(key) {
      await store.create(key);
    },
  };
}
