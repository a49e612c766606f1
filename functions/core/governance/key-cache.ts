import type { Clock } from '../ports/clock.ts';
import type { DocumentStore } from '../ports/documents.ts';
import type { KeyStore, VirtualKey } from '../ports/keys.ts';

/**
 * Remembers what `load` found for `ttlMs`, so the hot path skips a DynamoDB read per request. A change
 * (a revoked key, a blocked team) therefore takes effect within `ttlMs`. Misses are not cached: a new
 * key or team works at once. Pass `cache` to be able to forget entries from outside.
 */
export function ttlCache<T>(
  load: (id: string) => Promise<T | undefined>,
  ttlMs: number,
  clock: Clock,
  cache = new Map<string, { value: T; until: number }>(),
): (id: string) => Promise<T | undefined> {
  if (ttlMs <= 0) return load;
  return async (id) => {
    const now = clock.now().getTime();
    const hit = cache.get(id);
    if (hit && hit.until > now) return hit.value;
    const value = await load(id);
    if (value === undefined) cache.delete(id);
    else cache.set(id, { value, until: now + ttlMs });
    return value;
  };
}

/**
 * Caches `get` only; writes go to the store. A process that writes through the cache forgets what it
 * remembered of that key (the local runtime, where proxy and admin API share one process); other
 * processes (the proxy Lambdas on AWS) see a change within `ttlMs`.
 */
export function cachedKeyStore(store: KeyStore, ttlMs: number, clock: Clock): KeyStore {
  if (ttlMs <= 0) return store;
  const remembered = new Map<string, { value: VirtualKey; until: number }>();
  // By key_id: the key a self-issued key was issued from, read on each of its requests.
  const rememberedById = new Map<string, { value: VirtualKey; until: number }>();
  const forget = (key_id: string) => {
    for (const [hash, hit] of remembered) if (hit.value.key_id === key_id) remembered.delete(hash);
    rememberedById.delete(key_id);
  };
  return {
    get: ttlCache<VirtualKey>((hash) => store.get(hash), ttlMs, clock, remembered),
    getById: ttlCache<VirtualKey>((key_id) => store.getById(key_id), ttlMs, clock, rememberedById),
    create: (key) => store.create(key),
    async update(key, previousHash) {
      try {
        await store.update(key, previousHash);
      } finally {
        forget(key.key_id);
      }
    },
    async delete(key_id) {
      try {
        await store.delete(key_id);
      } finally {
        forget(key_id);
      }
    },
    list: () => store.list(),
  };
}

/**
 * Caches `get` of teams or users for the proxy, misses included: most keys name a `user_id` that has
 * no user record, and that absence should not cost a read per request either. A blocked team, a new
 * person or a changed budget applies within `ttlMs`; in a process that writes through this store
 * (the local runtime), at once.
 */
export function cachedDocumentStore<T>(
  store: DocumentStore<T>,
  ttlMs: number,
  clock: Clock,
): DocumentStore<T> {
  if (ttlMs <= 0) return store;
  const remembered = new Map<string, { value: { doc: T | undefined }; until: number }>();
  const cached = ttlCache(async (id: string) => ({ doc: await store.get(id) }), ttlMs, clock, remembered);
  const forgetting =
    <A>(write: (arg: A) => Promise<void>, idOf: (arg: A) => string) =>
    async (arg: A) => {
      try {
        await write(arg);
      } finally {
        remembered.delete(idOf(arg));
      }
    };
  return {
    idOf: (doc) => store.idOf(doc),
    get: async (id) => (await cached(id))?.doc,
    create: forgetting(
      (doc: T) => store.create(doc),
      (doc) => store.idOf(doc),
    ),
    update: forgetting(
      (doc: T) => store.update(doc),
      (doc) => store.idOf(doc),
    ),
    delete: forgetting(
      (id: string) => store.delete(id),
      (id) => id,
    ),
    list: () => store.list(),
  };
}
