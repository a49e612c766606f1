/**
 * Rate windows counted in chunks, on both local DynamoDB engines: an instance admits most requests in
 * memory, never admits past a window's rpm (alone, or racing another instance), and refuses once the
 * window's tokens reach its tpm.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoRateLimiter } from '../../functions/adapters/aws/dynamo-rate-limiter.ts';
import { silentLogger } from '../../functions/adapters/logger.ts';
import { GatewayError } from '../../functions/core/errors.ts';
import { createLeasedLimiter } from '../../functions/core/governance/leased-limiter.ts';
import type { RateQuotaStore, RateWindow } from '../../functions/core/ports.ts';
import { DYNAMO_ENGINES, startEngineTable } from '../support/dynamo-engines.ts';

const TABLE = 'tollgate-limiter-test';
const clock = { now: () => new Date('2026-12-06T10:00:30Z') };

const windowOf = (rpm: number | null, tpm: number | null): RateWindow => ({
  scope: `key:${randomUUID()}`,
  window: '2026-12-06T10:00',
  resets_at: '2026-12-06T10:01:00.000Z',
  rpm,
  tpm,
});

async function outcome(admit: Promise<void>): Promise<'admitted' | 'refused'> {
  try {
    await admit;
    return 'admitted';
  } catch (err) {
    if (err instanceof GatewayError && err.status === 429) return 'refused';
    throw err;
  }
}

describe.each(DYNAMO_ENGINES)('rate windows in chunks on $name', (engine) => {
  let client: DynamoDBClient;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (engine.skip) return;
    ({ client, close } = await startEngineTable(engine, TABLE));
  });
  afterAll(async () => {
    await close?.();
  });

  function limiter() {
    const inner = createDynamoRateLimiter(client, TABLE, clock);
    let takes = 0;
    const store: RateQuotaStore = {
      takeRequests: (w, n) => {
        takes++;
        return inner.takeRequests(w, n);
      },
    };
    return {
      limiter: createLeasedLimiter({ inner, store, clock, log: silentLogger, flushMs: 5 }),
      takes: () => takes,
    };
  }

  it.skipIf(engine.skip)('admits exactly the rpm in a window, most of it without a write', async () => {
    const w = windowOf(80, null);
    const { limiter: l, takes } = limiter();

    const results = [];
    for (let i = 0; i < 80; i++) results.push(await outcome(l.admit(w)));
    const writes = takes();
    for (let i = 0; i < 20; i++) results.push(await outcome(l.admit(w)));

    expect(results.filter((r) => r === 'admitted')).toHaveLength(80);
    expect(results.slice(80).every((r) => r === 'refused')).toBe(true);
    expect(writes).toBeLessThanOrEqual(20);
  });

  it.skipIf(engine.skip)('never passes the rpm with two instances racing', async () => {
    const w = windowOf(40, null);
    const [a, b] = [limiter().limiter, limiter().limiter];

    const results = await Promise.all(
      Array.from({ length: 120 }, (_, i) => outcome((i % 2 ? a : b).admit(w))),
    );

    const admitted = results.filter((r) => r === 'admitted').length;
    expect(admitted).toBeLessThanOrEqual(40);
    expect(admitted).toBeGreaterThanOrEqual(30);
  });

  it.skipIf(engine.skip)("refuses once the window's finished tokens reach its tpm", async () => {
    const w = windowOf(null, 1_000);
    const { limiter: l } = limiter();
    await l.admit(w);

    await l.addTokens(w, 1_200);
    const next = await outcome(l.admit(w));

    expect(next).toBe('refused');
  });
});
