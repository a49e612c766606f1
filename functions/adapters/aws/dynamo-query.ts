import { type AttributeValue, type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';

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
