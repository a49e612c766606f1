/**
 * Rate limits: per-minute request and token windows and parallel slots (core/governance/rate-limits.ts
 * and leased-limiter.ts; adapters/aws/dynamo-rate-limiter.ts).
 */
import type { Lease } from './budgets.ts';

/** Per-scope rate limits; null for no limit. */
export interface RateSettings {
  /** Requests per minute, and tokens (prompt, cache and output) per minute. */
  rpm_limit: number | null;
  tpm_limit: number | null;
  /** Requests in flight at once. */
  max_parallel_requests: number | null;
}

/** One minute of one scope's rate limits. */
export interface RateWindow {
  /** e.g. `key:<key_id>` */
  scope: string;
  /** The window's start, `YYYY-MM-DDTHH:MM` (UTC); part of the counter's key. */
  window: string;
  resets_at: string;
  rpm: number | null;
  tpm: number | null;
}

/** A scope's limit on requests in flight at once. */
export interface ParallelSlot {
  /** e.g. `key:<key_id>` */
  scope: string;
  max: number;
}

/** A rate window as its item last said: requests counted in it, and tokens of requests finished. */
export interface WindowState {
  requests: number;
  tokens: number;
}

/**
 * Rate windows taken in chunks (core/governance/leased-limiter.ts): a holder counts `n` requests into a
 * window at once, if the window's limits allow them all, and admits them in memory.
 */
export interface RateQuotaStore {
  /** Counts `n` requests into the window if it stays within its rpm and under its tpm; null if not. */
  takeRequests(window: RateWindow, n: number): Promise<WindowState | null>;
}

/**
 * A scope's parallel slots as its item last said: every slot taken, those the asking holder's lease
 * holds, and how many instances hold some.
 */
export interface SlotState {
  inflight: number;
  held: number;
  holders: number;
}

/**
 * Parallel slots held by an instance (`holder`) rather than per request: one lease on the scope's item
 * holding `n` slots, counted in the same `inflight` total as per-request slots, so the sum of all slots
 * taken never passes the scope's max.
 */
export interface SlotStore {
  /** Adds `n` slots to the holder's lease if the scope stays within its max; null if it would not. */
  takeSlots(slot: ParallelSlot, holder: string, n: number, expiresAt: Date): Promise<SlotState | null>;
  /** Gives back every slot the holder holds (a dead holder's, on recovery). */
  dropSlots(slot: ParallelSlot, holder: string): Promise<void>;
  /** Gives `n` of the holder's slots back (0 renews its lease); false when its lease is gone. */
  returnSlots(slot: ParallelSlot, holder: string, n: number, expiresAt: Date): Promise<boolean>;
}

export interface RateLimiter {
  /** Counts a request into its window; throws a 429 GatewayError when the window is full. */
  admit(window: RateWindow): Promise<void>;
  /** Adds a finished request's tokens to the window it was admitted in. */
  addTokens(window: RateWindow, tokens: number): Promise<void>;
  /**
   * Takes one of the scope's parallel slots under `lease`; throws a 429 GatewayError when all are
   * taken (slots held by expired leases are released first).
   */
  acquire(slot: ParallelSlot, lease: Lease): Promise<void>;
  /** Gives the slot back; a no-op when its lease had already expired and been released. */
  release(slot: ParallelSlot, lease_id: string): Promise<void>;
}
