/** The reads every store of the table makes, and how they tell a refused condition. */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';

/** One item, read strongly consistent (a counter, a key or a document just written must be seen). */
export async function readItem(
  client: DynamoDBClient,
  tableName: string,
  key: Record<string, AttributeValue>,
): Promise<Record<string, AttributeValue> | undefined> {
  return (await client.send(new GetItemCommand({ TableName: tableName, Key: key, ConsistentRead: true })))
    .Item;
}

/** Whether a write was refused by its condition (the SDK's error, which never leaves the adapters). */
export function conditionFailed(err: unknown): boolean {
  return err instanceof ConditionalCheckFailedException;
}

/** Every item of one partition, following DynamoDB's pages (1 MB each) to the end. */
export async function queryPartition<T>(
  client: DynamoDBClient,
  tableName: string,
  pk: AttributeValue,
  fromItem: (item: Record<string, AttributeValue>) => T,
): Promise<T[]> {
  const items: T[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(page.Items ?? []).map(fromItem));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}
