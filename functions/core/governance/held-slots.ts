/**
 * Parallel slots held by an instance, given a slot store. An instance holds some of a scope's slots
 * under one lease of its own, taken with one conditional write that keeps every slot taken (by any
 * instance, or per request) within the scope's max, and admits requests against them in memory. A grow
 * asks for clamp(left ÷ (4 × holders), 1, an eighth of the max); a stale holding asks for its requests
 * in flight again too. Slots left unused through a whole linger interval go back (one write), as do all
 * of them on a clean shutdown; a holder that dies strands what it held until its lease expires (`ttlMs`
 * after its last write; renewed while it holds any), when any instance reclaims it. So requests in
 * flight never pass the max, across instances; an idle instance keeps at most its last grow for one to
 * two linger intervals. When a grow is refused the request falls back to a per-request slot (the store's
 * own check, which reclaims expired leases or answers the 429). Without a slot store (Lambda, where a
 * frozen environment could neither linger nor give back), every slot is taken per request.
 */
import type { Lease } from '../ports/budgets.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logging.ts';
import type { ParallelSlot, RateLimiter, SlotStore } from '../ports/rate-limits.ts';

/** An instance's holding of one scope's parallel slots. */
interface SlotHolding {
  slot: ParallelSlot;
  held: number;
  inUse: number;
  /** The fewest slots free since the last linger tick: those sat unused all along. */
  idleLow: number;
  usableUntil: number;
  growing: Promise<boolean> | undefined;
  /** Being given back: no longer free, off the holding once written. */
  returning: number;
  /** The journal's note of the scope, written before the first slots of it are taken. */
  noted: Promise<void>;
  /**
   * The holding's writes, one at a time: a grow learns the holding's size from the store while a give
   * back subtracts what it returned, and the two must not cross (a give back landing before a grow and
   * subtracted after it would forget slots the store still counts as held).
   */
  writes: Promise<unknown>;
}

