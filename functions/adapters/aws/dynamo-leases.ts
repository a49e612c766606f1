import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { Lease } from '../../core/ports.ts';

/**
 * Leases on counter items. Whatever a request holds on a counter (a budget reservation, a parallel
 * slot) is written in the same UpdateItem as the counter's ADD, as a top-level attribute
 * `L_<lease id>` = {a: amount, w: worst-case amount (fair budgets), x: expiry in epoch ms}. Whoever removes that attribute — the request
 * settling, or a later request reclaiming it past its expiry — is the one that gives the amount back,
 * because both removals are conditional on the attribute still being there. So a crashed invocation's
 * hold is released exactly once, and a late settlement never releases it twice.
 */
const PREFIX = 'L_';

export type ItemKey = Record<string, AttributeValue>;

export function leaseAttribute(id: string): string {
  return `${PREFIX}${id}`;
}

/** What a lease holds: `a` on the main counter, `w` (fair budgets) on the worst-case counter. */
export interface Held {
  a: number;
  w?: number;
}

export function leaseValue(held: Held, lease: Lease): AttributeValue {
  const value: Record<string, AttributeValue> = {
    a: { N: String(held.a) },
    x: { N: String(lease.expires_at.getTime()) },
  };
  if (held.w !== undefined) value.w = { N: String(held.w) };
  return { M: value };
}

/** The leases on an item whose expiry has passed, with what each holds. */
export function expiredLeases(
  item: Record<string, AttributeValue> | undefined,
  now: Date,
): { attribute: string; held: Held }[] {
  if (!item) return [];
  return Object.entries(item)
    .filter(([name, value]) => name.startsWith(PREFIX) && Number(value.M?.x?.N ?? 0) < now.getTime())
    .map(([attribute, value]) => ({
      attribute,
      held: {
        a: Number(value.M?.a?.N ?? 0),
        ...(value.M?.w?.N !== undefined && { w: Number(value.M.w.N) }),
      },
    }));
}

/** Which counter attributes a lease's amounts are taken from: `a` always, `w` when it holds one. */
export interface LeasedCounters {
  a: string;
  w?: string;
}

/**
 * Removes a lease and subtracts what it holds from its counters, if the lease is still there.
 * Resolves to whether this call was the one that released it.
 */
export async function releaseLease(
  client: DynamoDBClient,
  tableName: string,
  key: ItemKey,
  counters: LeasedCounters,
  attribute: string,
  held: Held,
): Promise<boolean> {
  const names: Record<string, string> = { '#a': counters.a, '#lease': attribute };
  const values: Record<string, AttributeValue> = { ':a': { N: String(-held.a) } };
  let update = 'ADD #a :a';
  if (counters.w && held.w !== undefined) {
    names['#w'] = counters.w;
    values[':w'] = { N: String(-held.w) };
    update += ', #w :w';
  }
  try {
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression: `${update} REMOVE #lease`,
        ConditionExpression: 'attribute_exists(#lease)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}

/** Releases every expired lease on the item; resolves to how many this call released. */
export async function reclaimExpired(
  client: DynamoDBClient,
  tableName: string,
  key: ItemKey,
  counters: LeasedCounters,
  item: Record<string, AttributeValue> | undefined,
  now: Date,
): Promise<number> {
  const released = await Promise.all(
    expiredLeases(item, now).map((l) => releaseLease(client, tableName, key, counters, l.attribute, l.held)),
  );
  return released.filter(Boolean).length;
}
