/**
 * Rate windows without a store round trip per request. An instance counts requests into a scope's
 * minute window in chunks — one conditional write that the window's rpm admits them all (and its tpm
 * has room) — and admits them one by one in memory. Each chunk doubles the last (1, 2, 4...), capped at
 * an eighth of the rpm, so an instance busy in a window writes a handful of times a minute. Tokens of
 * finished requests are added in batches.
 *
 * Bounds: admitted requests never pass a window's rpm (every admitted request was counted in it); what
 * an instance counted and did not use in a window — at most its last chunk — is unavailable to other
 * instances until the next minute. A window's tokens are checked against its tpm when a chunk is taken
 * and, in memory, with this instance's finished requests not yet written; like before, requests in
 * flight when the tpm is reached may pass it by their own tokens. A chunk the window refuses falls back
 * to the per-request check, which answers the 429.
 *
 * Parallel slots, given a slot store: an instance holds some of a scope's slots under one lease of its
 * own, taken with one conditional write that keeps every slot taken (by any instance, or per request)
 * within the scope's max, and admits requests against them in memory. A grow asks for
 * clamp(left ÷ (4 × holders), 1, an eighth of the max); a stale holding asks for its requests in flight
 * again too. Slots left unused through a whole linger interval go back (one write), as do all of them on
 * a clean shutdown; a holder that dies strands what it held until its lease expires (`slotTtlMs` after
 * its last write; renewed while it holds any), when any instance reclaims it. So requests in flight
 * never pass the max, across instances; an idle instance keeps at most its last grow for one to two
 * linger intervals. When a grow is refused the request falls back to a per-request slot (the store's
 * own check, which reclaims expired leases or answers the 429). Without a slot store (Lambda, where a
 * frozen environment could neither linger nor give back), every slot is taken per request.
 */
import { GatewayError } from '../errors.ts';
import type { Lease } from '../ports/budgets.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logging.ts';
import type {
  ParallelSlot,
  RateLimiter,
  RateQuotaStore,
  RateWindow,
  SlotStore,
} from '../ports/rate-limits.ts';

import { retryAfterSeconds } from './rate-limits.ts';

const MAX_CHUNK_SHARE = 8;

interface WindowAllowance {
  window: string;
  /** Requests counted into the window and not yet admitted. */
  left: number;
  lastChunk: number;
  /** The window's tokens as the last write saw them, and those finished here since, not yet written. */
  tokens: number;
  unwritten: number;
  /** Set once the window refused a request here. */
  full?: boolean;
}

function rpmReached(w: RateWindow, now: Date): GatewayError {
  const retryAfter = retryAfterSeconds(w, now);
  return new GatewayError(
    'rate_limited',
    `Rate limit reached for ${w.scope}: ${w.rpm} of ${w.rpm} requests per minute. Retry in ${retryAfter} s.`,
    { headers: { 'retry-after': String(retryAfter) } },
  );
}

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
}

