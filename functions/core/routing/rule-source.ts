import { ttlCache } from '../governance/key-cache.ts';
import type { Clock, RuleStore } from '../ports.ts';
import type { RoutingRule } from './rules.ts';

/**
 * Every rule in force: those from config, then those saved through the admin API, fetched at most
 * once per `ttlMs` (one Query of a small partition) so the hot path does not read them per request.
 * The returned store forgets the cached list when it writes: in the local runtime, where the admin API
 * and the proxy share a process, a saved rule applies at once; on AWS, within `ttlMs`.
 */
export function ruleSource(
  configRules: RoutingRule[],
  store: RuleStore,
  ttlMs: number,
  clock: Clock,
): { list(): Promise<RoutingRule[]>; store: RuleStore } {
  const remembered = new Map<string, { value: RoutingRule[]; until: number }>();
  const load = async () => [...configRules, ...(await store.list())];
  const cached = ttlCache(load, ttlMs, clock, remembered);
  const forgetting =
    <A>(write: (arg: A) => Promise<void>) =>
    async (arg: A) => {
      try {
        await write(arg);
      } finally {
        remembered.clear();
      }
    };
  return {
    list: async () => (await cached('rules')) ?? [],
    store: {
      idOf: (rule) => store.idOf(rule),
      get: (id) => store.get(id),
      list: () => store.list(),
      create: forgetting((rule: RoutingRule) => store.create(rule)),
      update: forgetting((rule: RoutingRule) => store.update(rule)),
      delete: forgetting((id: string) => store.delete(id)),
    },
  };
}
