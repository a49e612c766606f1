import type { Clock, KeyStore, Team, TeamStore, VirtualKey } from '../ports.ts';

/**
 * Remembers what `load` found for `ttlMs`, so the hot path skips a DynamoDB read per request. A change
 * (a revoked key, a blocked team) therefore takes effect within `ttlMs`. Misses are not cached: a new
 * key or team works at once.
 */
export function ttlCache<T>(
  load: (id: string) => Promise<T | undefined>,
  ttlMs: number,
  clock: Clock,
): (id: string) => Promise<T | undefined> {
  if (ttlMs <= 0) return load;
  const cache = new Map<string, { value: T; until: number }>();
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

export function cachedKeyStore(store: KeyStore, ttlMs: number, clock: Clock): KeyStore {
  if (ttlMs <= 0) return store;
  const get = ttlCache<VirtualKey>((hash) => store.get(hash), ttlMs, clock);
  return { get, create: (key) => store.create(key) };
}

export function cachedTeamStore(store: TeamStore, ttlMs: number, clock: Clock): TeamStore {
  if (ttlMs <= 0) return store;
  const get = ttlCache<Team>((id) => store.get(id), ttlMs, clock);
  return { ...store, get };
}
