import { type AttributeValue, type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GatewayError } from '../../core/errors.ts';
import { retryAfterSeconds } from '../../core/governance/rate-limits.ts';
import type { Lease } from '../../core/ports/budgets.ts';
import type { Clock } from '../../core/ports/clock.ts';
import type {
  ParallelSlot,
  RateLimiter,
  RateQuotaStore,
  RateWindow,
  SlotState,
  SlotStore,
} from '../../core/ports/rate-limits.ts';
import {
  holdsLease,
  leaseAttribute,
  leaseValue,
  liveHolders,
  reclaimExpired,
  releaseLease,
} from './dynamo-leases.ts';
import { conditionFailed, readItem } from './dynamo-query.ts';

/** Seconds a client refused for parallelism is told to wait: slots free up as requests finish. */
const PARALLEL_RETRY_AFTER_S = 1;

/**
 * Rate-limit windows in DynamoDB: one item per scope and minute, `requests` and `tokens` counted with
 * ADD. Admission is one conditional update: the request counts only if both counts are under their
 * limits (tokens are those of requests already finished in the minute). Items expire by TTL.
 * Parallel slots are one item per scope, `inflight` counted under a lease per request
 * (dynamo-leases.ts), so a crashed invocation's slot frees itself once its lease expires. An instance
 * may hold several slots under one lease of its own (`L_<holder>`, same shape), counted in the same total.
 */
