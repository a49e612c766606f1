import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ConflictError, NotFoundError } from '../../core/errors.ts';
import type { KeyStore, VirtualKey } from '../../core/ports/keys.ts';
import { conditionFailed, queryPartition, readItem } from './dynamo-query.ts';

/**
 * Virtual keys in DynamoDB, two items each:
 * - the record, in the `KEYS` partition under its stable key_id (`pk = KEYS`, `sk = <key_id>`), holding
 *   every field and the hash of the current secret. Listing keys is one Query of that partition, and
 *   never walks the budget counters;
 * - a lookup item per secret (`pk = KEY#<sha256>`, `sk = KEY`) holding only the key_id.
 *
 * `get` follows the lookup to the record and answers only if the record still names that hash. So the
 * record is the single switch: a regenerate or a delete is one conditional write on it, and a secret
 * stops working in that write. A lookup item left behind (a cleanup that failed) resolves to nothing.
 * There is no TransactWriteItems on dynalite; writes are ordered so a failure in between leaves nothing
 * a request can use half-made. Works against AWS, dynalite and DynamoDB Local.
 */
const KEYS: AttributeValue = { S: 'KEYS' };
const recordKey = (key_id: string) => ({ pk: KEYS, sk: { S: key_id } });
const lookupKey = (hash: string) => ({ pk: { S: `KEY#${hash}` }, sk: { S: 'KEY' } });

export function createDynamoKeyStore(client: DynamoDBClient, tableName: string): KeyStore {
  const read = async (key: Record<string, AttributeValue>) => readItem(client, tableName, key);

  const putLookup = async (hash: string, key_id: string) => {
    try {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: { ...lookupKey(hash), key_id: { S: key_id } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      if (conditionFailed(err))
        throw new ConflictError(`A key with this secret already exists (key ${key_id})`, { cause: err });
      throw err;
    }
  };

  /**
   * Removes a lookup item that no longer matters. A failure is ignored on purpose: the item is inert
   * (`get` checks the record's hash), and the write that counted has already happened.
   */
  const dropLookup = (hash: string) =>
    client
      .send(new DeleteItemCommand({ TableName: tableName, Key: lookupKey(hash) }))
      .then(() => undefined)
      .catch(() => undefined);

  /** Replaces the record, only if it exists and still names `expectedHash`. */
  const replaceRecord = async (key: VirtualKey, expectedHash: string) => {
    try {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: toItem(key),
          ConditionExpression: 'attribute_exists(pk) AND #hash = :expected',
          ExpressionAttributeNames: { '#hash': 'hash' },
          ExpressionAttributeValues: { ':expected': { S: expectedHash } },
        }),
      );
    } catch (err) {
      if (!conditionFailed(err)) throw err;
      if (!(await read(recordKey(key.key_id))))
        throw new NotFoundError(`Key ${key.key_id} does not exist`, { cause: err });
      throw new ConflictError(`Key ${key.key_id} was regenerated meanwhile`, { cause: err });
    }
  };

  return {
    async get(hash) {
      const key_id = (await read(lookupKey(hash)))?.key_id?.S;
      if (!key_id) return undefined;
      const record = await read(recordKey(key_id));
      return record?.hash?.S === hash ? fromItem(record) : undefined;
    },

    async getById(key_id) {
      const record = await read(recordKey(key_id));
      return record ? fromItem(record) : undefined;
    },

    async create(key) {
      // The lookup first: on its own it resolves to nothing, so a failure before the record is harmless.
      await putLookup(key.hash, key.key_id);
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: toItem(key),
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      } catch (err) {
        await dropLookup(key.hash);
        if (conditionFailed(err)) throw new ConflictError(`Key ${key.key_id} already exists`, { cause: err });
        throw err;
      }
    },

    async update(key, previousHash) {
      if (previousHash === undefined || previousHash === key.hash) return replaceRecord(key, key.hash);
      // A new secret: its lookup first (inert until the record names it), then the switch, then cleanup.
      await putLookup(key.hash, key.key_id);
      try {
        await replaceRecord(key, previousHash);
      } catch (err) {
        await dropLookup(key.hash);
        throw err;
      }
      await dropLookup(previousHash);
    },

    async delete(key_id) {
      let old: Record<string, AttributeValue> | undefined;
      try {
        ({ Attributes: old } = await client.send(
          new DeleteItemCommand({
            TableName: tableName,
            Key: recordKey(key_id),
            ConditionExpression: 'attribute_exists(pk)',
            ReturnValues: 'ALL_OLD',
          }),
        ));
      } catch (err) {
        if (conditionFailed(err)) throw new NotFoundError(`Key ${key_id} does not exist`, { cause: err });
        throw err;
      }
      const hash = old?.hash?.S;
      if (hash) await dropLookup(hash);
    },

    list: () => queryPartition(client, tableName, KEYS, fromItem),
  };
}

