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
 *
 * Parallel slots, given a slot store, are held by the instance (held-slots.ts); without one (Lambda),
 * every slot is taken per request.
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

import { createHeldSlots } from './held-slots.ts';
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

  const slots =
    options.slots && options.holder
      ? createHeldSlots({
          store: options.slots,
          holder: options.holder,
          perRequest: inner,
          clock,
          log,
          ttlMs: options.slotTtlMs,
          lingerMs: options.slotLingerMs,
          onFirstHolding: options.onFirstHolding,
        })
      : undefined;

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
}