export function createLeasedLimiter(options: {
  inner: RateLimiter;
  store: RateQuotaStore;
  /** Where an instance holds parallel slots; without it each request takes its own. */
  slots?: SlotStore;
  /** This instance's id on the slots it holds (`h-...`). */
  holder?: string;
  clock: Clock;
  log: Logger;
  /** How long finished requests' tokens wait to be written together; 0 on Lambda. */
  flushMs?: number;
  /** How long a holding of slots lasts after its last write. */
  slotTtlMs?: number;
  /** Slots unused for a whole interval of this go back. */
  slotLingerMs?: number;
  /** Told of each scope this instance first holds slots of, before it does (the journal). */
  onFirstHolding?: (slot: ParallelSlot) => Promise<void>;
}): RateLimiter & { flush(): Promise<void>; close(): Promise<void> } {
  const { inner, store, log, clock } = options;
  const flushMs = options.flushMs ?? 50;
  const windows = new Map<string, WindowAllowance>();
  const pendingTokens = new Map<string, { window: RateWindow; tokens: number; waiters: Array<() => void> }>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let flushing: Promise<void> = Promise.resolve();

  function allowanceOf(w: RateWindow): WindowAllowance {
    const current = windows.get(w.scope);
    if (current?.window === w.window) return current;
    const fresh = { window: w.window, left: 0, lastChunk: 0, tokens: 0, unwritten: 0 };
    windows.set(w.scope, fresh);
    return fresh;
  }

  const underTpm = (w: RateWindow, a: WindowAllowance) => w.tpm === null || a.tokens + a.unwritten < w.tpm;

  async function admit(w: RateWindow): Promise<void> {
    const a = allowanceOf(w);
    if (!underTpm(w, a)) {
      // Over the tpm by this instance's count: what it has not written goes first, then the window's
      // own check answers (the 429, or room after all).
      await flush();
      return inner.admit(w);
    }
    if (a.left > 0) {
      a.left--;
      return;
    }
    // No request is ever given back to a window: once it refused one, it is full for its minute.
    if (a.full && w.rpm !== null) throw rpmReached(w, clock.now());
    const cap = w.rpm === null ? 64 : Math.max(1, Math.floor(w.rpm / MAX_CHUNK_SHARE));
    for (const n of [Math.min(cap, Math.max(1, a.lastChunk * 2)), 1]) {
      const state = await store.takeRequests(w, n);
      if (!state) continue;
      const now = allowanceOf(w);
      now.left += n - 1;
      now.lastChunk = n;
      now.tokens = Math.max(now.tokens, state.tokens);
      return;
    }
    // The window has no room for a chunk: the per-request check counts this one or answers the 429.
    try {
      await inner.admit(w);
    } catch (err) {
      // Refused with the tokens under the tpm as far as this instance knows: the rpm is spent.
      if (underTpm(w, allowanceOf(w))) allowanceOf(w).full = true;
      throw err;
    }
  }

  /** Resolves once the batch holding these tokens is written (a Lambda invocation waits for it). */
  function addTokens(w: RateWindow, tokens: number): Promise<void> {
    if (tokens <= 0) return Promise.resolve();
    const a = windows.get(w.scope);
    if (a?.window === w.window) a.unwritten += tokens;
    const id = `${w.scope}|${w.window}`;
    const p = pendingTokens.get(id) ?? { window: w, tokens: 0, waiters: [] };
    p.tokens += tokens;
    pendingTokens.set(id, p);
    if (!timer) {
      timer = setTimeout(() => {
        timer = undefined;
        void flush();
      }, flushMs);
    }
    return new Promise((resolve) => p.waiters.push(resolve));
  }

  function flush(): Promise<void> {
    flushing = flushing.then(async () => {
      const due = [...pendingTokens.values()];
      pendingTokens.clear();
      await Promise.all(
        due.map(async ({ window, tokens, waiters }) => {
          try {
            await inner.addTokens(window, tokens);
            const a = windows.get(window.scope);
            if (a?.window === window.window) {
              a.unwritten -= tokens;
              a.tokens += tokens;
            }
          } catch (err) {
            log.error('rate_limit.count_failed', { scope: window.scope, error: String(err) });
          } finally {
            for (const done of waiters) done();
          }
        }),
      );
    });
    return flushing;
  }

  const slots = options.slots && options.holder ? heldSlots(options.slots, options.holder) : undefined;

  return {
    admit,
    addTokens,
    flush,
    acquire: (slot: ParallelSlot, lease: Lease) =>
      slots ? slots.acquire(slot, lease) : inner.acquire(slot, lease),
    release: (slot: ParallelSlot, lease_id: string) =>
      slots ? slots.release(slot, lease_id) : inner.release(slot, lease_id),
    async close() {
      clearTimeout(timer);
      timer = undefined;
      await flush();
      await slots?.close();
    },
  };

  function heldSlots(slotStore: SlotStore, holder: string) {
    const ttl = options.slotTtlMs ?? 10_000;
    const linger = options.slotLingerMs ?? 1_000;
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
        h = { slot, held: 0, inUse: 0, idleLow: 0, usableUntil: 0, growing: undefined, returning: 0, noted };
        holdings.set(slot.scope, h);
      }
      // A changed limit: what is held was taken under the old one, so it is used again only after a grow.
      if (h.slot.max !== slot.max) h.usableUntil = 0;
      h.slot = slot;
      return h;
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
        const result = await slotStore.takeSlots(h.slot, holder, ask, expiry());
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
        if (await slotStore.returnSlots(h.slot, holder, n, expiry())) h.held -= n;
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
              if (await slotStore.returnSlots(h.slot, holder, 0, expiry()))
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
        await Promise.all(
          [...holdings.values()].map((h) => (free(h) > 0 ? giveBack(h, free(h)) : undefined)),
        );
      },
    };
  }
}
