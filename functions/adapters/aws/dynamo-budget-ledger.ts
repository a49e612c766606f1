import { type AttributeValue, type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { BudgetExceededError } from '../../core/errors.ts';
import type {
  BudgetCounter,
  BudgetLedger,
  Claim,
  CounterState,
  Lease,
  Reservation,
  Settlement,
} from '../../core/ports/budgets.ts';
import type { Clock } from '../../core/ports/clock.ts';
import { counterKey, describedCounter } from './dynamo-counter.ts';
import {
  heldAmounts,
  holdsLease,
  LEASE_HELD,
  LEASE_RECLAIMED,
  leaseAttribute,
  leaseValue,
  reclaimExpired,
  releaseLease,
} from './dynamo-leases.ts';
import { conditionFailed, readItem } from './dynamo-query.ts';

const COUNTERS = { a: 'committed_micros', w: 'worst_micros' } as const;

/**
 * Budget counters in DynamoDB. Each counter item holds `committed_micros` (settled spend plus open
 * reservations), `spent_micros`, on fair budgets `worst_micros` (settled spend plus the open
 * reservations' worst cases), and one lease attribute per open reservation (dynamo-leases.ts). A
 * reservation is one conditional ADD per counter — DynamoDB conditions cannot do arithmetic, so the
 * limit minus the amount is precomputed — issued in parallel and compensated if any fails (dynalite
 * has no TransactWriteItems, and this also scales better).
 */
export function createDynamoBudgetLedger(
  client: DynamoDBClient,
  tableName: string,
  clock: Clock,
): BudgetLedger {
  const key = counterKey;

  const getItem = async (c: BudgetCounter) => readItem(client, tableName, key(c));

  const stateOf = (item: Record<string, AttributeValue> | undefined): CounterState => ({
    spent_micros: Number(item?.spent_micros?.N ?? 0),
    committed_micros: Number(item?.committed_micros?.N ?? 0),
    worst_committed_micros: Number(item?.worst_micros?.N ?? 0),
  });

  const exceeded = (c: BudgetCounter, state: CounterState, cause?: unknown) =>
    new BudgetExceededError(c.scope, c.label, c.limit_micros ?? 0, state.committed_micros, c.resets_at, {
      cause,
    });

  const described = describedCounter;

  /**
   * Adds the claim to the counter under the lease, if it stays within the limit (and a fair
   * counter's ceiling) and the lease is not there yet; resolves to the new committed total.
   */
  async function take(claim: Claim, lease: Lease): Promise<number> {
    const c = claim.counter;
    const values: Record<string, AttributeValue> = {
      ':c': { N: String(claim.amount_micros) },
      ':w': { N: String(claim.worst_micros) },
      ':lease': leaseValue({ a: claim.amount_micros, w: claim.worst_micros }, lease),
    };
    const conditions = ['attribute_not_exists(#lease)'];
    if (c.limit_micros !== null) {
      conditions.push('(attribute_not_exists(committed_micros) OR committed_micros <= :max)');
      values[':max'] = { N: String(c.limit_micros - claim.amount_micros) };
    }
    if (claim.ceiling_micros !== null) {
      conditions.push('(attribute_not_exists(worst_micros) OR worst_micros <= :wmax)');
      values[':wmax'] = { N: String(claim.ceiling_micros - claim.worst_micros) };
    }
    const { Attributes } = await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: key(c),
        UpdateExpression: `ADD committed_micros :c, worst_micros :w SET #lease = :lease, ${described(c, values)}`,
        ConditionExpression: conditions.join(' AND '),
        ExpressionAttributeNames: { '#lease': leaseAttribute(lease.id) },
        ExpressionAttributeValues: values,
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(Attributes?.committed_micros?.N ?? 0);
  }

  /**
   * Reserves on one counter; resolves to what its limit leaves after, or null without a limit. A
   * refusal reads the counter: its own lease there means an earlier attempt of this very write
   * landed (the SDK retried after a lost reply); expired leases holding it are released and it is
   * tried once more.
   */
  async function reserveOne(claim: Claim, lease: Lease): Promise<number | null> {
    const c = claim.counter;
    const left = (committed: number) => (c.limit_micros === null ? null : c.limit_micros - committed);
    const tooBig =
      (c.limit_micros !== null && claim.amount_micros > c.limit_micros) ||
      (claim.ceiling_micros !== null && claim.worst_micros > claim.ceiling_micros);
    if (tooBig) throw exceeded(c, stateOf(await getItem(c)));
    for (let attempt = 1; ; attempt++) {
      try {
        return left(await take(claim, lease));
      } catch (err) {
        if (!conditionFailed(err)) throw err;
        const item = await getItem(c);
        if (holdsLease(item, leaseAttribute(lease.id))) return left(stateOf(item).committed_micros);
        const reclaimed =
          attempt === 1
            ? await reclaimExpired(client, tableName, key(c), COUNTERS, item, clock.now(), { mark: true })
            : 0;
        if (reclaimed === 0) throw exceeded(c, stateOf(item), err);
      }
    }
  }

  /**
   * Settles one counter: the lease's amounts become the actual cost. If the lease was reclaimed
   * meanwhile, only the cost is added; if neither is there, this settlement already landed (a retried
   * write). Settling also sweeps the counter's expired leases, so a metered counter that never
   * refuses does not collect crashed requests' reservations.
   */
  async function settleOne(claim: Claim, lease_id: string, actual: number): Promise<Settlement> {
    const c = claim.counter;
    const values: Record<string, AttributeValue> = { ':s': { N: String(actual) }, ':one': { N: '1' } };
    const set = described(c, values);
    const send = (update: string, condition: string) =>
      client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: key(c),
          UpdateExpression: `${update} SET ${set} REMOVE #lease`,
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#lease': leaseAttribute(lease_id) },
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
    let item: Record<string, AttributeValue> | undefined;
    try {
      values[':delta'] = { N: String(actual - claim.amount_micros) };
      values[':wdelta'] = { N: String(actual - claim.worst_micros) };
      item = (
        await send(
          'ADD committed_micros :delta, worst_micros :wdelta, spent_micros :s, requests :one',
          LEASE_HELD,
        )
      ).Attributes;
    } catch (err) {
      if (!conditionFailed(err)) throw err;
      delete values[':delta'];
      delete values[':wdelta'];
      item = await settleReclaimed(send);
      if (!item) {
        const state = stateOf(await getItem(c));
        return {
          counter: c,
          spent_before_micros: state.spent_micros,
          spent_after_micros: state.spent_micros,
        };
      }
    }
    await reclaimExpired(client, tableName, key(c), COUNTERS, item, clock.now(), { mark: true });
    const after = Number(item?.spent_micros?.N ?? actual);
    return { counter: c, spent_before_micros: after - actual, spent_after_micros: after };
  }

  /** The lease expired and was released: its amounts are gone already, only the cost remains to add. */
  async function settleReclaimed(
    send: (update: string, condition: string) => Promise<{ Attributes?: Record<string, AttributeValue> }>,
  ) {
    try {
      return (
        await send(
          'ADD committed_micros :s, worst_micros :s, spent_micros :s, requests :one',
          LEASE_RECLAIMED,
        )
      ).Attributes;
    } catch (err) {
      if (!conditionFailed(err)) throw err;
      return undefined;
    }
  }

  /** Recovery: what a dead request's lease holds on each counter (undefined where it holds nothing). */
  const heldOn = (counters: BudgetCounter[], lease_id: string) =>
    Promise.all(counters.map(async (c) => heldAmounts(await getItem(c), leaseAttribute(lease_id))));

  async function leaseHeld(counters: BudgetCounter[], lease_id: string): Promise<number | null> {
    const held = await heldOn(counters, lease_id);
    if (counters.length === 0 || held.some((h) => h === undefined)) return null;
    return Math.max(...held.map((h) => h?.w ?? h?.a ?? 0));
  }

  async function settleLease(counters: BudgetCounter[], lease_id: string, actual: number | null) {
    const held = await heldOn(counters, lease_id);
    await Promise.all(
      counters.map(async (counter, i) => {
        const h = held[i];
        if (!h) return;
        if (actual === null)
          return releaseLease(client, tableName, key(counter), COUNTERS, leaseAttribute(lease_id), h);
        const claim = { counter, amount_micros: h.a, worst_micros: h.w ?? h.a, ceiling_micros: null };
        return settleOne(claim, lease_id, actual);
      }),
    );
  }

  return {
    leaseHeld,
    settleLease,
    async reserve(claims, lease): Promise<Reservation> {
      const results = await Promise.allSettled(claims.map((claim) => reserveOne(claim, lease)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        const attribute = leaseAttribute(lease.id);
        const taken = claims.filter((_, i) => results[i]?.status === 'fulfilled');
        await Promise.all(
          taken.map((t) =>
            releaseLease(client, tableName, key(t.counter), COUNTERS, attribute, {
              a: t.amount_micros,
              w: t.worst_micros,
            }),
          ),
        );
        throw failed.reason;
      }
      let binding: Reservation['binding'] = null;
      results.forEach((r, i) => {
        const remaining = r.status === 'fulfilled' ? r.value : null;
        const counter = claims[i]?.counter;
        if (remaining === null || !counter) return;
        if (!binding || remaining < binding.remaining_micros)
          binding = { counter, remaining_micros: remaining };
      });
      return { lease_id: lease.id, claims, binding };
    },
    async settle({ claims, lease_id }, actual_micros, after) {
      await after;
      return Promise.all(claims.map((claim) => settleOne(claim, lease_id, actual_micros)));
    },
    read: async (c) => stateOf(await getItem(c)),
  };
}
