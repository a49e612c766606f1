/**
 * The in-flight journals and recovery: the file journal of `npm start` (a dead holder's file is an
 * orphan, a live one's is not, a torn last line is skipped) and the DynamoDB journal of AWS on both
 * local engines (past-expiry items found through the index, by Query). Recovery writes each orphan's
 * record once, settles its reservation to that cost, and forgets it.
 */
import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoBudgetLedger } from '../../functions/adapters/aws/dynamo-budget-ledger.ts';
import { createDynamoInflightJournal } from '../../functions/adapters/aws/dynamo-inflight-journal.ts';
import { createDynamoRateLimiter } from '../../functions/adapters/aws/dynamo-rate-limiter.ts';
import { createDynamoSliceStore } from '../../functions/adapters/aws/dynamo-slice-store.ts';
import { createFileInflightJournal } from '../../functions/adapters/local/inflight-journal.ts';
import { silentLogger } from '../../functions/adapters/logger.ts';
import type { BudgetCounter } from '../../functions/core/ports/budgets.ts';
import type { InflightEntry } from '../../functions/core/ports/journal.ts';
import type { UsageRecord } from '../../functions/core/usage/record.ts';
import { recoverLost } from '../../functions/core/usage/recover.ts';
import { DYNAMO_ENGINES, startEngineTable } from '../support/dynamo-engines.ts';
import { usageRecord } from '../support/usage-fixture.ts';

const NOW = new Date('2026-12-06T10:00:00Z');

function entry(overrides: Partial<UsageRecord> = {}, expiresAt = '2026-12-06T09:00:00.000Z') {
  const request_id = randomUUID();
  return {
    request_id,
    expires_at: expiresAt,
    lost: usageRecord({ request_id, outcome: 'lost', cost_micros: 1_000, ...overrides }),
    holds: [],
    slots: [],
  } satisfies Omit<InflightEntry, 'holder' | 'final'>;
}

describe('the file journal', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tollgate-journal-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("finds what a dead process began and never ended, skipping a torn last line, and not a live one's", async () => {
    // Prepare: a "dead" holder (pid 0 never runs a process of ours) and this live process.
    const dead = createFileInflightJournal({
      dataDir,
      log: silentLogger,
      holder: `0-${randomUUID().slice(0, 8)}`,
    });
    const live = createFileInflightJournal({ dataDir, log: silentLogger });
    const [a, b, c] = [entry(), entry(), entry()];
    await Promise.all([dead.begin(a), dead.begin(b), dead.begin(c)]);
    await dead.end(b.request_id);
    const own = usageRecord({ request_id: c.request_id, outcome: 'success' });
    await dead.finishing(c.request_id, { record: own, reservation: null });
    await appendFile(dead.file, '{"op":"begin","request_id":"torn');
    await live.begin(entry());

    // Act
    const orphans = await live.orphans(NOW);

    // Assess
    expect(orphans.map((o) => o.request_id).sort()).toEqual([a.request_id, c.request_id].sort());
    expect(orphans.find((o) => o.request_id === c.request_id)?.final?.record).toEqual(own);
    await live.forget(orphans);
    expect(await live.orphans(NOW)).toEqual([]);
    expect((await readdir(join(dataDir, 'inflight'))).length).toBe(1);
    await live.close();
  });

  it('writes the lines of one tick in order, and leaves no file after a clean close', async () => {
    const journal = createFileInflightJournal({ dataDir, log: silentLogger });
    const entries = Array.from({ length: 100 }, () => entry());
    await Promise.all(entries.map((e) => journal.begin(e)));
    await Promise.all(entries.map((e) => journal.end(e.request_id)));
    await writeFile(join(dataDir, 'unrelated.txt'), 'x');

    await journal.close();

    expect((await readdir(join(dataDir, 'inflight'))).some((n) => n.startsWith(journal.holder))).toBe(false);
  });
});