export function createDynamoRateLimiter(
  client: DynamoDBClient,
  tableName: string,
  clock: Clock,
): RateLimiter & RateQuotaStore & SlotStore {
  const key = (w: RateWindow): Record<string, AttributeValue> => ({
    pk: { S: `RATE#${w.scope}` },
    sk: { S: w.window },
  });
  const ttl = (w: RateWindow): AttributeValue => ({
    N: String(Math.floor(Date.parse(w.resets_at) / 1000) + 120),
  });

  async function refuse(w: RateWindow, cause: unknown): Promise<GatewayError> {
    const Item = await readItem(client, tableName, key(w));
    const requests = Number(Item?.requests?.N ?? 0);
    const tokens = Number(Item?.tokens?.N ?? 0);
    const what =
      w.rpm !== null && requests >= w.rpm
        ? `${requests} of ${w.rpm} requests per minute`
        : `${tokens} of ${w.tpm} tokens per minute`;
    const retryAfter = retryAfterSeconds(w, clock.now());
    return new GatewayError(
      'rate_limited',
      `Rate limit reached for ${w.scope}: ${what}. Retry in ${retryAfter} s.`,
      {
        cause,
        headers: { 'retry-after': String(retryAfter) },
      },
    );
  }

  const slotKey = (s: ParallelSlot): Record<string, AttributeValue> => ({
    pk: { S: `PARALLEL#${s.scope}` },
    sk: { S: 'inflight' },
  });

  const takeSlot = (s: ParallelSlot, lease: Lease) =>
    client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: slotKey(s),
        UpdateExpression: 'ADD inflight :one SET #lease = :lease',
        ConditionExpression:
          'attribute_not_exists(#lease) AND (attribute_not_exists(inflight) OR inflight < :max)',
        ExpressionAttributeNames: { '#lease': leaseAttribute(lease.id) },
        ExpressionAttributeValues: {
          ':one': { N: '1' },
          ':max': { N: String(s.max) },
          ':lease': leaseValue({ a: 1 }, lease),
        },
      }),
    );

  const slotStateOf = (item: Record<string, AttributeValue> | undefined, holder: string): SlotState => {
    const now = clock.now().getTime();
    return {
      inflight: Number(item?.inflight?.N ?? 0),
      held: Number(item?.[leaseAttribute(holder)]?.M?.a?.N ?? 0),
      holders: liveHolders(item, now),
    };
  };

  /** One conditional update on the scope's item; null when its condition fails. */
  async function updateSlots(
    s: ParallelSlot,
    holder: string,
    update: string,
    condition: string,
    values: Record<string, AttributeValue>,
  ): Promise<SlotState | null> {
    try {
      const { Attributes } = await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: slotKey(s),
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#lease': leaseAttribute(holder) },
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return slotStateOf(Attributes, holder);
    } catch (err) {
      if (conditionFailed(err)) return null;
      throw err;
    }
  }

  return {
    async takeSlots(s, holder, n, expiresAt) {
      if (n > s.max) return null;
      const values: Record<string, AttributeValue> = {
        ':n': { N: String(n) },
        ':max': { N: String(s.max - n) },
        ':x': { N: String(expiresAt.getTime()) },
        ':now': { N: String(clock.now().getTime()) },
      };
      const within = '(attribute_not_exists(inflight) OR inflight <= :max)';
      for (let attempt = 1; ; attempt++) {
        // The holder's lease is there and alive: it grows. (An expired one may be reclaimed any moment.)
        const grown = await updateSlots(
          s,
          holder,
          'ADD inflight :n SET #lease.a = #lease.a + :n, #lease.x = :x',
          `attribute_exists(#lease.a) AND #lease.x > :now AND ${within}`,
          values,
        );
        if (grown) return grown;
        const Item = await readItem(client, tableName, slotKey(s));
        const own = Item?.[leaseAttribute(holder)]?.M;
        const alive = own?.a !== undefined && Number(own.x?.N ?? 0) > clock.now().getTime();
        if (!alive) {
          // None (or one expired or reclaimed): made afresh, once an expired one of its own is released.
          if (own?.a !== undefined)
            await releaseLease(
              client,
              tableName,
              slotKey(s),
              { a: 'inflight' },
              leaseAttribute(holder),
              { a: Number(own.a.N) },
              { ifExpiresAt: Number(own.x?.N ?? 0) },
            );
          const made = await updateSlots(
            s,
            holder,
            'ADD inflight :n SET #lease = :lease',
            `attribute_not_exists(#lease) AND ${within}`,
            {
              ':n': values[':n'] as AttributeValue,
              ':max': values[':max'] as AttributeValue,
              ':lease': leaseValue({ a: n }, { id: holder, expires_at: expiresAt }),
            },
          );
          if (made) return made;
        }
        // Full: slots whose leases expired (a dead holder's, a lost request's) are given back, then once more.
        const reclaimed =
          attempt === 1
            ? await reclaimExpired(client, tableName, slotKey(s), { a: 'inflight' }, Item, clock.now(), {
                mark: false,
              })
            : 0;
        if (reclaimed === 0) return null;
      }
    },
    async dropSlots(s, holder) {
      const Item = await readItem(client, tableName, slotKey(s));
      const held = Number(Item?.[leaseAttribute(holder)]?.M?.a?.N ?? 0);
      if (held > 0)
        await releaseLease(client, tableName, slotKey(s), { a: 'inflight' }, leaseAttribute(holder), {
          a: held,
        });
    },
    async returnSlots(s, holder, n, expiresAt) {
      const state = await updateSlots(
        s,
        holder,
        'ADD inflight :n SET #lease.a = #lease.a - :k, #lease.x = :x',
        'attribute_exists(#lease.a) AND #lease.a >= :k',
        { ':n': { N: String(-n) }, ':k': { N: String(n) }, ':x': { N: String(expiresAt.getTime()) } },
      );
      return state !== null;
    },
    async acquire(s, lease) {
      for (let attempt = 1; ; attempt++) {
        try {
          await takeSlot(s, lease);
          return;
        } catch (err) {
          if (!conditionFailed(err)) throw err;
          const Item = await readItem(client, tableName, slotKey(s));
          // Our own lease there: an earlier attempt of this write landed and the SDK retried it.
          if (holdsLease(Item, leaseAttribute(lease.id))) return;
          const reclaimed =
            attempt === 1
              ? await reclaimExpired(client, tableName, slotKey(s), { a: 'inflight' }, Item, clock.now(), {
                  mark: false,
                })
              : 0;
          if (reclaimed > 0) continue;
          throw new GatewayError(
            'rate_limited',
            `Parallel request limit reached for ${s.scope}: ${s.max} requests already in flight.`,
            { cause: err, headers: { 'retry-after': String(PARALLEL_RETRY_AFTER_S) } },
          );
        }
      }
    },
    async release(s, lease_id) {
      await releaseLease(client, tableName, slotKey(s), { a: 'inflight' }, leaseAttribute(lease_id), {
        a: 1,
      });
    },
    async admit(w) {
      const conditions: string[] = [];
      const values: Record<string, AttributeValue> = { ':one': { N: '1' }, ':ttl': ttl(w) };
      if (w.rpm !== null) {
        conditions.push('(attribute_not_exists(requests) OR requests < :rpm)');
        values[':rpm'] = { N: String(w.rpm) };
      }
      if (w.tpm !== null) {
        conditions.push('(attribute_not_exists(tokens) OR tokens < :tpm)');
        values[':tpm'] = { N: String(w.tpm) };
      }
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: key(w),
            UpdateExpression: 'ADD requests :one SET expires_at = :ttl',
            ConditionExpression: conditions.join(' AND ') || undefined,
            ExpressionAttributeValues: values,
          }),
        );
      } catch (err) {
        if (conditionFailed(err)) throw await refuse(w, err);
        throw err;
      }
    },
    async takeRequests(w, n) {
      const conditions: string[] = [];
      const values: Record<string, AttributeValue> = { ':n': { N: String(n) }, ':ttl': ttl(w) };
      if (w.rpm !== null) {
        conditions.push('(attribute_not_exists(requests) OR requests <= :rpm)');
        values[':rpm'] = { N: String(w.rpm - n) };
      }
      if (w.tpm !== null) {
        conditions.push('(attribute_not_exists(tokens) OR tokens < :tpm)');
        values[':tpm'] = { N: String(w.tpm) };
      }
      if (w.rpm !== null && n > w.rpm) return null;
      try {
        const { Attributes } = await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: key(w),
            UpdateExpression: 'ADD requests :n SET expires_at = :ttl',
            ConditionExpression: conditions.join(' AND ') || undefined,
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_NEW',
          }),
        );
        return { requests: Number(Attributes?.requests?.N ?? n), tokens: Number(Attributes?.tokens?.N ?? 0) };
      } catch (err) {
        if (conditionFailed(err)) return null;
        throw err;
      }
    },
    async addTokens(w, tokens) {
      if (tokens <= 0) return;
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: key(w),
          UpdateExpression: 'ADD tokens :n SET expires_at = :ttl',
          ExpressionAttributeValues: { ':n': { N: String(tokens) }, ':ttl': ttl(w) },
        }),
      );
    },
  };
}
