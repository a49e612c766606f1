import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ConflictError, NotFoundError } from '../../core/errors.ts';
import type { DocumentStore, RuleStore, Team, User } from '../../core/ports/documents.ts';
import type { RoutingRule } from '../../core/routing/rules.ts';
import { conditionFailed, queryPartition, readItem } from './dynamo-query.ts';

/**
 * Small documents (teams, users, routing rules) in DynamoDB, one partition per kind (`TEAMS`, `USERS`, `ROUTES`), sorted by id: a
 * deployment has tens to thousands of them, so listing is one paged Query, and no scan ever walks the
 * budget counters. Each is one JSON attribute; `normalise` fills fields that older documents lack.
 */
export function createDynamoDocumentStore<T>(
  client: DynamoDBClient,
  tableName: string,
  kind: {
    partition: string;
    label: string;
    idOf(doc: T): string;
    normalise(doc: T): T;
    /** What a document that does not parse is answered as: listed and deletable, never served. */
    unreadable(id: string, invalid: string): T;
    /** When the table's TTL may delete it (epoch seconds, the `expires_at` attribute); none by default. */
    expiresAt?(doc: T): number;
  },
): DocumentStore<T> {
  const pk = { S: kind.partition };
  const toItem = (doc: T): Record<string, AttributeValue> => ({
    pk,
    sk: { S: kind.idOf(doc) },
    doc_json: { S: JSON.stringify(doc) },
    ...(kind.expiresAt && { expires_at: { N: String(kind.expiresAt(doc)) } }),
  });
  const fromItem = (item: Record<string, AttributeValue>): T => {
    const id = item.sk?.S ?? '';
    let doc: unknown;
    try {
      doc = JSON.parse(item.doc_json?.S ?? item.team_json?.S ?? '{}');
    } catch {
      return kind.unreadable(id, `stored ${kind.label.toLowerCase()} is not valid JSON`);
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
      return kind.unreadable(id, `stored ${kind.label.toLowerCase()} is not a JSON object`);
    return kind.normalise(doc as T);
  };
  const put = async (doc: T, condition: string, onFail: () => Error) => {
    try {
      await client.send(
        new PutItemCommand({ TableName: tableName, Item: toItem(doc), ConditionExpression: condition }),
      );
    } catch (err) {
      if (conditionFailed(err)) throw onFail();
      throw err;
    }
  };
  const name = (doc: T) => `${kind.label} '${kind.idOf(doc)}'`;
  return {
    idOf: kind.idOf,
    async get(id) {
      const Item = await readItem(client, tableName, { pk, sk: { S: id } });
      return Item ? fromItem(Item) : undefined;
    },
    create: (doc) =>
      put(doc, 'attribute_not_exists(pk)', () => new ConflictError(`${name(doc)} already exists`)),
    update: (doc) => put(doc, 'attribute_exists(pk)', () => new NotFoundError(`${name(doc)} does not exist`)),
    async delete(id) {
      await client.send(new DeleteItemCommand({ TableName: tableName, Key: { pk, sk: { S: id } } }));
    },
    list: () => queryPartition(client, tableName, pk, fromItem),
  };
}

const LIMIT_DEFAULTS = {
  soft_budget_micros: null,
  budget_mode: 'strict',
  rpm_limit: null,
  tpm_limit: null,
  max_parallel_requests: null,
} as const;

/** An unreadable team or person spends nothing: it is blocked, and its limits are zero. */
const UNREADABLE_LIMITS = {
  ...LIMIT_DEFAULTS,
  max_budget_micros: 0,
  budget_duration: null,
} as const;
const EPOCH = new Date(0).toISOString();

export function createDynamoTeamStore(client: DynamoDBClient, tableName: string): DocumentStore<Team> {
  return createDynamoDocumentStore<Team>(client, tableName, {
    partition: 'TEAMS',
    label: 'Team',
    idOf: (t) => t.team_id,
    normalise: (t) => ({ ...LIMIT_DEFAULTS, ...t }),
    unreadable: (team_id, invalid) => ({
      team_id,
      team_alias: null,
      models: [],
      ...UNREADABLE_LIMITS,
      members: [],
      metadata: {},
      blocked: true,
      created_at: EPOCH,
      invalid,
    }),
  });
}

export function createDynamoUserStore(client: DynamoDBClient, tableName: string): DocumentStore<User> {
  return createDynamoDocumentStore<User>(client, tableName, {
    partition: 'USERS',
    label: 'User',
    idOf: (u) => u.user_id,
    normalise: (u) => ({ ...LIMIT_DEFAULTS, ...u }),
    unreadable: (user_id, invalid) => ({
      user_id,
      user_alias: null,
      user_email: null,
      user_role: 'internal_user',
      models: [],
      ...UNREADABLE_LIMITS,
      metadata: {},
      blocked: true,
      created_at: EPOCH,
      invalid,
    }),
  });
}

/** Routing rules saved through the admin API, partition `ROUTES`, sorted by id. */
export function createDynamoRuleStore(client: DynamoDBClient, tableName: string): RuleStore {
  return createDynamoDocumentStore<RoutingRule>(client, tableName, {
    partition: 'ROUTES',
    label: 'Routing rule',
    idOf: (r) => r.id,
    normalise: (r) => r,
    unreadable: (id, invalid) => ({
      id,
      name: id,
      scope: 'global',
      priority: 0,
      condition: 'false',
      targets: [],
      fallbacks: [],
      source: 'api',
      created_at: EPOCH,
      invalid,
    }),
  });
}
