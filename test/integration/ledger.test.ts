import { randomUUID } from 'node:crypto';
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoAlertClaims } from '../../functions/adapters/aws/dynamo-alert-claims.ts';
import { createDynamoBudgetLedger } from '../../functions/adapters/aws/dynamo-budget-ledger.ts';
import { createDynamoKeyStore } from '../../functions/adapters/aws/dynamo-key-store.ts';
import { createDynamoRateLimiter } from '../../functions/adapters/aws/dynamo-rate-limiter.ts';
import { BudgetExceededError, ConflictError } from '../../functions/core/errors.ts';
import { reserveBudget } from '../../functions/core/governance/budgets.ts';
import type {
  BudgetCounter,
  BudgetLedger,
  Claim,
  Lease,
  Reservation,
} from '../../functions/core/ports/budgets.ts';
import type { VirtualKey } from '../../functions/core/ports/keys.ts';
import { createModelCatalog } from '../../functions/core/pricing/catalog.ts';
import { DYNAMO_ENGINES, rejectionOf, startEngineTable } from '../support/dynamo-engines.ts';

/**
 * The DynamoDB budget ledger and key store against two real engines: dynalite (what `npm start` runs)
 * and Amazon's DynamoDB Local (the jar, closer to the service's own condition and ADD semantics).
 */

const TABLE = 'tollgate-ledger-test';

/** A counter with its own scope id, so the tests of one engine share a table without sharing counters. */
const counter = (overrides: Partial<BudgetCounter> = {}): BudgetCounter => ({
  scope: 'key',
  scope_id: randomUUID(),
  label: 'laptop',
  period: '2026-11',
  starts_at: '2026-11-01T00:00:00.000Z',
  resets_at: '2026-12-01T00:00:00.000Z',
  limit_micros: 1_000_000,
  mode: 'strict',
  soft_limit_micros: null,
  ...overrides,
});

/** The ledger's clock: tests move it to make leases expire. */
let now = new Date('2026-11-20T12:00:00Z');
const clock = { now: () => now };
let leases = 0;
/** A lease that expires a minute after the clock's now, unless told otherwise. */
const lease = (expires_at = new Date(now.getTime() + 60_000)): Lease => ({
  id: `req-${++leases}`,
  expires_at,
});
const claims = (counters: BudgetCounter[], amount_micros: number): Claim[] =>
  counters.map((c) => ({ counter: c, amount_micros, worst_micros: amount_micros, ceiling_micros: null }));

