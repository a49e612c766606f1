/**
 * Recovery of requests whose process died mid-request. Each left an in-flight entry holding the record
 * it would have written had it been lost (outcome `lost`, usage estimated: the prompt from its size and
 * the output it was allowed) and the reservation it held. Recovery writes those records, settles the
 * reservations to their cost (so the holds stop blocking anyone), then forgets the entries.
 *
 * A request whose own record landed after all (it recorded, then died before forgetting its entry)
 * ends up with two records under one `request_id`; every query keeps the one that is not `lost`. Its
 * reservation was settled already, and settling again is a no-op (the ledger's leases).
 */
import type { BudgetLedger, InflightJournal, Logger, UsageSink } from '../ports.ts';

const WRITE_BATCH = 500;

export async function recoverLost(deps: {
  journal: InflightJournal;
  ledger: BudgetLedger;
  usage: UsageSink;
  log: Logger;
  now: Date;
}): Promise<{ recovered: number }> {
  const orphans = await deps.journal.orphans(deps.now);
  for (let i = 0; i < orphans.length; i += WRITE_BATCH) {
    const batch = orphans.slice(i, i + WRITE_BATCH);
    // The records first: an entry whose record could not be written stays for the next run.
    await deps.usage.write(batch.map((o) => o.record));
    await Promise.all(
      batch.map(async (o) => {
        if (o.reservation) await deps.ledger.settle(o.reservation, o.record.cost_micros);
      }),
    );
    await deps.journal.forget(batch);
  }
  if (orphans.length > 0) {
    deps.log.warn('recovery.lost_requests', {
      recovered: orphans.length,
      cost_micros: orphans.reduce((sum, o) => sum + o.record.cost_micros, 0),
    });
  }
  return { recovered: orphans.length };
}
