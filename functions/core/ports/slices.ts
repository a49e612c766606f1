/**
 * Budget slices: part of a counter leased to one holder (core/governance/leased-ledger.ts;
 * adapters/aws/dynamo-slice-store.ts).
 */
import type { BudgetCounter, Settlement } from './budgets.ts';

/** What a holder holds on a counter: against its limit (`a`) and, on a fair counter, its ceiling (`w`). */
export interface Amounts {
  a: number;
  w: number;
}

/** A counter as a slice holder last saw it. */
export interface SliceState {
  spent_micros: number;
  committed_micros: number;
  worst_micros: number;
  /** This holder's slice on it, or null when it has none (never had, given back, or reclaimed). */
  held: Amounts | null;
  /** The last batch of this holder's settlements the counter applied (0: none). */
  batch: number;
  /** Holders with a live slice on the counter, this one included (holder ids start with `h-`). */
  holders: number;
  /** Set by a grow the limit refused. */
  refused?: boolean;
  /** Set by a grow that made the slice anew (none was there, or it had been reclaimed). */
  created?: boolean;
}

/** Settlements a holder applies to one counter at once: their cost, and what its slice gives back. */
export interface FlushBatch {
  /** Increasing per holder; a batch applies once, however often its write is retried. */
  id: number;
  cost: number;
  requests: number;
  /** Taken off the holder's slice (and off the counter's committed total with the cost added). */
  release: Amounts;
}

/**
 * Budget slices (core/governance/leased-ledger.ts): a holder — a process, a Lambda execution
 * environment — takes part of a counter with one conditional write and admits requests against it in
 * memory. Every write keeps settled spend plus everything held within the limit.
 */
export interface SliceStore {
  /**
   * Grows the holder's slice by `by` if the counter can afford it (else `refused`), until `expiresAt`.
   * A slice made anew records `lastBatch`, the holder's last flushed batch.
   */
  grow(
    counter: BudgetCounter,
    holder: string,
    by: Amounts,
    ceiling: number | null,
    expiresAt: Date,
    lastBatch: number,
  ): Promise<SliceState>;
  /** Applies a batch of settlements; a batch that landed already is a no-op. */
  flush(
    counter: BudgetCounter,
    holder: string,
    batch: FlushBatch,
    expiresAt: Date,
  ): Promise<{ state: SliceState; settlement: Settlement }>;
  /** Gives the holder's whole slice back (`amounts` is what it holds). */
  release(counter: BudgetCounter, holder: string, amounts: Amounts): Promise<void>;
  read(counter: BudgetCounter, holder: string): Promise<SliceState>;
}