describe.each(DYNAMO_ENGINES)('the DynamoDB adapters on $name', (engine) => {
  let client: DynamoDBClient;
  let close: (() => Promise<void>) | undefined;
  let ledger: BudgetLedger;
  let reserve: (counters: BudgetCounter[], amount: number, l?: Lease) => Promise<Reservation>;

  beforeAll(async () => {
    if (engine.skip) return;
    ({ client, close } = await startEngineTable(engine, TABLE));
    ledger = createDynamoBudgetLedger(client, TABLE, clock);
    reserve = (counters, amount, l = lease()) => ledger.reserve(claims(counters, amount), l);
  });
  afterAll(async () => {
    await close?.();
  });

  const rawCounter = async (c: BudgetCounter) => {
    const { Item } = await client.send(
      new GetItemCommand({
        TableName: TABLE,
        Key: { pk: { S: `BUDGET#${c.scope}#${c.scope_id}` }, sk: { S: `P#${c.period}` } },
        ConsistentRead: true,
      }),
    );
    return Item;
  };

  describe.skipIf(engine.skip !== undefined)('budget ledger', () => {
    it('moves committed by a reservation and then to the actual cost, and spent to that cost', async () => {
      // Prepare
      const c = counter();

      // Act
      const reservation = await reserve([c], 300_000);
      const reserved = await ledger.read(c);
      await ledger.settle(reservation, 120_000);
      const settled = await ledger.read(c);

      // Assess
      expect(reserved).toEqual({
        spent_micros: 0,
        committed_micros: 300_000,
        worst_committed_micros: 300_000,
      });
      expect(settled).toEqual({
        spent_micros: 120_000,
        committed_micros: 120_000,
        worst_committed_micros: 120_000,
      });
      expect((await rawCounter(c))?.requests?.N).toBe('1');
    });

    it('refuses a reservation bigger than what is left, saying what remains, and takes nothing', async () => {
      // Prepare
      const c = counter({ scope: 'team', label: 'platform', limit_micros: 1_000_000 });
      await reserve([c], 700_000);

      // Act
      const err = await rejectionOf(reserve([c], 400_000));

      // Assess
      expect(err).toBeInstanceOf(BudgetExceededError);
      expect(err).toMatchObject({
        status: 402,
        scope: 'team',
        scope_id: 'platform',
        limit_micros: 1_000_000,
        committed_micros: 700_000,
        remaining_micros: 300_000,
        resets_at: '2026-12-01T00:00:00.000Z',
      });
      expect(await ledger.read(c)).toEqual({
        spent_micros: 0,
        committed_micros: 700_000,
        worst_committed_micros: 700_000,
      });
    });

    it('takes a reservation that uses up the budget exactly', async () => {
      // Prepare
      const c = counter({ limit_micros: 1_000_000 });
      await reserve([c], 700_000);

      // Act
      await reserve([c], 300_000);

      // Assess
      expect(await ledger.read(c)).toEqual({
        spent_micros: 0,
        committed_micros: 1_000_000,
        worst_committed_micros: 1_000_000,
      });
    });

    it('refuses a reservation above the whole limit on a counter never used', async () => {
      // Prepare
      const c = counter({ limit_micros: 1_000_000 });

      // Act
      const err = await rejectionOf(reserve([c], 1_000_001));

      // Assess
      expect(err).toMatchObject({ name: 'BudgetExceededError', remaining_micros: 1_000_000 });
      expect(await ledger.read(c)).toEqual({
        spent_micros: 0,
        committed_micros: 0,
        worst_committed_micros: 0,
      });
    });

    it('lets exactly 25 of 100 concurrent 10,000 µ$ reservations through a 255,000 µ$ limit', async () => {
      // Prepare
      const c = counter({ limit_micros: 255_000 });
      let done = false;
      const observed: number[] = [];
      const watch = (async () => {
        while (!done) observed.push((await ledger.read(c)).committed_micros);
      })();

      // Act
      const results = await Promise.allSettled(Array.from({ length: 100 }, () => reserve([c], 10_000)));
      done = true;
      await watch;
      const final = await ledger.read(c);

      // Assess
      const fulfilled = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter(
        (r) => r.status === 'rejected' && r.reason instanceof BudgetExceededError,
      );
      expect(fulfilled).toHaveLength(25);
      expect(refused).toHaveLength(75);
      expect(final.committed_micros).toBe(250_000);
      expect(Math.max(...observed, final.committed_micros)).toBeLessThanOrEqual(255_000);
    });

    it('gives back what it took from the first counter when the second is exhausted', async () => {
      // Prepare
      const key = counter({ scope: 'key', limit_micros: 1_000_000 });
      const team = counter({ scope: 'team', label: 'platform', limit_micros: 500_000 });
      await reserve([key], 200_000);
      await reserve([team], 450_000);

      // Act
      const err = await rejectionOf(reserve([key, team], 100_000));

      // Assess
      expect(err).toMatchObject({ name: 'BudgetExceededError', scope: 'team', remaining_micros: 50_000 });
      expect(await ledger.read(key)).toEqual({
        spent_micros: 0,
        committed_micros: 200_000,
        worst_committed_micros: 200_000,
      });
      expect(await ledger.read(team)).toEqual({
        spent_micros: 0,
        committed_micros: 450_000,
        worst_committed_micros: 450_000,
      });
    });

    it('records a cost above the reservation, even past the limit, and refuses the next request', async () => {
      // Prepare
      const c = counter({ limit_micros: 60_000 });
      const reservation = await reserve([c], 50_000);

      // Act
      await ledger.settle(reservation, 80_000);
      const next = await rejectionOf(reserve([c], 1));

      // Assess
      expect(await ledger.read(c)).toEqual({
        spent_micros: 80_000,
        committed_micros: 80_000,
        worst_committed_micros: 80_000,
      });
      expect(next).toMatchObject({
        name: 'BudgetExceededError',
        committed_micros: 80_000,
        remaining_micros: 0,
      });
    });

    it('gives the whole reservation back when a request costs nothing', async () => {
      // Prepare
      const c = counter();
      const reservation = await reserve([c], 400_000);

      // Act
      await ledger.settle(reservation, 0);

      // Assess
      expect(await ledger.read(c)).toEqual({
        spent_micros: 0,
        committed_micros: 0,
        worst_committed_micros: 0,
      });
    });

    it('only meters a counter without a limit', async () => {
      // Prepare
      const c = counter({ limit_micros: null, period: 'lifetime', resets_at: null });

      // Act
      const big = await reserve([c], 1_000_000_000_000);
      await ledger.settle(big, 5_000);
      const again = await reserve([c], 7_000);
      await ledger.settle(again, 6_000);

      // Assess
      expect(await ledger.read(c)).toEqual({
        spent_micros: 11_000,
        committed_micros: 11_000,
        worst_committed_micros: 11_000,
      });
    });

    it('reads an unknown counter as zero', async () => {
      // Prepare
      const c = counter();

      // Act
      const state = await ledger.read(c);

      // Assess
      expect(state).toEqual({ spent_micros: 0, committed_micros: 0, worst_committed_micros: 0 });
    });

    it('sets the TTL attribute to 90 days after the period resets, and none for a lifetime counter', async () => {
      // Prepare
      // 2026-12-01T00:00:00Z is 1,796,083,200 s; + 90 × 86,400 = 1,803,859,200
      const monthly = counter({ resets_at: '2026-12-01T00:00:00.000Z' });
      const lifetime = counter({ period: 'lifetime', resets_at: null, limit_micros: null });

      // Act
      await reserve([monthly], 1);
      await reserve([lifetime], 1);
      const [m, l] = [await rawCounter(monthly), await rawCounter(lifetime)];

      // Assess
      expect(m?.expires_at).toEqual({ N: '1803859200' });
      expect(m?.resets_at).toEqual({ S: '2026-12-01T00:00:00.000Z' });
      expect(l?.expires_at).toBeUndefined();
      expect(l?.resets_at).toEqual({ NULL: true });
    });
  });

  describe.skipIf(engine.skip !== undefined)('leases', () => {
    it("releases a crashed request's reservation once its lease has expired, so the next request fits", async () => {
      // Prepare: a request reserves 900,000 of 1,000,000 and its invocation dies without settling.
      const c = counter();
      await reserve([c], 900_000, lease(new Date(now.getTime() + 1_000)));
      const whileAlive = await rejectionOf(reserve([c], 200_000));
      now = new Date(now.getTime() + 2_000);

      // Act
      await reserve([c], 200_000);

      // Assess
      expect(whileAlive).toBeInstanceOf(BudgetExceededError);
      expect(await ledger.read(c)).toMatchObject({ committed_micros: 200_000, spent_micros: 0 });
    });

    it('settles a request whose lease was reclaimed without giving its reservation back twice', async () => {
      // Prepare: the slow request's lease expires and another request reclaims it.
      const c = counter();
      const slow = await reserve([c], 900_000, lease(new Date(now.getTime() + 1_000)));
      now = new Date(now.getTime() + 2_000);
      const next = await reserve([c], 200_000);

      // Act: the slow one finishes after all, costing 300,000; the next one costs 50,000.
      const [late] = await ledger.settle(slow, 300_000);
      await ledger.settle(next, 50_000);

      // Assess
      expect(await ledger.read(c)).toMatchObject({ committed_micros: 350_000, spent_micros: 350_000 });
      expect(late).toMatchObject({ spent_before_micros: 0, spent_after_micros: 300_000 });
    });

    it('leaves an unexpired reservation alone when a request is refused', async () => {
      // Prepare
      const c = counter();
      const alive = await reserve([c], 900_000);

      // Act
      const refused = await rejectionOf(reserve([c], 200_000));
      await ledger.settle(alive, 100_000);

      // Assess
      expect(refused).toBeInstanceOf(BudgetExceededError);
      expect(await ledger.read(c)).toMatchObject({ committed_micros: 100_000, spent_micros: 100_000 });
    });

    it("reports each settlement's spend before and after, as one atomic step of many", async () => {
      // Prepare
      const c = counter({ limit_micros: null });
      const reservations = await Promise.all(Array.from({ length: 20 }, () => reserve([c], 10_000)));

      // Act
      const settled = (await Promise.all(reservations.map((r) => ledger.settle(r, 7_000)))).flat();

      // Assess: the after-values are 7,000 … 140,000, each exactly once, each 7,000 above its before.
      const afters = settled.map((s) => s.spent_after_micros).sort((a, b) => a - b);
      expect(afters).toEqual(Array.from({ length: 20 }, (_, i) => (i + 1) * 7_000));
      expect(settled.every((s) => s.spent_after_micros - s.spent_before_micros === 7_000)).toBe(true);
    });
  });

  describe.skipIf(engine.skip !== undefined)('writes the SDK retries after a lost reply', () => {
    it('counts a reservation sent twice under one lease once', async () => {
      // Prepare
      const c = counter();
      const l = lease();

      // Act
      await reserve([c], 300_000, l);
      await reserve([c], 300_000, l);

      // Assess
      expect(await ledger.read(c)).toMatchObject({ committed_micros: 300_000 });
    });

    it('counts a settlement sent twice once, also after its lease was reclaimed', async () => {
      // Prepare
      const [fresh, slow] = [counter(), counter()];
      const r1 = await reserve([fresh], 300_000);
      const r2 = await reserve([slow], 300_000, lease(new Date(now.getTime() + 1_000)));
      now = new Date(now.getTime() + 2_000);
      await reserve([slow], 800_000);

      // Act
      await ledger.settle(r1, 100_000);
      const [again] = await ledger.settle(r1, 100_000);
      await ledger.settle(r2, 100_000);
      await ledger.settle(r2, 100_000);

      // Assess
      expect(await ledger.read(fresh)).toMatchObject({ spent_micros: 100_000, committed_micros: 100_000 });
      expect(await ledger.read(slow)).toMatchObject({ spent_micros: 100_000, committed_micros: 900_000 });
      expect(again).toMatchObject({ spent_before_micros: 100_000, spent_after_micros: 100_000 });
    });
  });

  describe.skipIf(engine.skip !== undefined)('metered counters', () => {
    it("sweep a crashed request's reservation when another request settles, though they never refuse", async () => {
      // Prepare: no limit, so no refusal ever reclaims; the crashed reservation must not stay counted.
      const c = counter({ limit_micros: null });
      await reserve([c], 500_000, lease(new Date(now.getTime() + 1_000)));
      now = new Date(now.getTime() + 2_000);
      const next = await reserve([c], 10_000);

      // Act
      await ledger.settle(next, 4_000);

      // Assess
      expect(await ledger.read(c)).toEqual({
        spent_micros: 4_000,
        committed_micros: 4_000,
        worst_committed_micros: 4_000,
      });
    });
  });

  describe.skipIf(engine.skip !== undefined)('fair counters', () => {
    it('refuses a worst case over the ceiling even while the expected cost fits the limit', async () => {
      // Prepare: limit 1,000,000, ceiling 1,100,000; 1,000,000 of worst cases are out.
      const c = counter({ mode: 'fair' });
      const claim = (expected: number, worst: number): Claim[] => [
        { counter: c, amount_micros: expected, worst_micros: worst, ceiling_micros: 1_100_000 },
      ];
      await ledger.reserve(claim(100_000, 1_000_000), lease());

      // Act
      const refused = await rejectionOf(ledger.reserve(claim(100_000, 200_000), lease()));
      const fits = await ledger.reserve(claim(100_000, 100_000), lease());

      // Assess
      expect(refused).toBeInstanceOf(BudgetExceededError);
      expect(fits.claims).toHaveLength(1);
      expect(await ledger.read(c)).toEqual({
        spent_micros: 0,
        committed_micros: 200_000,
        worst_committed_micros: 1_100_000,
      });
    });
  });

  describe.skipIf(engine.skip !== undefined)('a budget switched from strict to fair mid-period', () => {
    it('still counts the worst cases in flight against the fair ceiling', async () => {
      // Prepare: 900,000 of worst case reserved while strict.
      const strict = counter();
      await reserve([strict], 900_000);
      const fair = { ...strict, mode: 'fair' as const };

      // Act: an expected 100,000 fits the limit, but its 900,000 worst case does not fit the ceiling.
      const refused = await rejectionOf(
        ledger.reserve(
          [{ counter: fair, amount_micros: 100_000, worst_micros: 900_000, ceiling_micros: 1_100_000 }],
          lease(),
        ),
      );

      // Assess
      expect(refused).toBeInstanceOf(BudgetExceededError);
    });
  });

  describe.skipIf(engine.skip !== undefined)('alert claims', () => {
    it('let exactly one of 100 concurrent claimers send an alert, and only once per key', async () => {
      // Prepare
      const claims = createDynamoAlertClaims(client, TABLE);
      const key = `team:${randomUUID()}|2026-11|80`;

      // Act
      const won = await Promise.all(
        Array.from({ length: 100 }, () => claims.claim(key, '2026-12-01T00:00:00.000Z')),
      );
      const other = await claims.claim(`${key}0`, null);

      // Assess
      expect(won.filter(Boolean)).toHaveLength(1);
      expect(other).toBe(true);
    });
  });

  describe.skipIf(engine.skip !== undefined)('parallel slots', () => {
    it('takes a slot sent twice under one lease once, and frees it once', async () => {
      // Prepare
      const limiter = createDynamoRateLimiter(client, TABLE, clock);
      const slot = { scope: `key:${randomUUID()}`, max: 1 };
      const l = lease();

      // Act
      await limiter.acquire(slot, l);
      await limiter.acquire(slot, l);
      const other = await rejectionOf(limiter.acquire(slot, lease()));
      await limiter.release(slot, l.id);
      await limiter.release(slot, l.id);
      await limiter.acquire(slot, lease());
      const full = await rejectionOf(limiter.acquire(slot, lease()));

      // Assess
      expect(other).toMatchObject({ status: 429 });
      expect(full).toMatchObject({ status: 429 });
    });

    it("frees a crashed request's slot once its lease has expired", async () => {
      // Prepare
      const limiter = createDynamoRateLimiter(client, TABLE, clock);
      const slot = { scope: `key:${randomUUID()}`, max: 1 };
      await limiter.acquire(slot, lease(new Date(now.getTime() + 1_000)));
      const whileAlive = await rejectionOf(limiter.acquire(slot, lease()));
      now = new Date(now.getTime() + 2_000);

      // Act
      await limiter.acquire(slot, lease());

      // Assess
      expect(whileAlive).toMatchObject({ status: 429 });
    });
  });

  describe.skipIf(engine.skip !== undefined)('reserveBudget', () => {
    // claude-opus-4-5: a 10,000-token prompt at the dearest input rate (1h cache write, 10) is 100,000 µ$,
    // each output token 25 µ$; 64,000 output tokens make the full reservation 100,000 + 1,600,000 = 1,700,000 µ$.
    const price = createModelCatalog().resolve('claude-opus-4-5')!.price;
    const request = {
      promptTokens: 10_000,
      outputTokens: 64_000,
      price,
      fairOutputTokens: 4_096,
      fairOvershootPct: 10,
    };

    it('reserves the full cost when the budget covers it, without capping the output', async () => {
      // Prepare
      const c = counter({ limit_micros: 2_000_000 });

      // Act
      const result = await reserveBudget(ledger, [c], request, lease());

      // Assess
      expect(result).toEqual({
        reservation: {
          lease_id: expect.any(String),
          claims: [{ counter: c, amount_micros: 1_700_000, worst_micros: 1_700_000, ceiling_micros: null }],
          binding: { counter: c, remaining_micros: 300_000 },
        },
        outputCap: undefined,
      });
      expect((await ledger.read(c)).committed_micros).toBe(1_700_000);
    });

    it('reserves exactly what remains and caps the output to what that pays for', async () => {
      // Prepare
      // 150,000 µ$ remain: (150,000 − 100,000) / 25 = 2,000 output tokens
      const c = counter({ limit_micros: 1_000_000 });
      await reserve([c], 850_000);

      // Act
      const result = await reserveBudget(ledger, [c], request, lease());

      // Assess
      expect(result).toEqual({
        reservation: {
          lease_id: expect.any(String),
          claims: [{ counter: c, amount_micros: 150_000, worst_micros: 150_000, ceiling_micros: null }],
          binding: { counter: c, remaining_micros: 0 },
        },
        outputCap: 2_000,
      });
      expect((await ledger.read(c)).committed_micros).toBe(1_000_000);
    });

    it('still caps when what remains pays for exactly 1,024 output tokens', async () => {
      // Prepare
      // 100,000 + 1,024 × 25 = 125,600
      const c = counter({ limit_micros: 125_600 });

      // Act
      const result = await reserveBudget(ledger, [c], request, lease());

      // Assess
      expect(result.outputCap).toBe(1_024);
      expect(result.reservation.claims[0]?.amount_micros).toBe(125_600);
    });

    it('refuses with 402 and takes nothing when what remains pays for fewer than 1,024 output tokens', async () => {
      // Prepare
      // (125,599 − 100,000) / 25 = 1,023.96 → 1,023 tokens
      const c = counter({ limit_micros: 125_599 });

      // Act
      const err = await rejectionOf(reserveBudget(ledger, [c], request, lease()));

      // Assess
      expect(err).toBeInstanceOf(BudgetExceededError);
      expect(err).toMatchObject({ status: 402, remaining_micros: 125_599 });
      expect((await ledger.read(c)).committed_micros).toBe(0);
    });

    // The key has 500,000 µ$ left and the team 150,000: the team's remainder decides, paying for the
    // prompt and (150,000 − 100,000) / 25 = 2,000 output tokens.
    it('caps to the tightest of several short budgets', async () => {
      // Prepare
      const key = counter({ scope: 'key', limit_micros: 500_000 });
      const team = counter({ scope: 'team', label: 'platform', limit_micros: 150_000 });

      // Act
      const result = await reserveBudget(ledger, [key, team], request, lease());

      // Assess
      expect(result.outputCap).toBe(2_000);
      expect(result.reservation.claims[0]?.amount_micros).toBe(150_000);
    });
  });

  describe.skipIf(engine.skip !== undefined)('key store', () => {
    const virtualKey = (overrides: Partial<VirtualKey> = {}): VirtualKey => {
      const hash = randomUUID().replaceAll('-', '').padEnd(64, '0');
      return {
        hash,
        key_id: hash.slice(0, 12),
        key_alias: 'laptop',
        user_id: 'alice',
        team_id: null,
        models: ['claude-sonnet-4-5', 'gpt-5'],
        max_budget_micros: 50_000_000,
        soft_budget_micros: 40_000_000,
        budget_duration: '30d',
        budget_mode: 'fair',
        model_max_budget: { 'claude-opus-4-5': { limit_micros: 5_000_000, duration: '1d' } },
        provider_max_budget: { anthropic: { limit_micros: 20_000_000, duration: null } },
        max_parallel_requests: 4,
        metadata: { owner: { email: 'alice@example.com' }, seats: 3 },
        tags: ['cli', 'eu'],
        billing_type: 'usage',
        rpm_limit: null,
        tpm_limit: null,
        blocked: false,
        created_at: '2026-11-25T10:00:00.000Z',
        expires_at: null,
        key_name: 'sk-tg-...wxyz',
        budget_parent: 'a1b2c3d4e5f6',
        ...overrides,
      };
    };

    it('returns a created key exactly as it was stored', async () => {
      // Prepare
      const store = createDynamoKeyStore(client, TABLE);
      const key = virtualKey();

      // Act
      await store.create(key);
      const found = await store.get(key.hash);

      // Assess
      expect(found).toEqual(key);
    });

    it('round-trips empty lists, nulls and a blocked flag', async () => {
      // Prepare
      const store = createDynamoKeyStore(client, TABLE);
      const key = virtualKey({
        key_alias: null,
        user_id: null,
        models: [],
        tags: [],
        max_budget_micros: null,
        budget_duration: null,
        metadata: {},
        blocked: true,
        expires_at: '2027-01-01T00:00:00.000Z',
        budget_parent: null,
      });

      // Act
      await store.create(key);
      const found = await store.get(key.hash);

      // Assess
      expect(found).toEqual(key);
    });

    it('finds a key by its key_id under its current secret, and nothing for an unknown one', async () => {
      // Prepare
      const store = createDynamoKeyStore(client, TABLE);
      const key = virtualKey();
      await store.create(key);
      const regenerated = { ...key, hash: 'f'.repeat(64) };
      await store.update(regenerated, key.hash);

      // Act
      const found = await store.getById(key.key_id);
      const unknown = await store.getById('000000000000');

      // Assess
      expect(found).toEqual(regenerated);
      expect(unknown).toBeUndefined();
    });

    it('finds nothing for an unknown hash', async () => {
      // Prepare
      const store = createDynamoKeyStore(client, TABLE);

      // Act
      const found = await store.get('0'.repeat(64));

      // Assess
      expect(found).toBeUndefined();
    });

    it('refuses to create a key twice with ConflictError and keeps the first', async () => {
      // Prepare
      const store = createDynamoKeyStore(client, TABLE);
      const first = virtualKey();
      await store.create(first);

      // Act
      const err = await rejectionOf(store.create({ ...first, key_alias: 'impostor' }));

      // Assess
      expect(err).toBeInstanceOf(ConflictError);
      expect(err).toMatchObject({ name: 'ConflictError' });
      expect((await store.get(first.hash))?.key_alias).toBe('laptop');
    });
  });
});
