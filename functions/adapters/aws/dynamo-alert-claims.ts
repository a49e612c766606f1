import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { AlertClaims } from '../../core/ports/alerts.ts';

/** Claims outlive the period they are about by this long, then DynamoDB's TTL removes them. */
const RETAIN_S = 90 * 86_400;

/**
 * Alert claims in DynamoDB: one item per alert key (`ALERT#<key>`), put only if absent. Of many
 * concurrent claimers exactly one succeeds.
 */
export function createDynamoAlertClaims(client: DynamoDBClient, tableName: string): AlertClaims {
  return {
    async claim(key, until) {
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: {
              pk: { S: `ALERT#${key}` },
              sk: { S: 'claim' },
              ...(until && { expires_at: { N: String(Math.floor(Date.parse(until) / 1000) + RETAIN_S) } }),
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        return true;
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) return false;
        throw err;
      }
    },
  };
}
