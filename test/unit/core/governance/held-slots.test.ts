import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../functions/adapters/logger.ts';
import { createHeldSlots } from '../../../../functions/core/governance/held-slots.ts';
import type { ParallelSlot, SlotStore } from '../../../../functions/core/ports/rate-limits.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A slot store whose writes land at once but answer late: a give back is slow to answer (60 ms), a
 * take quick (2 ms), as two writes of one holder can be on a loaded store.
 */
function slowAnsweringStore() {
  let held = 0;
  const store: SlotStore = {
    async takeSlots(slot, _holder, n) {
      if (held + n > slot.max) return null;
      held += n;
      const answer = { inflight: held, held, holders: 1 };
      await sleep(2);
      return answer;
    },
    async returnSlots(_slot, _holder, n) {
      held -= n;
      await sleep(60);
      return true;
    },
    async dropSlots() {
      held = 0;
    },
  };
  return { store, held: () => held };
}

describe('slots held by an instance', () => {
  it('gives back every slot it holds on shutdown, even when a grow and a give back overlap', async () => {
    // Prepare: a holding of 2 whose slots sit idle long enough to go back (slowly), and a request that
    // comes meanwhile and makes the holding grow.
    const { store, held } = slowAnsweringStore();
    const slots = createHeldSlots({
      store,
      holder: 'h-test',
      perRequest: { acquire: async () => {}, release: async () => {} },
      clock: { now: () => new Date() },
      log: silentLogger,
      lingerMs: 20,
    });
    const slot: ParallelSlot = { scope: 'key:k', max: 16 };
    const lease = (id: string) => ({ id, expires_at: new Date(Date.now() + 60_000) });
    await slots.acquire(slot, lease('first'));
    await slots.release(slot, 'first');

    // Act: the idle slots start going back; a request grows the holding while they do.
    await sleep(45);
    await slots.acquire(slot, lease('second'));
    await slots.release(slot, 'second');
    await sleep(80);
    await slots.close();

    // Assess: the store counts nothing held by the instance once it has shut down.
    expect(held()).toBe(0);
  });
});