export function createHeldSlots(options: {
  store: SlotStore;
  /** This instance's id on the slots it holds (`h-...`). */
  holder: string;
  /** The per-request check a request falls back to when no held slot is free. */
  perRequest: Pick<RateLimiter, 'acquire' | 'release'>;
  clock: Clock;
  log: Logger;
  /** How long a holding of slots lasts after its last write. */
  ttlMs?: number;
  /** Slots unused for a whole interval of this go back. */
  lingerMs?: number;
  /** Told of each scope this instance first holds slots of, before it does (the journal). */
  onFirstHolding?: (slot: ParallelSlot) => Promise<void>;
}) {
  const { store: slotStore, holder, perRequest: inner, clock, log } = options;
  const ttl = options.ttlMs ?? 10_000;
  const linger = options.lingerMs ?? 1_000;
  const holdings = new Map<string, SlotHolding>();
  /** Requests holding a per-request slot (the fall-back), by scope and lease. */
  const perRequest = new Set<string>();
  const now = () => clock.now().getTime();
  const expiry = () => new Date(now() + ttl);
  const free = (h: SlotHolding) => h.held - h.inUse - h.returning;

  const tick = setInterval(() => void settleIdle(), linger);
  tick.unref?.();
  const keepAlive = setInterval(() => void renew(), Math.max(500, Math.floor(ttl / 3)));
  keepAlive.unref?.();

  function holdingOf(slot: ParallelSlot): SlotHolding {
    let h = holdings.get(slot.scope);
    if (!h) {
      const noted = options.onFirstHolding?.(slot) ?? Promise.resolve();
      h = {
        slot,
        held: 0,
        inUse: 0,
        idleLow: 0,
        usableUntil: 0,
        growing: undefined,
        returning: 0,
        noted,
        writes: Promise.resolve(),
      };
      holdings.set(slot.scope, h);
    }
    // A changed limit: what is held was taken under the old one, so it is used again only after a grow.
    if (h.slot.max !== slot.max) h.usableUntil = 0;
    h.slot = slot;
    return h;
  }

  /** Runs one write of the holding after the ones before it, whatever became of them. */
  function inTurn<T>(h: SlotHolding, write: () => Promise<T>): Promise<T> {
    const turn = h.writes.then(write, write);
    h.writes = turn.catch(() => undefined);
    return turn;
  }

  const usable = (h: SlotHolding) => now() < h.usableUntil && free(h) > 0;

  async function grow(h: SlotHolding, state: { left: number; holders: number }): Promise<boolean> {
    await h.noted;
    const stale = now() >= h.usableUntil;
    const share = Math.floor(state.left / (4 * Math.max(1, state.holders)));
    const chunk = Math.max(1, Math.min(share, Math.floor(h.slot.max / 8)));
    // A stale holding may have been reclaimed: ask again for the slots its requests still use.
    const n = stale ? h.inUse + h.returning + chunk : chunk;
    for (const ask of n > 1 ? [n, stale ? h.inUse + h.returning + 1 : 1] : [n]) {
      const result = await inTurn(h, () => slotStore.takeSlots(h.slot, holder, ask, expiry()));
      if (!result) continue;
      h.held = result.held;
      h.usableUntil = now() + ttl - Math.min(2_000, ttl / 5);
      lastSeen.set(h.slot.scope, { left: h.slot.max - result.inflight, holders: result.holders });
      return true;
    }
    return false;
  }
  const lastSeen = new Map<string, { left: number; holders: number }>();

  async function acquire(slot: ParallelSlot, lease: Lease): Promise<void> {
    const h = holdingOf(slot);
    for (let tries = 0; tries < 3 && !usable(h); tries++) {
      const seen = lastSeen.get(slot.scope) ?? { left: slot.max, holders: 1 };
      h.growing ??= grow(h, seen).finally(() => {
        h.growing = undefined;
      });
      const growing = h.growing;
      if (!(await growing)) break;
    }
    if (usable(h)) {
      h.inUse++;
      h.idleLow = Math.min(h.idleLow, free(h));
      return;
    }
    // No slot of its own to give: the store's per-request check takes one or answers the 429.
    await inner.acquire(slot, lease);
    perRequest.add(`${slot.scope} ${lease.id}`);
  }

  async function release(slot: ParallelSlot, lease_id: string): Promise<void> {
    if (perRequest.delete(`${slot.scope} ${lease_id}`)) return inner.release(slot, lease_id);
    const h = holdings.get(slot.scope);
    if (!h || h.inUse === 0) return inner.release(slot, lease_id);
    h.inUse--;
  }

  /** The holding's lease is gone (reclaimed after it expired): its next grow asks for all it uses. */
  function lost(h: SlotHolding): void {
    h.held = 0;
    h.usableUntil = 0;
  }

  /** What sat unused since the last tick goes back. */
  async function settleIdle(): Promise<void> {
    await Promise.all(
      [...holdings.values()].map(async (h) => {
        const idle = Math.min(h.idleLow, free(h));
        h.idleLow = free(h);
        if (idle > 0 && !h.growing) await giveBack(h, idle);
      }),
    );
  }

  async function giveBack(h: SlotHolding, n: number): Promise<void> {
    h.returning += n;
    try {
      if (await inTurn(h, () => slotStore.returnSlots(h.slot, holder, n, expiry()))) h.held -= n;
      else lost(h);
    } catch (err) {
      log.error('parallel.return_failed', { scope: h.slot.scope, error: String(err) });
    } finally {
      h.returning -= n;
      h.idleLow = Math.min(h.idleLow, free(h));
    }
  }

  /** Holdings with slots are kept from expiring. */
  async function renew(): Promise<void> {
    await Promise.all(
      [...holdings.values()]
        .filter((h) => h.held > 0 && now() < h.usableUntil && !h.growing)
        .map(async (h) => {
          try {
            if (await inTurn(h, () => slotStore.returnSlots(h.slot, holder, 0, expiry())))
              h.usableUntil = now() + ttl - Math.min(2_000, ttl / 5);
            else lost(h);
          } catch (err) {
            log.error('parallel.renew_failed', { scope: h.slot.scope, error: String(err) });
          }
        }),
    );
  }

  return {
    acquire,
    release,
    async close() {
      clearInterval(tick);
      clearInterval(keepAlive);
      // What the store says this instance holds goes back, not what it counted: a write the SDK retried
      // after it had landed can leave the two apart. With requests still in flight, the free part only.
      await Promise.all(
        [...holdings.values()].map((h) =>
          h.inUse === 0
            ? inTurn(h, () => slotStore.dropSlots(h.slot, holder)).then(() => {
                h.held = 0;
              })
            : free(h) > 0
              ? giveBack(h, free(h))
              : undefined,
        ),
      );
    },
  };
}
