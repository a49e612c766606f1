import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ConflictError } from '../../core/errors.ts';
import type { KeyStore, VirtualKey } from '../../core/ports.ts';

const pk = (hash: string) => `KEY#${hash}`;
const SK = 'KEY';

/** Virtual keys in DynamoDB, by the sha256 of the secret. Works against AWS, dynalite and DynamoDB Local. */
export function createDynamoKeyStore(client: DynamoDBClient, tableName: string): KeyStore {
  return {
    async get(hash) {
      const { Item } = await client.send(
        new GetItemCommand({
          TableName: tableName,
          Key: { pk: { S: pk(hash) }, sk: { S: SK } },
          ConsistentRead: true,
        }),
      );
      return Item ? fromItem(Item) : undefined;
    },
    async create(key) {
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: toItem(key),
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) {
          throw new ConflictError(`Key ${key.key_id} already exists`, { cause: err });
        }
        throw err;
      }
    },
  };
}

const str = (v: string | null): AttributeValue => (v === null ? { NULL: true } : { S: v });
const num = (v: number | null): AttributeValue => (v === null ? { NULL: true } : { N: String(v) });
const list = (v: string[]): AttributeValue => ({ L: v.map((s) => ({ S: s })) });

function toItem(k: VirtualKey): Record<string, AttributeValue> {
  return {
    pk: { S: pk(k.hash) },
    sk: { S: SK },
    hash: { S: k.hash },
    key_id: { S: k.key_id },
    key_name: { S: k.key_name },
    key_alias: str(k.key_alias),
    user_id: str(k.user_id),
    team_id: str(k.team_id),
    models: list(k.models),
    max_budget_micros: num(k.max_budget_micros),
    budget_duration: str(k.budget_duration),
    metadata_json: { S: JSON.stringify(k.metadata) },
    tags: list(k.tags),
    billing_type: { S: k.billing_type },
    blocked: { BOOL: k.blocked },
    created_at: { S: k.created_at },
    expires_at: str(k.expires_at),
  };
}

function fromItem(item: Record<string, AttributeValue>): VirtualKey {
  const s = (name: string) => item[name]?.S ?? null;
  const n = (name: string) => (item[name]?.N === undefined ? null : Number(item[name].N));
  const l = (name: string) => (item[name]?.L ?? []).map((v) => v.S ?? '');
  return {
    hash: s('hash') ?? '',
    key_id: s('key_id') ?? '',
    key_name: s('key_name') ?? '',
    key_alias: s('key_alias'),
    user_id: s('user_id'),
    team_id: s('team_id'),
    models: l('models'),
    max_budget_micros: n('max_budget_micros'),
    budget_duration: s('budget_duration'),
    metadata: JSON.parse(s('metadata_json') ?? '{}') as Record<string, unknown>,
    tags: l('tags'),
    billing_type: s('billing_type') === 'subscription' ? 'subscription' : 'usage',
    blocked: item.blocked?.BOOL ?? false,
    created_at: s('created_at') ?? new Date(0).toISOString(),
    expires_at: s('expires_at'),
  };
}
