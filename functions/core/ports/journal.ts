/**
 * Requests in flight, made durable so that recovery (core/usage/recover.ts) can finish those whose
 * process died (adapters/local/inflight-journal.ts, adapters/aws/dynamo-inflight-journal.ts).
 */
import type { UsageRecord } from '../usage/record.ts';
import type { BudgetCounter, Reservation } from './budgets.ts';
import type { ParallelSlot } from './rate-limits.ts';

/** What one attempt of a request may hold on budget counters: its lease, on each of these counters. */
export interface InflightHold {
  lease_id: string;
  counters: BudgetCounter[];
}

/**
 * A request in flight, made durable before it reserves budget and while its provider call starts, so
 * that a process killed mid-request (kill -9 locally; a Lambda timeout or OOM on AWS) still leaves its
 * record and frees what it held. See core/usage/recover.ts for how each moment of death is finished.
 */
export interface InflightEntry {
  request_id: string;
  /** The process or execution environment that serves it. */
  holder: string;
  /** After this the request cannot still be running: its upstream deadline, plus a grace. ISO. */
  expires_at: string;
  /** The record it leaves if it never finished: outcome `lost`, usage estimated, cost its worst case. */
  lost: UsageRecord;
  /** Each attempt's lease and counters, the latest last (a failed attempt gave its hold back). */
  holds: InflightHold[];
  /** The latest attempt's reservation, once it holds one. */
  reservation?: Reservation;
  /** Parallel slots held under the lease `request_id`. */
  slots: ParallelSlot[];
  /** Set as it finishes, before it settles and records: its own record and reservation. */
  final?: { record: UsageRecord; reservation: Reservation | null };
}

export interface InflightJournal {
  /**
   * Resolves once the entry is durable; a second begin for the same request replaces the first. The
   * journal stamps its own holder.
   */
  begin(entry: Omit<InflightEntry, 'holder' | 'final'>): Promise<void>;
  /** The request holds its reservation (per request, or from the holder's slices). */
  reserved(request_id: string, reservation: Reservation): Promise<void>;
  /** The request knows its record and is about to settle and write it. */
  finishing(request_id: string, final: NonNullable<InflightEntry['final']>): Promise<void>;
  /** The holder is about to take its first slice of this counter. */
  slice(counter: BudgetCounter): Promise<void>;
  /** The holder is about to hold its first parallel slots of this scope. */
  slots(slot: ParallelSlot): Promise<void>;
  /** Resolves once everything written so far is durable. */
  flushed(): Promise<void>;
  /** The request recorded and settled itself: forget it. */
  end(request_id: string): Promise<void>;
  /** Entries whose holder died (locally) or whose time is up (AWS), for recovery to finish. */
  orphans(now: Date): Promise<InflightEntry[]>;
  /**
   * The counters dead holders took slices of, to give back. Empty where slices are not journaled (AWS:
   * a Lambda environment's slice is short-lived, and others reclaim it once it expires).
   */
  orphanSlices(
    now: Date,
  ): Promise<Array<{ holder: string; counters: BudgetCounter[]; slots?: ParallelSlot[] }>>;
  /** Forgets entries recovery has finished. */
  forget(entries: InflightEntry[]): Promise<void>;
  /** Writes what is buffered; called on a clean shutdown. */
  close(): Promise<void>;
}
