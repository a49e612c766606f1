/**
 * Rate windows counted in chunks, on both local DynamoDB engines: an instance admits most requests in
 * memory, never admits past a window's rpm (alone, or racing another instance), and refuses once the
 * window's tokens reach its tpm. Parallel slots held by instances: taken and given back in memory,
 * never more in flight than the limit across instances, spare ones given back, a dead holder's reclaimed.
 */
import { randomUUID } from 'node:crypto';
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoRateLimiter } from '../../functions/adapters/aws/dynamo-rate-limiter.ts';
import { silentLogger } from '../../functions/adapters/logger.ts';
import { GatewayError } from '../../functions/core/errors.ts';
import { createLeasedLimiter } from '../../functions/core/governance/leased-limiter.ts';
import type { Lease } from '../../functions/core/ports/budgets.ts';
import type { Clock } from '../../functions/core/ports/clock.ts';
import type {
  ParallelSlot,
  RateQuotaStore,
  RateWindow,
  SlotStore,
} from '../../functions/core/ports/rate-limits.ts';
import { DYNAMO_ENGINES, startEngineTable } from '../support/dynamo-engines.ts';

const TABLE = 'tollgate-limiter-test';
const clock = { now: () => new Date('2026-12-06T10:00:30Z') };

const windowOf = (rpm: number | null, tpm: number | null): RateWindow => ({
  scope: `key:${randomUUID()}`,
  window: '2026-12-06T10:00',
  resets_at: '2026-12-06T10:01:00.000Z',
  rpm,
  tpm,
});

async function outcome(admit: Promise<void>): Promise<'admitted' | 'refused'> {
  try {
    await admit;
    return 'admitted';
  } catch (err) {
    if (err instanceof GatewayError && err.status === 429) return 'refused';
    throw err;
  }
}

describe.each(DYNAMO_ENGINES)('rate windows in chunks on $name', (engine) => {
  let client: DynamoDBClient;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (engine.skip) return;
    ({ client, close } = await startEngineTable(engine, TABLE));
  });
  afterAll(async () => {
    await close?.();
  });

  function limiter() {
    const inner = createDynamoRateLimiter(client, TABLE, clock);
    let takes = 0;
    const store: RateQuotaStore = {
      takeRequests: (w, n) => {
        takes++;
        return inner.takeRequests(w, n);
      },
    };
    return {
      limiter: createLeasedLimiter({ inner, store, clock, log: silentLogger, flushMs: 5 }),
      takes: () => takes,
    };
  }

  it.skipIf(engine.skip)('admits exactly the rpm in a window, most of it without a write', async () => {
    const w = windowOf(80, null);
    const { limiter: l, takes } = limiter();

    const results = [];
    for (let i = 0; i < 80; i++) results.push(await outcome(l.admit(w)));
    const writes = takes();
    for (let i = 0; i < 20; i++) results.push(await outcome(l.admit(w)));

    expect(results.filter((r) => r === 'admitted')).toHaveLength(80);
    expect(results.slice(80).every((r) => r === 'refused')).toBe(true);
    expect(writes).toBeLessThanOrEqual(20);
  });

  it.skipIf(engine.skip)('never passes the rpm with two instances racing', async () => {
    const w = windowOf(40, null);
    const [a, b] = [limiter().limiter, limiter().limiter];

    const results = await Promise.all(
      Array.from({ length: 120 }, (_, i) => outcome((i % 2 ? a : b).admit(w))),
    );

    const admitted = results.filter((r) => r === 'admitted').length;
    expect(admitted).toBeLessThanOrEqual(40);
    expect(admitted).toBeGreaterThanOrEqual(30);
  });

  it.skipIf(engine.skip)("refuses once the window's finished tokens reach its tpm", async () => {
    const w = windowOf(null, 1_000);
    const { limiter: l } = limiter();
    await l.admit(w);

    await l.addTokens(w, 1_200);
    const next = await outcome(l.admit(w));

    expect(next).toBe('refused');
  });
});

