/**
 * Finishing a call, off the client's path: settle its budgets to the real cost, write its one usage
 * record, give back its parallel slots, add its tokens to the rate windows and raise threshold alerts.
 * Idempotent by construction: a call is finished once, whatever ends it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { crossings, toAlert } from '../governance/thresholds.ts';
import type { Notifier } from '../ports/alerts.ts';
import type { BudgetLedger, Settlement } from '../ports/budgets.ts';
import type { Clock } from '../ports/clock.ts';
import type { InflightJournal } from '../ports/journal.ts';
import type { UsageSink } from '../ports/lake.ts';
import type { Logger } from '../ports/logging.ts';
import type { RateLimiter } from '../ports/rate-limits.ts';
import { promptTokens } from '../pricing/cost.ts';
import type { UsageRecord } from '../usage/record.ts';
import { type CallResult, type CallState, meteredUsage, recordOf } from './call.ts';

const SETTLE_ATTEMPTS = 3;
const SETTLE_BACKOFF_MS = 100;

export interface Finisher {
  /** Settles and records the call in the background; never throws. Tracked until `drain`. */
  finish(call: CallState, result: CallResult): void;
  drain(): Promise<void>;
}

export function createFinisher(deps: {
  journal: InflightJournal;
  ledger: BudgetLedger;
  limiter: RateLimiter;
  usage: UsageSink;
  notifier: Notifier;
  policy: { alertThresholdsPct: number[] };
  clock: Clock;
  log: Logger;
}): Finisher {
  const inflight = new Set<Promise<void>>();

  async function settleAndRecord(call: CallState, result: CallResult): Promise<void> {
    const ended = deps.clock.now();
    const { usage, source } = await meteredUsage(call, result);
    // The body was kept for that estimate alone. The settle below can wait for a batch to be written
    // (250 ms in a busy process): a 100 KB prompt held that long outlives young-generation collections.
    call.body = undefined;
    const { record, cost } = recordOf(call, { ...result, usage, usage_source: source, ended });
    // Write-ahead: the outcome is in the journal before anything applies it. Should the process die
    // from here on, recovery writes this very record and settles to its cost, never a `lost` estimate
    // beside a cost already settled or a record already written. The settle is asked for first, as it
    // fixes the batch the journal names, and reaches no counter before the journal line is written.
    let journaled = () => {};
    const outcomeJournaled = new Promise<void>((resolve) => {
      journaled = resolve;
    });
    const settling = settle(call, cost, outcomeJournaled);
    await journal(call, (j) =>
      j.finishing(call.request_id, { record, reservation: call.reservation ?? null }),
    );
    journaled();
    const [settlements, written] = await Promise.all([
      settling,
      writeRecord(record),
      releaseSlots(call),
      usage ? addRateTokens(call, promptTokens(usage) + usage.output_tokens) : undefined,
    ]);
    // Ended only once the record is written: an entry left behind lets recovery write it.
    if (written) await journal(call, (j) => j.end(call.request_id));
    await alert(call, settlements);
  }

  async function writeRecord(record: UsageRecord): Promise<boolean> {
    try {
      await deps.usage.write([record]);
      return true;
    } catch (err) {
      deps.log.error('usage.write_failed', { request_id: record.request_id, error: String(err) });
      return false;
    }
  }

  /** A step on the call's in-flight entry, if it has one: after the entry's own write, never failing. */
  async function journal(call: CallState, step: (j: InflightJournal) => Promise<void>): Promise<void> {
    if (!call.journaled) return;
    try {
      await call.journaled;
      await step(deps.journal);
    } catch (err) {
      deps.log.error('inflight.write_failed', { request_id: call.request_id, error: String(err) });
    }
  }

  /**
   * Replaces the reservation by the cost. Settling is idempotent (a settlement that landed is not
   * counted again), so a failure is retried; if it still fails, the lease expires and is released
   * later, and the record in the lake keeps the cost.
   */
  async function settle(call: CallState, cost: number, after: Promise<void>): Promise<Settlement[]> {
    const reservation = call.reservation;
    if (!reservation) return [];
    for (let attempt = 1; ; attempt++) {
      try {
        return await deps.ledger.settle(reservation, cost, after);
      } catch (err) {
        if (attempt === SETTLE_ATTEMPTS) {
          deps.log.error('budget.settle_failed', {
            request_id: call.request_id,
            cost_micros: cost,
            error: String(err),
          });
          return [];
        }
        await sleep(SETTLE_BACKOFF_MS * 4 ** (attempt - 1));
      }
    }
  }

  async function releaseSlots(call: CallState): Promise<void> {
    await Promise.all(
      (call.slots ?? []).map((slot) =>
        deps.limiter.release(slot, call.request_id).catch((err: unknown) => {
          // The slot's lease expires and frees it later.
          deps.log.error('parallel.release_failed', { request_id: call.request_id, error: String(err) });
        }),
      ),
    );
  }

  async function addRateTokens(call: CallState, tokens: number): Promise<void> {
    await Promise.all(
      (call.rate_windows ?? []).map((w) =>
        deps.limiter.addTokens(w, tokens).catch((err: unknown) => {
          deps.log.error('rate_limit.count_failed', { request_id: call.request_id, error: String(err) });
        }),
      ),
    );
  }

  /** Threshold and soft-budget crossings this settlement caused; delivery never fails the request. */
  async function alert(call: CallState, settlements: Settlement[]): Promise<void> {
    const events = crossings(settlements, deps.policy.alertThresholdsPct).map((c) =>
      toAlert(c, deps.clock.now()),
    );
    await Promise.all(
      events.map((event) =>
        deps.notifier.notify(event).catch((err: unknown) => {
          deps.log.error('alert.notify_failed', {
            request_id: call.request_id,
            scope: event.scope,
            error: String(err),
          });
        }),
      ),
    );
  }

  return {
    finish(call, result) {
      if (call.finished) return;
      call.finished = true;
      for (const release of call.releases ?? []) release();
      const done = settleAndRecord(call, result)
        .catch((err: unknown) => {
          // A bug here must cost one request its bookkeeping, never the process.
          deps.log.error('proxy.finish_failed', { request_id: call.request_id, error: String(err) });
        })
        .finally(() => inflight.delete(done));
      inflight.add(done);
    },
    async drain() {
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
    },
  };
}
