/**
 * Recovery of requests whose process died mid-request, from the in-flight entries they left, so that
 * the lake holds one record per request and every counter equals the sum of its records. By the moment
 * each died:
 *
 * - It had its own record (`final`: it was finishing): that record is written — a copy of one that may
 *   have landed already, which every query dedupes — and settled to its cost: per request, a settle that
 *   is a no-op where it landed too; from a slice, its holder's batch, which applies once.
 * - It held a reservation (`reservation`) and may have called the provider: its `lost` record (the
 *   prompt from its size and all the output it asked for, since the provider may have generated it; at
 *   most the worst case it held, so an estimate never passes a strict limit) is written and settled.
 * - It had not finished reserving: no provider call was made; its `lost` record costs nothing, and any
 *   per-request hold it had taken is given back.
 *
 * Then whatever the dead holder still holds — the free part of its slices, its parallel slots — goes
 * back. Records are written before anything is settled, so a run that fails part way is run again.
 */
import type { BudgetCounter, BudgetLedger, Reservation } from '../ports/budgets.ts';
import type { InflightEntry, InflightJournal } from '../ports/journal.ts';
import type { UsageSink } from '../ports/lake.ts';
import type { Logger } from '../ports/logging.ts';
import type { RateLimiter, SlotStore } from '../ports/rate-limits.ts';
import type { SliceStore } from '../ports/slices.ts';
import type { UsageRecord } from './record.ts';

export interface RecoveryDeps {
  journal: InflightJournal;
  /** The per-request ledger. */
  ledger: BudgetLedger;
  slices: SliceStore;
  limiter: RateLimiter;
  /** Where instances hold parallel slots, if they do. */
  slotStore?: SlotStore;
  usage: UsageSink;
  log: Logger;
  now: Date;
}

export async function recoverLost(deps: RecoveryDeps): Promise<{ recovered: number; cost_micros: number }> {
  const orphans = await deps.journal.orphans(deps.now);
  const deadSlices = await deps.journal.orphanSlices(deps.now);
  const records = await Promise.all(orphans.map((entry) => recordOf(deps.ledger, entry)));
  if (records.length > 0) await deps.usage.write(records);
  await Promise.all(orphans.map((entry, i) => settlePerRequest(deps, entry, records[i] as UsageRecord)));
  await settleSliced(deps, orphans, records, deadSlices);
  await Promise.all(
    deadSlices.flatMap(({ holder, slots = [] }) =>
      slots.map((slot) => deps.slotStore?.dropSlots(slot, holder)),
    ),
  );
  await deps.journal.forget(orphans);
  const cost = records.reduce((sum, r) => sum + r.cost_micros, 0);
  if (orphans.length > 0)
    deps.log.warn('recovery.finished', { recovered: orphans.length, cost_micros: cost });
  return { recovered: orphans.length, cost_micros: cost };
}

const worstOf = (r: Reservation) => Math.max(0, ...r.claims.map((c) => c.worst_micros));

/** The record a dead request leaves, by the moment it died (see above). */
async function recordOf(ledger: BudgetLedger, entry: InflightEntry): Promise<UsageRecord> {
  if (entry.final) return entry.final.record;
  const held = entry.reservation;
  if (held?.via === 'slice')
    return { ...entry.lost, cost_micros: Math.min(entry.lost.cost_micros, worstOf(held)) };
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

const sliced = (entry: InflightEntry) => (entry.final?.reservation ?? entry.reservation)?.via === 'slice';

/** Per-request holds: settled to the record's cost (or given back), and the slots freed. */
async function settlePerRequest(
  deps: RecoveryDeps,
  entry: InflightEntry,
  record: UsageRecord,
): Promise<void> {
  await Promise.all(entry.slots.map((slot) => deps.limiter.release(slot, entry.request_id)));
  if (sliced(entry)) return;
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

const idOf = (c: BudgetCounter) => `${c.scope}#${c.scope_id}#${c.period}`;

/**
 * Slice-held requests, per dead holder and counter: each batch its finished requests were settled in is
 * applied (a no-op where it landed), then the requests it had in flight as one batch after them; then
 * its slice goes back.
 */
async function settleSliced(
  deps: RecoveryDeps,
  orphans: InflightEntry[],
  records: UsageRecord[],
  deadSlices: Array<{ holder: string; counters: BudgetCounter[] }>,
): Promise<void> {
  type Pot = { counter: BudgetCounter; batches: Map<number, { cost: number; requests: number }> };
  const byHolder = new Map<string, Map<string, Pot>>();
  const potOf = (holder: string, counter: BudgetCounter): Pot => {
    const pots = byHolder.get(holder) ?? new Map<string, Pot>();
    byHolder.set(holder, pots);
    const pot = pots.get(idOf(counter)) ?? { counter, batches: new Map() };
    pots.set(idOf(counter), pot);
    return pot;
  };
  for (const { holder, counters } of deadSlices) for (const c of counters) potOf(holder, c);
  orphans.forEach((entry, i) => {
    if (!sliced(entry)) return;
    const reservation = (entry.final?.reservation ?? entry.reservation) as Reservation;
    // In flight: after every batch it could have been in (Infinity stands for "the batch after the last").
    const batch = entry.final ? (reservation.batch ?? 0) : Number.POSITIVE_INFINITY;
    for (const claim of reservation.claims) {
      const pot = potOf(entry.holder, claim.counter);
      const b = pot.batches.get(batch) ?? { cost: 0, requests: 0 };
      b.cost += (records[i] as UsageRecord).cost_micros;
      b.requests += 1;
      pot.batches.set(batch, b);
    }
  });
  const expires = new Date(deps.now.getTime() + 60_000);
  for (const [holder, pots] of byHolder) {
    await Promise.all(
      [...pots.values()].map(async ({ counter, batches }) => {
        const state = await deps.slices.read(counter, holder);
        const finite = [...batches.keys()].filter(Number.isFinite);
        const last = Math.max(state.batch, ...finite);
        const metered = counter.limit_micros === null;
        for (const id of [...batches.keys()].sort((a, b) => a - b)) {
          const { cost, requests } = batches.get(id) as { cost: number; requests: number };
          const release = metered ? { a: 0, w: 0 } : { a: cost, w: cost };
          const batch = { id: Number.isFinite(id) ? id : last + 1, cost, requests, release };
          await deps.slices.flush(counter, holder, batch, expires);
        }
        const after = await deps.slices.read(counter, holder);
        if (after.held) await deps.slices.release(counter, holder, after.held);
      }),
    );
  }
}
