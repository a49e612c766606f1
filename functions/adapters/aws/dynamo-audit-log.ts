import { randomBytes } from 'node:crypto';
import {
  type AttributeValue,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import type { AuditEntry, AuditLog } from '../../core/ports/audit.ts';
import type { Clock } from '../../core/ports/clock.ts';

/** Entries are kept this long (DynamoDB TTL), long enough for a yearly access review. */
const RETAIN_S = 400 * 86_400;

/**
 * The audit trail in DynamoDB: one partition per UTC month (`AUDIT#2026-11`), sorted by time, so a
 * month's entries are one Query and a hot partition never lasts longer than a month.
 */
export function createDynamoAuditLog(client: DynamoDBClient, tableName: string, clock: Clock): AuditLog {
  return {
    async append(entry) {
      const item: Record<string, AttributeValue> = {
        pk: { S: `AUDIT#${entry.ts.slice(0, 7)}` },
        sk: { S: `${entry.ts}#${randomBytes(4).toString('hex')}` },
        entry_json: { S: JSON.stringify(entry) },
        expires_at: { N: String(Math.floor(Date.parse(entry.ts) / 1000) + RETAIN_S) },
      };
      await client.send(new PutItemCommand({ TableName: tableName, Item: item }));
    },
    async list({ since, limit }) {
      const entries: AuditEntry[] = [];
      for (const month of monthsBack(since, clock.now())) {
        let start: Record<string, AttributeValue> | undefined;
        do {
          const page = await client.send(
            new QueryCommand({
              TableName: tableName,
              KeyConditionExpression: 'pk = :pk AND sk >= :since',
              ExpressionAttributeValues: { ':pk': { S: `AUDIT#${month}` }, ':since': { S: since } },
              ScanIndexForward: false,
              Limit: limit - entries.length,
              ExclusiveStartKey: start,
            }),
          );
          for (const item of page.Items ?? [])
            entries.push(JSON.parse(item.entry_json?.S ?? '{}') as AuditEntry);
          start = page.LastEvaluatedKey;
        } while (start && entries.length < limit);
        if (entries.length >= limit) break;
      }
      return entries;
    },
  };
}

/** The months from now back to the one `since` falls in, newest first (at most 24). */
function monthsBack(since: string, now: Date): string[] {
  const months: string[] = [];
  let y = now.getUTCFullYear();
  let m = now.getUTCMonth();
  const stop = since.slice(0, 7);
  for (let i = 0; i < 24; i++) {
    const month = `${y}-${String(m + 1).padStart(2, '0')}`;
    months.push(month);
    if (month <= stop) break;
    m -= 1;
    if (m < 0) [y, m] = [y - 1, 11];
  }
  return months;
}