describe.each(DYNAMO_ENGINES)('the DynamoDB journal and recovery on $name', (engine) => {
  const TABLE = 'tollgate-inflight-test';
  let client: DynamoDBClient;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (engine.skip) return;
    ({ client, close } = await startEngineTable(engine, TABLE));
  });
  afterAll(async () => {
    await close?.();
  });

  const counter = (label: string): BudgetCounter => ({
    scope: 'key',
    scope_id: randomUUID(),
    label,
    period: 'lifetime',
    starts_at: null,
    resets_at: null,
    limit_micros: 10_000,
    mode: 'strict',
    soft_limit_micros: null,
  });

  it.skipIf(engine.skip)(
    'finishes each moment of death once: held per request, finishing, from a slice; not before a reservation',
    async () => {
      // Prepare: three requests of a function that died, one still running elsewhere.
      const ledger = createDynamoBudgetLedger(client, TABLE, { now: () => NOW });
      const limiter = createDynamoRateLimiter(client, TABLE, { now: () => NOW });
      const journal = createDynamoInflightJournal(client, TABLE, 'h-lambda-test');
      const slices = createDynamoSliceStore(client, TABLE, { now: () => NOW });
      const key = counter('key');
      const team = counter('team');
      const claims = (amount: number) =>
        [key, team].map((c) => ({
          counter: c,
          amount_micros: amount,
          worst_micros: amount,
          ceiling_micros: null,
        }));
      const lease = (id: string) => ({ id, expires_at: new Date(NOW.getTime() + 600_000) });
      const holds = (id: string) => [{ lease_id: id, counters: [key, team] }];
      // (a) reserved 4,000 per request and called the provider; its lost estimate (9,000) is more.
      const reserved = entry({ cost_micros: 9_000 });
      await journal.begin({ ...reserved, holds: holds(reserved.request_id) });
      await journal.reserved(
        reserved.request_id,
        await ledger.reserve(claims(4_000), lease(reserved.request_id)),
      );
      // (b) finishing with its own record of 1,500.
      const finishing = entry();
      const held = await ledger.reserve(claims(2_000), lease(finishing.request_id));
      await journal.begin({ ...finishing, holds: holds(finishing.request_id) });
      await journal.reserved(finishing.request_id, held);
      const own = usageRecord({ request_id: finishing.request_id, outcome: 'success', cost_micros: 1_500 });
      await journal.finishing(finishing.request_id, { record: own, reservation: held });
      // (c) took 2,500 from the environment's 5,000 slices and died streaming.
      for (const c of [key, team])
        await slices.grow(c, 'h-lambda-test', { a: 5_000, w: 5_000 }, null, lease('x').expires_at, 0);
      const streaming = entry({ cost_micros: 9_000 });
      await journal.begin({ ...streaming, holds: holds(streaming.request_id) });
      await journal.reserved(streaming.request_id, {
        lease_id: streaming.request_id,
        claims: claims(2_500),
        binding: null,
        via: 'slice',
        holder: 'h-lambda-test',
      });
      // (d) died mid-reserve: its lease landed on the key counter only. On AWS nothing is journaled
      // before a reservation holds, so it waits for its lease to expire.
      const early = entry({ cost_micros: 5_000 });
      await ledger.reserve([claims(3_000)[0]!], lease(early.request_id));
      await journal.begin({ ...early, holds: holds(early.request_id) });
      const running = entry({}, '2026-12-06T11:00:00.000Z');
      await journal.begin(running);
      await journal.reserved(
        running.request_id,
        await ledger.reserve(claims(100), lease(running.request_id)),
      );
      const written: UsageRecord[] = [];
      const usage = { write: async (records: UsageRecord[]) => void written.push(...records) };
      const deps = { journal, ledger, slices, limiter, usage, log: silentLogger, now: NOW };

      // Act
      const first = await recoverLost(deps);
      const second = await recoverLost(deps);

      // Assess
      expect(first.recovered).toBe(3);
      expect(second.recovered).toBe(0);
      const costs = Object.fromEntries(written.map((r) => [r.request_id, [r.outcome, r.cost_micros]]));
      expect(costs).toEqual({
        [reserved.request_id]: ['lost', 4_000],
        [finishing.request_id]: ['success', 1_500],
        [streaming.request_id]: ['lost', 2_500],
      });
      // Spent: what the records say. Held: the early lease (until it expires) and the running request's.
      expect(await ledger.read(key)).toMatchObject({
        spent_micros: 8_000,
        committed_micros: 8_000 + 3_000 + 100,
      });
      expect(await ledger.read(team)).toMatchObject({ spent_micros: 8_000, committed_micros: 8_000 + 100 });
      const later = await journal.orphans(new Date('2026-12-06T12:00:00Z'));
      expect(later.map((o) => o.request_id)).toEqual([running.request_id]);
    },
  );
});