const str = (v: string | null): AttributeValue => (v === null ? { NULL: true } : { S: v });
const num = (v: number | null): AttributeValue => (v === null ? { NULL: true } : { N: String(v) });
const list = (v: string[]): AttributeValue => ({ L: v.map((s) => ({ S: s })) });

function toItem(k: VirtualKey): Record<string, AttributeValue> {
  return {
    ...recordKey(k.key_id),
    hash: { S: k.hash },
    key_id: { S: k.key_id },
    key_name: { S: k.key_name },
    key_alias: str(k.key_alias),
    user_id: str(k.user_id),
    team_id: str(k.team_id),
    models: list(k.models),
    max_budget_micros: num(k.max_budget_micros),
    soft_budget_micros: num(k.soft_budget_micros),
    budget_duration: str(k.budget_duration),
    budget_mode: { S: k.budget_mode },
    model_max_budget_json: { S: JSON.stringify(k.model_max_budget) },
    provider_max_budget_json: { S: JSON.stringify(k.provider_max_budget) },
    max_parallel_requests: num(k.max_parallel_requests),
    metadata_json: { S: JSON.stringify(k.metadata) },
    tags: list(k.tags),
    billing_type: { S: k.billing_type },
    rpm_limit: num(k.rpm_limit),
    tpm_limit: num(k.tpm_limit),
    blocked: { BOOL: k.blocked },
    created_at: { S: k.created_at },
    expires_at: str(k.expires_at),
    budget_parent: str(k.budget_parent),
  };
}

/**
 * A record that no longer reads as written (a JSON attribute that does not parse) is still answered,
 * so a listing never fails on it and an admin can delete it: blocked, its unreadable fields empty,
 * and `invalid` saying which.
 */
function fromItem(item: Record<string, AttributeValue>): VirtualKey {
  const s = (name: string) => item[name]?.S ?? null;
  const n = (name: string) => (item[name]?.N === undefined ? null : Number(item[name].N));
  const l = (name: string) => (item[name]?.L ?? []).map((v) => v.S ?? '');
  const unreadable: string[] = [];
  const parsed = <T>(name: string): T => {
    try {
      return JSON.parse(s(name) ?? '{}') as T;
    } catch {
      unreadable.push(name);
      return {} as T;
    }
  };
  const key: VirtualKey = {
    hash: s('hash') ?? '',
    key_id: s('key_id') ?? '',
    key_name: s('key_name') ?? '',
    key_alias: s('key_alias'),
    user_id: s('user_id'),
    team_id: s('team_id'),
    models: l('models'),
    max_budget_micros: n('max_budget_micros'),
    soft_budget_micros: n('soft_budget_micros'),
    budget_duration: s('budget_duration'),
    budget_mode: s('budget_mode') === 'fair' ? 'fair' : 'strict',
    model_max_budget: parsed<VirtualKey['model_max_budget']>('model_max_budget_json'),
    provider_max_budget: parsed<VirtualKey['provider_max_budget']>('provider_max_budget_json'),
    max_parallel_requests: n('max_parallel_requests'),
    metadata: parsed<Record<string, unknown>>('metadata_json'),
    tags: l('tags'),
    billing_type: s('billing_type') === 'subscription' ? 'subscription' : 'usage',
    rpm_limit: n('rpm_limit'),
    tpm_limit: n('tpm_limit'),
    blocked: item.blocked?.BOOL ?? false,
    created_at: s('created_at') ?? new Date(0).toISOString(),
    expires_at: s('expires_at'),
    budget_parent: s('budget_parent'),
  };
  if (unreadable.length === 0) return key;
  return { ...key, blocked: true, invalid: `stored ${unreadable.join(', ')} is not valid JSON` };
}
