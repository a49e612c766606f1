import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { BudgetExceededError } from '../../core/errors.ts';
import type { BudgetCounter, BudgetLedger, CounterState, Reservation } from '../../core/ports.ts';

/** Counters outlive their period by this long (DynamoDB TTL), so recent history stays readable. */
const RETAIN_AFTER_RESET_S = 90 * 86_400;

/**
 * Budget counters in DynamoDB. Each counter item holds `committed_micros` (settled spend plus open
 * reservations) and `spent_micros`. A reservation is one conditional ADD per counter — DynamoDB
 * conditions cannot do arithmetic, so the limit minus the amount is precomputed — issued in parallel
 * and compensated if any fails (dynalite has no TransactWriteItems, and this also scales better).
 */
export function createDynamoBudgetLedger(client: DynamoDBClient, tableName: string): BudgetLedger {
  const key = (c: BudgetCounter): Record<string, AttributeValue> => ({
    pk: { S: `BUDGET#${c.scope}#${c.scope_id}` },
    sk: { S: `P#${c.period}` },
  });

  async function read(c: BudgetCounter): Promise<CounterState> {
    const { Item } = await client.send(
      new GetItemCommand({ TableName: tableName, Key: key(c), ConsistentRead: true }),
    );
    return {
      spent_micros: Number(Item?.spent_micros?.N ?? 0),
      committed_micros: Number(Item?.committed_micros?.N ?? 0),
    };
  }

  async function exceeded(c: BudgetCounter, cause?: unknown): Promise<BudgetExceededError> {
    const state = await read(c);
    return new BudgetExceededError(
      c.scope,
      c.label,
      c.limit_micros ?? 0,
      state.committed_micros,
      c.resets_at,
      { cause },
    );
  }

  /** Adds to a counter; resolves to its committed total afterwards. */
  async function add(
    c: BudgetCounter,
    committed: number,
    extra: { spent?: number; condition?: boolean } = {},
  ): Promise<number> {
    const values: Record<string, AttributeValue> = {
      ':c': { N: String(committed) },
      ':limit': c.limit_micros === null ? { NULL: true } : { N: String(c.limit_micros) },
      ':resets': c.resets_at === null ? { NULL: true } : { S: c.resets_at },
    };
    let update = 'ADD committed_micros :c';
    if (extra.spent !== undefined) {
      update += ', spent_micros :s, requests :one';
      values[':s'] = { N: String(extra.spent) };
      values[':one'] = { N: '1' };
    }
    update += ' SET limit_micros = :limit, resets_at = :resets';
    if (c.resets_at !== null) {
      update += ', expires_at = :ttl';
      values[':ttl'] = { N: String(Math.floor(Date.parse(c.resets_at) / 1000) + RETAIN_AFTER_RESET_S) };
    }
    let condition: string | undefined;
    if (extra.condition && c.limit_micros !== null) {
      condition = 'attribute_not_exists(committed_micros) OR committed_micros <= :max';
      values[':max'] = { N: String(c.limit_micros - committed) };
    }
    const { Attributes } = await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: key(c),
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeValues: values,
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(Attributes?.committed_micros?.N ?? 0);
  }

  /** Reserves on one counter; resolves to what its limit leaves after, or null without a limit. */
  async function reserveOne(c: BudgetCounter, amount: number): Promise<number | null> {
    if (c.limit_micros !== null && amount > c.limit_micros) throw await exceeded(c);
    try {
      const committed = await add(c, amount, { condition: true });
      return c.limit_micros === null ? null : c.limit_micros - committed;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw await exceeded(c, err);
      throw err;
    }
  }

  return {
    async reserve(counters, amount_micros): Promise<Reservation> {
      const results = await Promise.allSettled(counters.map((c) => reserveOne(c, amount_micros)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        const taken = counters.filter((_, i) => results[i]?.status === 'fulfilled');
        await Promise.all(taken.map((c) => add(c, -amount_micros)));
        throw failed.reason;
      }
      let binding: Reservation['binding'] = null;
      results.forEach((r, i) => {
        const remaining = r.status === 'fulfilled' ? r.value : null;
        const counter = counters[i];
        if (remaining === null || !counter) return;
        if (!binding || remaining < binding.remaining_micros)
          binding = { counter, remaining_micros: remaining };
      });
      return { counters, amount_micros, binding };
    },
    async settle({ counters, amount_micros }, actual_micros) {
      await Promise.all(counters.map((c) => add(c, actual_micros - amount_micros, { spent: actual_micros })));
    },
    read,
  };
}
