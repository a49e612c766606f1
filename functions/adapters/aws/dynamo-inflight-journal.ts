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
import type { InflightEntry, InflightJournal } from '../../core/ports.ts';

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
  /** This environment's entries, to write one again whole when it is finishing. */
  const mine = new Map<string, InflightEntry>();
  const end = async (request_id: string) => {
    mine.delete(request_id);
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
    async begin(started) {
      const entry: InflightEntry = { ...started, holder };
      mine.set(entry.request_id, entry);
      await put(entry);
    },
    async finishing(request_id, final) {
      const entry = mine.get(request_id);
      if (!entry) return;
      entry.final = final;
      await put(entry);
    },
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