describe.each(DYNAMO_ENGINES)('parallel slots held by instances on $name', (engine) => {
  let client: DynamoDBClient;
  let close: (() => Promise<void>) | undefined;
  const open: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    if (engine.skip) return;
    ({ client, close } = await startEngineTable(engine, TABLE));
  });
  afterAll(async () => {
    await Promise.all(open.map((l) => l.close()));
    await close?.();
  });

  const slotOf = (max: number): ParallelSlot => ({ scope: `key:${randomUUID()}`, max });
  const leaseOf = (): Lease => ({ id: randomUUID(), expires_at: new Date(clock.now().getTime() + 60_000) });

  /** An instance holding slots as `holder`; `writes` counts its slot store's writes. */
  function instance(options: { clock?: Clock; lingerMs?: number; ttlMs?: number } = {}) {
    const at = options.clock ?? clock;
    const inner = createDynamoRateLimiter(client, TABLE, at);
    let writes = 0;
    const counted: SlotStore = {
      takeSlots: (...args) => {
        writes++;
        return inner.takeSlots(...args);
      },
      returnSlots: (...args) => {
        writes++;
        return inner.returnSlots(...args);
      },
      dropSlots: (...args) => inner.dropSlots(...args),
    };
    const limiter = createLeasedLimiter({
      inner,
      store: inner,
      slots: counted,
      holder: `h-test-${randomUUID().slice(0, 8)}`,
      clock: at,
      log: silentLogger,
      flushMs: 5,
      slotLingerMs: options.lingerMs ?? 50,
      slotTtlMs: options.ttlMs ?? 10_000,
    });
    open.push(limiter);
    return { limiter, writes: () => writes };
  }

  async function inflight(slot: ParallelSlot): Promise<number> {
    const { Item } = await client.send(
      new GetItemCommand({
        TableName: TABLE,
        Key: { pk: { S: `PARALLEL#${slot.scope}` }, sk: { S: 'inflight' } },
        ConsistentRead: true,
      }),
    );
    return Number(Item?.inflight?.N ?? 0);
  }

  it.skipIf(engine.skip)('serves fifty requests in turn from its slots with a few writes', async () => {
    const slot = slotOf(10);
    const { limiter, writes } = instance({ lingerMs: 60_000 });

    for (let i = 0; i < 50; i++) {
      const lease = leaseOf();
      await limiter.acquire(slot, lease);
      await limiter.release(slot, lease.id);
    }

    expect(writes()).toBeLessThanOrEqual(3);
  });

  it.skipIf(engine.skip)('never has more in flight than the limit with three instances racing', async () => {
    const slot = slotOf(5);
    const instances = [instance(), instance(), instance()].map((i) => i.limiter);
    let now = 0;
    let most = 0;

    const results = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const limiter = instances[i % 3] as (typeof instances)[number];
        const lease = leaseOf();
        const admitted = await outcome(limiter.acquire(slot, lease));
        if (admitted === 'refused') return admitted;
        now++;
        most = Math.max(most, now);
        await new Promise((r) => setTimeout(r, 5 + (i % 4) * 5));
        now--;
        await limiter.release(slot, lease.id);
        return admitted;
      }),
    );
    await Promise.all(instances.map((l) => l.close()));

    expect(most).toBeLessThanOrEqual(5);
    expect(results.filter((r) => r === 'admitted').length).toBeGreaterThanOrEqual(5);
    expect(await inflight(slot)).toBe(0);
  });

  it.skipIf(engine.skip)(
    'gives spare slots back once they sat unused, so another instance can take them',
    async () => {
      const slot = slotOf(2);
      const a = instance({ lingerMs: 30 }).limiter;
      const b = instance({ lingerMs: 30 }).limiter;
      const first = leaseOf();
      await a.acquire(slot, first);
      await a.release(slot, first.id);

      await new Promise((r) => setTimeout(r, 200));
      const taken = [leaseOf(), leaseOf()];
      const results = await Promise.all(taken.map((lease) => outcome(b.acquire(slot, lease))));

      expect(results).toEqual(['admitted', 'admitted']);
    },
  );

  it.skipIf(engine.skip)("reclaims a dead instance's slots once its lease expires", async () => {
    const slot = slotOf(1);
    const dead = instance({ ttlMs: 1_000, lingerMs: 60_000 }).limiter;
    await dead.acquire(slot, leaseOf());
    const later = { now: () => new Date(clock.now().getTime() + 5_000) };
    const alive = instance({ clock: later }).limiter;

    const result = await outcome(alive.acquire(slot, leaseOf()));

    expect(result).toBe('admitted');
  });

  it.skipIf(engine.skip)('gives every slot back on a clean shutdown', async () => {
    const slot = slotOf(4);
    const { limiter } = instance({ lingerMs: 60_000 });
    const lease = leaseOf();
    await limiter.acquire(slot, lease);
    await limiter.release(slot, lease.id);
    const held = await inflight(slot);

    await limiter.close();

    expect(held).toBeGreaterThan(0);
    expect(await inflight(slot)).toBe(0);
  });
});
