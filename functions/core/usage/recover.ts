/**
 * Recovery of requests whose process died mid-request, from the in-flight entries they left. Each
 * moment of death is finished so that the lake holds one record per request and every counter equals
 * the sum of its records:
 *
 * - It had its own record (`final`: it was finishing): that record is written — a copy of one that may
 *   have landed already, which every query dedupes — and its reservation settled to its cost, a no-op
 *   where the settle landed too.
 * - Otherwise, if every counter holds its latest attempt's lease, it reserved and may have called the
 *   provider: its `lost` record (the prompt from its size and the whole output it asked for, since the
 *   provider may have generated all of it; at most the worst case it held, so an estimate never takes a
 *   strict budget past its limit) is written, and the counters settled to that cost.
 * - Otherwise it died before its reservation landed, so no provider call was made: its `lost` record
 *   costs nothing, and whatever part it held is given back.
 *
 * Records are written before anything is settled, so a run that fails part way is simply run again.
 * A record that lands after all keeps precedence over a `lost` one: queries prefer any other outcome.
 * Parallel slots it held are given back either way.
 */
import type {
  BudgetLedger,
  InflightEntry,
  InflightJournal,
  Logger,
  RateLimiter,
  UsageSink,
} from '../ports.ts';
import type { UsageRecord } from './record.ts';

const BATCH = 500;

export interface RecoveryDeps {
  journal: InflightJournal;
  ledger: BudgetLedger;
  limiter: RateLimiter;
  usage: UsageSink;
  log: Logger;
  now: Date;
}

export async function recoverLost(deps: RecoveryDeps): Promise<{ recovered: number; cost_micros: number }> {
  const orphans = await deps.journal.orphans(deps.now);
  let cost = 0;
  for (let i = 0; i < orphans.length; i += BATCH) {
    const batch = orphans.slice(i, i + BATCH);
    const records = await Promise.all(batch.map((entry) => recordOf(deps.ledger, entry)));
    await deps.usage.write(records);
    await Promise.all(batch.map((entry, j) => release(deps, entry, records[j] as UsageRecord)));
    await deps.journal.forget(batch);
    cost += records.reduce((sum, r) => sum + r.cost_micros, 0);
  }
  if (orphans.length > 0)
    deps.log.warn('recovery.finished', { recovered: orphans.length, cost_micros: cost });
  return { recovered: orphans.length, cost_micros: cost };
}

/** The record a dead request leaves, by the moment it died (see above). */
async function recordOf(ledger: BudgetLedger, entry: InflightEntry): Promise<UsageRecord> {
  if (entry.final) return entry.final.record;
  const latest = entry.holds.at(-1);
  const worst = latest ? await ledger.leaseHeld(latest.counters, latest.lease_id) : null;
  if (worst !== null) return { ...entry.lost, cost_micros: Math.min(entry.lost.cost_micros, worst) };
  return {
    ...entry.lost,
    error_type: 'process_died_before_upstream',
    usage_source: 'none',
    input_tokens: 0,
    output_tokens: 0,
    cost_micros: 0,
    shadow_cost_micros: 0,
  };
}

/** Settles what the request held to its record's cost, and gives back its slots. */
async function release(deps: RecoveryDeps, entry: InflightEntry, record: UsageRecord): Promise<void> {
  await Promise.all(entry.slots.map((slot) => deps.limiter.release(slot, entry.request_id)));
  if (entry.final) {
    if (entry.final.reservation) await deps.ledger.settle(entry.final.reservation, record.cost_micros);
    return;
  }
  const latest = entry.holds.at(-1);
  // An earlier attempt's hold was given back before the next reserved; make sure of it.
  await Promise.all(
    entry.holds.slice(0, -1).map((h) => deps.ledger.settleLease(h.counters, h.lease_id, null)),
  );
  if (!latest) return;
  const reserved = record.usage_source !== 'none';
  await deps.ledger.settleLease(latest.counters, latest.lease_id, reserved ? record.cost_micros : null);
}
