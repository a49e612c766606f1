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
 * `L_<lease id>` = {a: amount, w: worst case (budgets), x: expiry in epoch ms}.
 *
 * Whoever removes the lease gives its amounts back, and every removal is conditional on the lease
 * still being there, so a hold is released once. A lease reclaimed past its expiry is replaced by a
 * marker {r: true, x}, so that the request, if it settles after all, knows to add only its cost; and
 * a write retried by the SDK after a lost reply finds its own lease (or its absence) and does nothing
 * twice. Markers are swept a day after their expiry.
 */
const PREFIX = 'L_';
const MARKER_KEPT_MS = 86_400_000;

export type ItemKey = Record<string, AttributeValue>;
type Item = Record<string, AttributeValue> | undefined;

export function leaseAttribute(id: string): string {
  return `${PREFIX}${id}`;
}

/**
 * How many instances hold a live slice of an item: lease attributes of holders (`L_h-…`) still holding
 * something (`a`) and not expired (`x`, epoch ms) at `now`. Slices are sized by this count.
 */
export function liveHolders(item: Item, now: number): number {
  return Object.entries(item ?? {}).filter(
    ([name, v]) => name.startsWith(`${PREFIX}h-`) && v.M?.a !== undefined && Number(v.M?.x?.N ?? 0) > now,
  ).length;
}

/** What a lease holds: `a` on the main counter, `w` on the worst-case counter (budgets only). */
export interface Held {
  a: number;
  w?: number;
}

/** Which counter attributes a lease's amounts are taken from. */
export interface LeasedCounters {
  a: string;
  w?: string;
}

export function leaseValue(held: Held, lease: Lease): AttributeValue {
  const value: Record<string, AttributeValue> = {
    a: { N: String(held.a) },
    x: { N: String(lease.expires_at.getTime()) },
  };
  if (held.w !== undefined) value.w = { N: String(held.w) };
  return { M: value };
}

/** Whether the item holds this lease, unreleased (not a marker). */
export function holdsLease(item: Item, attribute: string): boolean {
  return item?.[attribute]?.M?.a !== undefined;
}

/** What the lease holds on the item, if it is held there (unreleased). */
export function heldAmounts(item: Item, attribute: string): Held | undefined {
  const value = item?.[attribute]?.M;
  if (value?.a?.N === undefined) return undefined;
  return { a: Number(value.a.N), ...(value.w?.N !== undefined && { w: Number(value.w.N) }) };
}

/** Conditions, for `#lease`, that the lease is held, or was reclaimed and marked. */
export const LEASE_HELD = 'attribute_exists(#lease.a)';
export const LEASE_RECLAIMED = 'attribute_exists(#lease.r)';

function leasesOf(item: Item) {
  return Object.entries(item ?? {})
    .filter(([name]) => name.startsWith(PREFIX))
    .map(([attribute, value]) => ({
      attribute,
      held: value.M?.a !== undefined,
      expiresMs: Number(value.M?.x?.N ?? 0),
      batch: value.M?.b?.N !== undefined ? Number(value.M.b.N) : undefined,
      amounts: {
        a: Number(value.M?.a?.N ?? 0),
        ...(value.M?.w?.N !== undefined && { w: Number(value.M.w.N) }),
      },
    }));
}

/**
 * Removes a held lease and subtracts what it holds from its counters, if it is still held; with
 * `mark`, leaves a reclaimed-marker in its place. Resolves to whether this call released it.
 */
export async function releaseLease(
  client: DynamoDBClient,
  tableName: string,
  key: ItemKey,
  counters: LeasedCounters,
  attribute: string,
  held: Held,
  options: { mark?: Date; batch?: number; ifExpiresAt?: number } = {},
): Promise<boolean> {
  const names: Record<string, string> = { '#a': counters.a, '#lease': attribute };
  const values: Record<string, AttributeValue> = { ':a': { N: String(-held.a) } };
  let condition = LEASE_HELD;
  if (options.ifExpiresAt !== undefined) {
    // Reclaiming what a read saw: a lease renewed or grown since (a holder's slots) is not this one.
    condition += ' AND #lease.x = :x';
    values[':x'] = { N: String(options.ifExpiresAt) };
  }
  let add = 'ADD #a :a';
  if (counters.w && held.w !== undefined) {
    names['#w'] = counters.w;
    values[':w'] = { N: String(-held.w) };
    add += ', #w :w';
  }
  let then = 'REMOVE #lease';
  if (options.mark) {
    const marker: Record<string, AttributeValue> = {
      r: { BOOL: true },
      x: { N: String(options.mark.getTime()) },
    };
    // A slice's last applied batch survives its reclaim: a late flush of an older batch must not land twice.
    if (options.batch !== undefined) marker.b = { N: String(options.batch) };
    values[':marker'] = { M: marker };
    then = 'SET #lease = :marker';
  }
  try {
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression: `${add} ${then}`,
        ConditionExpression: condition,
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

/**
 * Releases every expired lease on the item (leaving markers where `mark` says a late settlement may
 * come) and sweeps markers a day past their expiry. Resolves to how many leases this call released.
 */
export async function reclaimExpired(
  client: DynamoDBClient,
  tableName: string,
  key: ItemKey,
  counters: LeasedCounters,
  item: Item,
  now: Date,
  options: { mark: boolean },
): Promise<number> {
  const leases = leasesOf(item).filter((l) => l.expiresMs < now.getTime());
  const released = await Promise.all(
    leases
      .filter((l) => l.held)
      .map((l) =>
        releaseLease(client, tableName, key, counters, l.attribute, l.amounts, {
          mark: options.mark ? new Date(l.expiresMs) : undefined,
          batch: l.batch,
          ifExpiresAt: l.expiresMs,
        }),
      ),
  );
  const stale = leases.filter((l) => !l.held && l.expiresMs + MARKER_KEPT_MS < now.getTime());
  await Promise.all(stale.map((l) => sweepMarker(client, tableName, key, l.attribute)));
  return released.filter(Boolean).length;
}

async function sweepMarker(client: DynamoDBClient, tableName: string, key: ItemKey, attribute: string) {
  try {
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression: 'REMOVE #lease',
        ConditionExpression: LEASE_RECLAIMED,
        ExpressionAttributeNames: { '#lease': attribute },
      }),
    );
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
  }
}
