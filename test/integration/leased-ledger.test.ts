/**
 * Budget leases on both local DynamoDB engines: slices sized from what is left, requests admitted in
 * memory, batches applied once, a counter near its limit served per request, a dead holder's slice
 * reclaimed, slices given back on shutdown — and strict caps exact with several holders, and with the
 * per-request ledger of an older deployment on the same counters (an upgrade in place).
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoBudgetLedger } from '../../functions/adapters/aws/dynamo-budget-ledger.ts';
import { createDynamoSliceStore } from '../../functions/adapters/aws/dynamo-slice-store.ts';
import { silentLogger } from '../../functions/adapters/logger.ts';
import { BudgetExceededError } from '../../functions/core/errors.ts';
import { createLeasedLedger, type LeasedLedger } from '../../functions/core/governance/leased-ledger.ts';
import type { BudgetCounter, BudgetLedger, Claim } from '../../functions/core/ports/budgets.ts';
import type { SliceStore } from '../../functions/core/ports/slices.ts';
import { DYNAMO_ENGINES, startEngineTable } from '../support/dynamo-engines.ts';

const TABLE = 'tollgate-leases-test';

function counter(limit: number | null): BudgetCounter {
  return {
    scope: 'key',
    scope_id: randomUUID(),
    label: 'leased',
    period: 'lifetime',
    starts_at: null,
    resets_at: null,
    limit_micros: limit,
    mode: 'strict',
    soft_limit_micros: null,
  };
}

const claim = (c: BudgetCounter, amount: number): Claim => ({
  counter: c,
  amount_micros: amount,
  worst_micros: amount,
  ceiling_micros: null,
});

/** A slice store that counts its writes, so a test can tell which requests needed one. */
function counting(store: SliceStore) {
  const writes = { grow: 0, flush: 0, release: 0 };
  const counted: SliceStore = {
    grow: (...args) => {
      writes.grow++;
      return store.grow(...args);
    },
    flush: (...args) => {
      writes.flush++;
      return store.flush(...args);
    },
    release: (...args) => {
      writes.release++;
      return store.release(...args);
    },
    read: (...args) => store.read(...args),
  };
  return { counted, writes };
}

