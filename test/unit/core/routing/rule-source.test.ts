import { describe, expect, it } from 'vitest';
import type { RuleStore } from '../../../../functions/core/ports/documents.ts';
import type { Logger } from '../../../../functions/core/ports/logging.ts';
import { ruleSource } from '../../../../functions/core/routing/rule-source.ts';
import type { RoutingRule } from '../../../../functions/core/routing/rules.ts';

const ruleNamed = (id: string): RoutingRule => ({
  id,
  name: id,
  scope: 'global',
  priority: 100,
  condition: 'true',
  targets: [{ model: 'claude-haiku-4-5', provider: null, weight: 1 }],
  fallbacks: [],
  source: id.startsWith('config') ? 'config' : 'api',
  created_at: '2026-12-01T00:00:00.000Z',
});

/** A store whose list() is counted, can be made to fail, and can be held open until released. */
function fakeStore(initial: RoutingRule[]) {
  let saved = [...initial];
  let failing = false;
  let gate: Promise<void> | undefined;
  const state = { lists: 0 };
  const store: RuleStore = {
    idOf: (r) => r.id,
    get: async (id) => saved.find((r) => r.id === id),
    list: async () => {
      state.lists++;
      const snapshot = [...saved];
      await gate;
      if (failing) throw new Error('ProvisionedThroughputExceededException');
      return snapshot;
    },
    create: async (r) => void saved.push(r),
    update: async () => {},
    delete: async (id) => {
      saved = saved.filter((r) => r.id !== id);
    },
  };
  return {
    store,
    state,
    fail: (on: boolean) => {
      failing = on;
    },
    hold: () => {
      let open = () => {};
      gate = new Promise<void>((resolve) => (open = resolve));
      return () => {
        gate = undefined;
        open();
      };
    },
  };
}

function logger() {
  const errors: string[] = [];
  const log: Logger = {
    debug: () => {},
    info: () => {},
    warn: () => {},
    error: (event) => void errors.push(event),
  };
  return { log, errors };
}

describe('the rule source', () => {
  it('reads the store at most once per TTL, config rules first', async () => {
    // Prepare
    let now = 0;
    const fake = fakeStore([ruleNamed('saved')]);
    const source = ruleSource([ruleNamed('config-1')], fake.store, {
      ttlMs: 1_000,
      clock: { now: () => new Date(now) },
      log: logger().log,
    });

    // Act
    const first = await source.list();
    await source.list();
    now = 1_500;
    await source.list();

    // Assess
    expect(first.map((r) => r.id)).toEqual(['config-1', 'saved']);
    expect(fake.state.lists).toBe(2);
  });

  it('applies a write through it at once, even when a read was under way', async () => {
    // Prepare
    const fake = fakeStore([]);
    const source = ruleSource([], fake.store, {
      ttlMs: 60_000,
      clock: { now: () => new Date(0) },
      log: logger().log,
    });
    const release = fake.hold();
    const stale = source.list();

    // Act: a rule is saved while the read that began before it is still out.
    await source.store.create(ruleNamed('new'));
    release();
    const during = await stale;
    const after = await source.list();

    // Assess: the old read answers its own caller, but is not kept.
    expect(during.map((r) => r.id)).toEqual([]);
    expect(after.map((r) => r.id)).toEqual(['new']);
  });

  it('keeps serving the last rules it read when the store cannot be read', async () => {
    // Prepare
    const fake = fakeStore([ruleNamed('saved')]);
    const { log, errors } = logger();
    const source = ruleSource([ruleNamed('config-1')], fake.store, {
      ttlMs: 0,
      clock: { now: () => new Date(0) },
      log,
    });
    await source.list();

    // Act
    fake.fail(true);
    const during = await source.list();

    // Assess
    expect(during.map((r) => r.id)).toEqual(['config-1', 'saved']);
    expect(errors).toEqual(['routing.rules_unavailable']);
  });
});
