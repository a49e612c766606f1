/**
 * The in-flight journal on DynamoDB (AWS): one item per request in flight, `INFLIGHT#<request_id>`,
 * written with one PutItem while the provider call starts and deleted once the request recorded and
 * settled itself. A Lambda environment that dies (timeout, OOM) leaves its items; the scheduled
 * recovery finds those past their expiry through the `inflight` index — keyed by one of a few shards and
 * the expiry, so it is a Query, never a Scan, and no one index partition takes every request's writes.
 */
import {
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  paginateQuery,
} from '@aws-sdk/client-dynamodb';
import type { InflightEntry, InflightJournal } from '../../core/ports/journal.ts';

export const INFLIGHT_INDEX = 'inflight';
const SHARDS = 8;
/** Items outlive their expiry this long (TTL) should recovery never run: a week to notice. */
const KEEP_S = 7 * 86_400;

const key = (request_id: string) => ({ pk: { S: `INFLIGHT#${request_id}` }, sk: { S: 'I' } });

function shardOf(request_id: string): number {
  let h = 0;
  for (let i = 0; i < request_id.length; i++) h = (h * 31 + request_id.charCodeAt(i)) >>> 0;
  return h % SHARDS;
}

export function createDynamoInflightJournal(
  client: DynamoDBClient,
  tableName: string,
  holder: string,
): InflightJournal {
  /** This environment's entries, to write one again whole as it changes. */
  const mine = new Map<string, InflightEntry>();
  /** Requests with an item written (a request is written once it holds a reservation). */
  const written = new Set<string>();
  const writes = new Set<Promise<unknown>>();
  const tracked = <T>(p: Promise<T>): Promise<T> => {
    writes.add(p);
    return p.finally(() => writes.delete(p));
  };
  const end = async (request_id: string) => {
    mine.delete(request_id);
    if (!written.delete(request_id)) return;
    await client.send(new DeleteItemCommand({ TableName: tableName, Key: key(request_id) }));
  };
  const put = async (entry: InflightEntry) => {
    const expiresS = Math.floor(Date.parse(entry.expires_at) / 1000);
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          ...key(entry.request_id),
          gsi1pk: { S: `INFLIGHT#${shardOf(entry.request_id)}` },
          gsi1sk: { S: `${entry.expires_at}#${entry.request_id}` },
          entry: { S: JSON.stringify(entry) },
          expires_at: { N: String(expiresS + KEEP_S) },
        },
      }),
    );
  };
  return {
    // One PutItem per request once it holds a reservation, one as it finishes, one DeleteItem: a Lambda
    // environment dies between invocations' writes only by a timeout or running out of memory, while
    // the request is under way. Before its reservation lands, a dead request holds nothing that does
    // not expire with its lease.
    async begin(started) {
      mine.set(started.request_id, { ...started, holder });
    },
    async reserved(request_id, reservation) {
      const entry = mine.get(request_id);
      if (!entry) return;
      entry.reservation = reservation;
      written.add(request_id);
      await tracked(put(entry));
    },
    async finishing(request_id, final) {
      const entry = mine.get(request_id);
      if (!entry || !written.has(request_id)) return;
      entry.final = final;
      await tracked(put(entry));
    },
    async slice() {},
    async slots() {},
    async flushed() {
      await Promise.allSettled([...writes]);
    },
    orphanSlices: async () => [],
    end,
    async orphans(now) {
      const found: InflightEntry[] = [];
      for (let shard = 0; shard < SHARDS; shard++) {
        const pages = paginateQuery(
          { client },
          {
            TableName: tableName,
            IndexName: INFLIGHT_INDEX,
            KeyConditionExpression: 'gsi1pk = :p AND gsi1sk < :now',
            ExpressionAttributeValues: {
              ':p': { S: `INFLIGHT#${shard}` },
              ':now': { S: now.toISOString() },
            },
          },
        );
        for await (const page of pages) {
          for (const item of page.Items ?? []) {
            if (item.entry?.S) found.push(JSON.parse(item.entry.S) as InflightEntry);
          }
        }
      }
      return found;
    },
    async forget(entries) {
      await Promise.all(entries.map((e) => end(e.request_id)));
    },
    async close() {},
  };
}
