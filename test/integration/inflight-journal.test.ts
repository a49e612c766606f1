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
import { createFileInflightJournal } from '../../functions/adapters/local/inflight-journal.ts';
import { silentLogger } from '../../functions/adapters/logger.ts';
import type { BudgetCounter, InflightEntry } from '../../functions/core/ports.ts';
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
    record: usageRecord({ request_id, outcome: 'lost', cost_micros: 1_000, ...overrides }),
    reservation: null,
  } satisfies Omit<InflightEntry, 'holder'>;
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
    await appendFile(dead.file, '{"op":"begin","request_id":"torn');
    await live.begin(entry());

    // Act
    const orphans = await live.orphans(NOW);

    // Assess
    expect(orphans.map((o) => o.request_id).sort()).toEqual([a.request_id, c.request_id].sort());
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

  it.skipIf(engine.skip)(
    'finds only past-expiry items through the index, and recovery records and settles each once',
    async () => {
      // Prepare: a reservation held on a strict counter by a request whose function died.
      const ledger = createDynamoBudgetLedger(client, TABLE, { now: () => NOW });
      const counter: BudgetCounter = {
        scope: 'key',
        scope_id: randomUUID(),
        label: 'crashy',
        period: 'lifetime',
        starts_at: null,
        resets_at: null,
        limit_micros: 10_000,
        mode: 'strict',
        soft_limit_micros: null,
      };
      const claim = { counter, amount_micros: 8_000, worst_micros: 8_000, ceiling_micros: null };
      const lease = { id: randomUUID(), expires_at: new Date(NOW.getTime() + 600_000) };
      const reservation = await ledger.reserve([claim], lease);
      const journal = createDynamoInflightJournal(client, TABLE, 'lambda-test');
      const dead = { ...entry({ cost_micros: 3_000 }), reservation };
      const running = entry({}, '2026-12-06T11:00:00.000Z');
      await journal.begin(dead);
      await journal.begin(running);
      const written: UsageRecord[] = [];
      const usage = { write: async (records: UsageRecord[]) => void written.push(...records) };

      // Act
      const first = await recoverLost({ journal, ledger, usage, log: silentLogger, now: NOW });
      const second = await recoverLost({ journal, ledger, usage, log: silentLogger, now: NOW });

      // Assess
      expect(first.recovered).toBe(1);
      expect(second.recovered).toBe(0);
      expect(written.map((r) => r.request_id)).toEqual([dead.request_id]);
      const state = await ledger.read(counter);
      expect(state).toMatchObject({ spent_micros: 3_000, committed_micros: 3_000 });
      expect((await journal.orphans(new Date('2026-12-06T12:00:00Z'))).map((o) => o.request_id)).toEqual([
        running.request_id,
      ]);
    },
  );
});
