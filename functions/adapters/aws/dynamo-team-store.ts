import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ConflictError, NotFoundError } from '../../core/errors.ts';
import type { Team, TeamStore } from '../../core/ports.ts';
import { queryPartition } from './dynamo-query.ts';

/**
 * Teams in DynamoDB. All teams share one partition (`TEAMS`, sorted by id): a deployment has tens or
 * hundreds of teams, so listing them is one Query, and no scan ever walks the budget counters.
 */
const PK = { S: 'TEAMS' };

export function createDynamoTeamStore(client: DynamoDBClient, tableName: string): TeamStore {
  const put = async (team: Team, condition: string, onFail: () => Error) => {
    try {
      await client.send(
        new PutItemCommand({ TableName: tableName, Item: toItem(team), ConditionExpression: condition }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw onFail();
      throw err;
    }
  };
  return {
    async get(team_id) {
      const { Item } = await client.send(
        new GetItemCommand({
          TableName: tableName,
          Key: { pk: PK, sk: { S: team_id } },
          ConsistentRead: true,
        }),
      );
      return Item ? fromItem(Item) : undefined;
    },
    create: (team) =>
      put(team, 'attribute_not_exists(pk)', () => new ConflictError(`Team '${team.team_id}' already exists`)),
    update: (team) =>
      put(team, 'attribute_exists(pk)', () => new NotFoundError(`Team '${team.team_id}' does not exist`)),
    async delete(team_id) {
      await client.send(new DeleteItemCommand({ TableName: tableName, Key: { pk: PK, sk: { S: team_id } } }));
    },
    list: () => queryPartition(client, tableName, PK, fromItem),
  };
}

/** Teams are small documents: stored as one JSON attribute beside the keys. */
function toItem(team: Team): Record<string, AttributeValue> {
  return { pk: PK, sk: { S: team.team_id }, team_json: { S: JSON.stringify(team) } };
}

function fromItem(item: Record<string, AttributeValue>): Team {
  return JSON.parse(item.team_json?.S ?? '{}') as Team;
}
