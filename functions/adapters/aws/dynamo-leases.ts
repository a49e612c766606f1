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
 * `L_<lease id>` = {a: amount, x: expiry in epoch ms}. Whoever removes that attribute — the request
 * settling, or a later request reclaiming it past its expiry — is the one that gives the amount back,
 * because both removals are conditional on the attribute still being there. So a crashed invocation's
 * hold is released exactly once, and a late settlement never releases it twice.
 */
const PREFIX = 'L_';

export type ItemKey = Record<string, AttributeValue>;

export function leaseAttribute(id: string): string {
  return `${PREFIX}${id}`;
}

export function leaseValue(amount: number, lease: Lease): AttributeValue {
  return { M: { a: { N: String(amount) }, x: { N: String(lease.expires_at.getTime()) } } };
}

/** The leases on an item whose expiry has passed, with what each holds. */
export function expiredLeases(
  item: Record<string, AttributeValue> | undefined,
  now: Date,
): { attribute: string; amount: number }[] {
  if (!item) return [];
  return Object.entries(item)
    .filter(([name, value]) => name.startsWith(PREFIX) && Number(value.M?.x?.N ?? 0) < now.getTime())
    .map(([attribute, value]) => ({ attribute, amount: Number(value.M?.a?.N ?? 0) }));
}

/**
 * Removes a lease and subtracts what it holds from `counter`, if the lease is still there. Resolves
 * to whether this call was the one that released it.
 */
export async function releaseLease(
  client: DynamoDBClient,
  tableName: string,
  key: ItemKey,
  counter: string,
  attribute: string,
  amount: number,
): Promise<boolean> {
  try {
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression: 'ADD #counter :neg REMOVE #lease',
        ConditionExpression: 'attribute_exists(#lease)',
        ExpressionAttributeNames: { '#counter': counter, '#lease': attribute },
        ExpressionAttributeValues: { ':neg': { N: String(-amount) } },
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
  counter: string,
  item: Record<string, AttributeValue> | undefined,
  now: Date,
): Promise<number> {
  const released = await Promise.all(
    expiredLeases(item, now).map((l) => releaseLease(client, tableName, key, counter, l.attribute, l.amount)),
  );
  return released.filter(Boolean).length;
}
