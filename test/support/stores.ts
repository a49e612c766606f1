import type { KeyStore, RateLimiter, TeamStore, VirtualKey } from '../../functions/core/ports.ts';

/** A team store with no teams, for pipeline tests whose keys belong to none. */
export const noTeams: TeamStore = {
  get: async () => undefined,
  create: async () => {},
  update: async () => {},
  delete: async () => {},
  list: async () => [],
};

/** An in-memory key store holding `keys`, for tests and benchmarks that need a key without DynamoDB. */
export function keysOf(...keys: VirtualKey[]): KeyStore {
  const byId = new Map(keys.map((k) => [k.key_id, k]));
  return {
    get: async (hash) => [...byId.values()].find((k) => k.hash === hash),
    create: async (key) => void byId.set(key.key_id, key),
    update: async (key) => void byId.set(key.key_id, key),
    delete: async (key_id) => void byId.delete(key_id),
    list: async () => [...byId.values()],
  };
}

/** A rate limiter that admits everything, for pipeline tests about something else. */
export const noLimits: RateLimiter = { admit: async () => {}, addTokens: async () => {} };