describe.each(DYNAMO_ENGINES)('budget leases on $name', (engine) => {
  let client: DynamoDBClient;
  let close: (() => Promise<void>) | undefined;
  let now = new Date('2026-12-06T10:00:00Z');
  const clock = { now: () => now };
  let perRequest: BudgetLedger;
  const ledgers: LeasedLedger[] = [];

  function leased(holder: string, store?: SliceStore): LeasedLedger {
    const ledger = createLeasedLedger({
      store: store ?? createDynamoSliceStore(client, TABLE, clock),
      perRequest,
      holder,
      clock,
      log: silentLogger,
      flushMs: 5,
    });
    ledgers.push(ledger);
    return ledger;
  }
  const lease = () => ({ id: randomUUID(), expires_at: new Date(now.getTime() + 600_000) });

  beforeAll(async () => {
    if (engine.skip) return;
    ({ client, close } = await startEngineTable(engine, TABLE));
    perRequest = createDynamoBudgetLedger(client, TABLE, clock);
  });
  afterAll(async () => {
    for (const l of ledgers) await l.close().catch(() => undefined);
    await close?.();
  });

  it.skipIf(engine.skip)(
    'takes one slice of a roomy budget and admits the next requests in memory',
    async () => {
      // Prepare: $1,000 strict; each request's worst case is $0.10, its cost $0.04.
      const budget = counter(1_000_000_000);
      const { counted, writes } = counting(createDynamoSliceStore(client, TABLE, clock));
      const ledger = leased('h-sizing', counted);

      // Act
      const reservations = [];
      for (let i = 0; i < 50; i++) reservations.push(await ledger.reserve([claim(budget, 100_000)], lease()));
      await Promise.all(reservations.map((r) => ledger.settle(r, 40_000)));

      // Assess: one grow of a $25 slice (the cap) served all fifty; their settlements went in few batches.
      expect(reservations.every((r) => r.via === 'slice')).toBe(true);
      expect(writes.grow).toBe(1);
      expect(writes.flush).toBeLessThanOrEqual(3);
      const state = await counted.read(budget, 'h-sizing');
      expect(state.held).toEqual({ a: 25_000_000 - 50 * 40_000, w: 25_000_000 - 50 * 40_000 });
      expect(await ledger.read(budget)).toEqual({
        spent_micros: 2_000_000,
        committed_micros: 2_000_000,
        worst_committed_micros: 2_000_000,
      });
    },
  );

  it.skipIf(engine.skip)(
    'writes no settlement before its outcome is journaled, in the batch it was given at once',
    async () => {
      // Prepare: a slice-held request and a per-request one, each settled with a journal line pending.
      const budget = counter(1_000_000_000);
      const ledger = leased('h-after');
      const sliced = await ledger.reserve([claim(budget, 100_000)], lease());
      const single = counter(1_000_000);
      const direct = await perRequest.reserve([claim(single, 100_000)], lease());
      let journaled = () => {};
      const after = new Promise<void>((resolve) => {
        journaled = resolve;
      });

      // Act
      const settling = Promise.all([
        ledger.settle(sliced, 40_000, after),
        ledger.settle({ ...direct, via: 'lease' }, 30_000, after),
      ]);
      const batch = sliced.batch;
      await new Promise((r) => setTimeout(r, 100));
      const before = [
        (await perRequest.read(budget)).spent_micros,
        (await perRequest.read(single)).spent_micros,
      ];
      journaled();
      await settling;

      // Assess: nothing landed while the journal line was pending (a process dying then leaves recovery
      // the whole decision); then each landed once, the slice's in the batch the journal could name.
      expect(batch).toBe(1);
      expect(before).toEqual([0, 0]);
      expect((await perRequest.read(budget)).spent_micros).toBe(40_000);
      expect((await perRequest.read(single)).spent_micros).toBe(30_000);
      expect((await createDynamoSliceStore(client, TABLE, clock).read(budget, 'h-after')).batch).toBe(1);
    },
  );

  it.skipIf(engine.skip)('applies a batch once however often its write is retried', async () => {
    const budget = counter(1_000_000);
    const store = createDynamoSliceStore(client, TABLE, clock);
    await store.grow(
      budget,
      'h-retry',
      { a: 500_000, w: 500_000 },
      null,
      new Date(now.getTime() + 30_000),
      0,
    );
    const batch = { id: 7, cost: 100_000, requests: 2, release: { a: 100_000, w: 100_000 } };

    await store.flush(budget, 'h-retry', batch, new Date(now.getTime() + 30_000));
    await store.flush(budget, 'h-retry', batch, new Date(now.getTime() + 30_000));

    expect(await store.read(budget, 'h-retry')).toMatchObject({
      spent_micros: 100_000,
      committed_micros: 500_000,
      held: { a: 400_000, w: 400_000 },
      batch: 7,
    });
  });

  it.skipIf(engine.skip)(
    'serves every request a nearly spent counter can pay for, stranding nothing in a slice',
    async () => {
      // Prepare: $1 strict; each request holds and spends $0.05.
      const budget = counter(1_000_000);
      const ledger = leased('h-near');

      // Act: one at a time until refused.
      const via: string[] = [];
      let refusal: unknown;
      for (let i = 0; i < 25 && !refusal; i++) {
        try {
          const r = await ledger.reserve([claim(budget, 50_000)], lease());
          via.push(String(r.via));
          await ledger.settle(r, 50_000);
        } catch (err) {
          refusal = err;
        }
      }
      await ledger.flush();

      // Assess: all twenty that fit were served — slices shrink to what is left — and nothing is held.
      expect(refusal).toBeInstanceOf(BudgetExceededError);
      expect(via).toHaveLength(20);
      expect(await ledger.read(budget)).toMatchObject({
        spent_micros: 1_000_000,
        committed_micros: 1_000_000,
      });
    },
  );

  it.skipIf(engine.skip)(
    'serves exactly what is left near the limit, though its settlements wait a quarter second to be written',
    async () => {
      // Prepare: a process's batching (250 ms); $1 strict; A holds $0.60 and costs $0.50.
      const budget = counter(1_000_000);
      const ledger = createLeasedLedger({
        store: createDynamoSliceStore(client, TABLE, clock),
        perRequest,
        holder: 'h-quarter',
        clock,
        log: silentLogger,
        flushMs: 250,
      });
      ledgers.push(ledger);
      const a = await ledger.reserve([claim(budget, 600_000)], lease());
      await Promise.race([ledger.settle(a, 500_000), new Promise((r) => setTimeout(r, 20))]);

      // Act: B wants more than is left (the counter turns per-request, the slice's free part goes back);
      // C wants exactly what is left.
      const b = await ledger.reserve([claim(budget, 600_000)], lease()).catch((e: unknown) => e);
      const c = await ledger.reserve([claim(budget, 500_000)], lease());

      // Assess: C is served, per request, on a counter that no longer counts A's unused hold
      expect(a.via).toBe('slice');
      expect(b).toBeInstanceOf(BudgetExceededError);
      expect(c.via).toBe('lease');
      await ledger.settle(c, 500_000);
      await ledger.flush();
      expect(await perRequest.read(budget)).toMatchObject({
        spent_micros: 1_000_000,
        committed_micros: 1_000_000,
      });
    },
  );

  it.skipIf(engine.skip)("reclaims a dead holder's slice once it expires", async () => {
    // Prepare: a holder takes most of a $1 budget and dies (no shutdown).
    const budget = counter(1_000_000);
    const dead = leased('h-dead');
    await dead.reserve([claim(budget, 800_000)], lease());

    // Act: within its lease the budget is held; past it, another holder gets it.
    const live = leased('h-live');
    const refused = await live.reserve([claim(budget, 500_000)], lease()).catch((e: unknown) => e);
    now = new Date(now.getTime() + 60_000);
    const served = await live.reserve([claim(budget, 500_000)], lease());

    // Assess
    expect(refused).toBeInstanceOf(BudgetExceededError);
    await live.settle(served, 500_000);
    await live.flush();
    expect(await perRequest.read(budget)).toMatchObject({ spent_micros: 500_000 });
    ledgers.splice(ledgers.indexOf(dead), 1);
  });

  it.skipIf(engine.skip)(
    'applies a lowered limit at once, though the instance holds a slice taken under the old one',
    async () => {
      const roomy = counter(10_000_000);
      const ledger = leased('h-lowered');
      const first = await ledger.reserve([claim(roomy, 100_000)], lease());
      await ledger.settle(first, 100_000);

      const lowered = { ...roomy, limit_micros: 100_000 };
      const refused = await ledger.reserve([claim(lowered, 100_000)], lease()).catch((e: unknown) => e);

      expect(first.via).toBe('slice');
      expect(refused).toBeInstanceOf(BudgetExceededError);
    },
  );

  it.skipIf(engine.skip)('gives every slice back on a clean shutdown', async () => {
    const budget = counter(10_000_000);
    const ledger = leased('h-shutdown');
    const r = await ledger.reserve([claim(budget, 1_000_000)], lease());
    await ledger.settle(r, 250_000);

    await ledger.close();

    expect(await perRequest.read(budget)).toEqual({
      spent_micros: 250_000,
      committed_micros: 250_000,
      worst_committed_micros: 250_000,
    });
  });

  it.skipIf(engine.skip)(
    'never settles past a strict limit with three holders and an older per-request deployment racing',
    async () => {
      // Prepare: $0.20; 120 requests, each holding $0.02 and spending all of it, spread over three
      // holders and the per-request ledger a deployment before leases runs (an upgrade in place).
      const budget = counter(200_000);
      const holders = [leased('h-race-1'), leased('h-race-2'), leased('h-race-3')];
      const all: BudgetLedger[] = [...holders, perRequest];

      // Act
      const outcomes = await Promise.all(
        Array.from({ length: 120 }, async (_, i) => {
          const ledger = all[i % all.length] as BudgetLedger;
          try {
            const r = await ledger.reserve([claim(budget, 20_000)], lease());
            await new Promise((done) => setTimeout(done, 5));
            await ledger.settle(r, 20_000);
            return 'served';
          } catch (err) {
            if (err instanceof BudgetExceededError) return 'refused';
            throw err;
          }
        }),
      );
      for (const h of holders) await h.close();

      // Assess: exactly what fits was served, and the counter holds nothing more than its spend.
      const served = outcomes.filter((o) => o === 'served').length;
      const state = await perRequest.read(budget);
      expect(state.spent_micros).toBe(served * 20_000);
      expect(state.spent_micros).toBeLessThanOrEqual(200_000);
      expect(state.committed_micros).toBe(state.spent_micros);
      expect(served).toBeGreaterThanOrEqual(8);
    },
  );

  it.skipIf(engine.skip)('meters a budget without a limit in batches, and applies each once', async () => {
    const metered = counter(null);
    const ledger = leased('h-metered');
    const rs = await Promise.all(
      Array.from({ length: 10 }, () => ledger.reserve([claim(metered, 5_000)], lease())),
    );

    await Promise.all(rs.map((r) => ledger.settle(r, 3_000)));

    expect(await perRequest.read(metered)).toMatchObject({ spent_micros: 30_000, committed_micros: 30_000 });
  });
});
