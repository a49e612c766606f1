import type { Clock } from '../ports/clock.ts';
import type { RuleStore } from '../ports/documents.ts';
import type { Logger } from '../ports/logging.ts';
import type { RoutingRule } from './rules.ts';

/**
 * Every rule in force: those from config, then those saved through the admin API, fetched at most
 * once per `ttlMs` (one Query of a small partition) so the hot path does not read them per request.
 *
 * The returned store forgets the cached list when it writes: in the local runtime, where the admin API
 * and the proxy share a process, a saved rule applies at once; on AWS, within `ttlMs`. A fetch that
 * was under way when a write happened is not kept. If the store cannot be read, requests keep the last
 * list read (or the config rules) rather than fail: routing is never a reason to refuse a request.
 */
export function ruleSource(
  configRules: RoutingRule[],
  store: RuleStore,
  options: { ttlMs: number; clock: Clock; log: Logger },
): { list(): Promise<RoutingRule[]>; store: RuleStore } {
  let cached: { rules: RoutingRule[]; until: number } | undefined;
  let lastGood = configRules;
  let generation = 0;

  async function list(): Promise<RoutingRule[]> {
    const now = options.clock.now().getTime();
    if (cached && cached.until > now) return cached.rules;
    const fetching = generation;
    try {
      const rules = [...configRules, ...(await store.list()).filter((r) => !r.invalid)];
      lastGood = rules;
      if (fetching === generation && options.ttlMs > 0) cached = { rules, until: now + options.ttlMs };
      return rules;
    } catch (err) {
      options.log.error('routing.rules_unavailable', { error: String(err) });
      return lastGood;
    }
  }

  const forgetting =
    <A>(write: (arg: A) => Promise<void>) =>
    async (arg: A) => {
      try {
        await write(arg);
      } finally {
        generation++;
        cached = undefined;
      }
    };
  return {
    list,
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
