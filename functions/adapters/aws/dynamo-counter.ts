/**
 * A budget counter's item: `BUDGET#<scope>#<id>` / `P#<period>`. Every write also sets the counter's own
 * attributes (its limit, when it resets, its TTL), so an item always describes itself.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { BudgetCounter } from '../../core/ports/budgets.ts';
import type { ItemKey } from './dynamo-leases.ts';

/** Counters outlive their period by this long (DynamoDB TTL), so recent history stays readable. */
const RETAIN_AFTER_RESET_S = 90 * 86_400;

export function counterKey(c: BudgetCounter): ItemKey {
  return { pk: { S: `BUDGET#${c.scope}#${c.scope_id}` }, sk: { S: `P#${c.period}` } };
}

/** The SET clauses (and their values, added to `values`) that describe the counter on its item. */
export function describedCounter(c: BudgetCounter, values: Record<string, AttributeValue>): string {
  values[':limit'] = c.limit_micros === null ? { NULL: true } : { N: String(c.limit_micros) };
  values[':resets'] = c.resets_at === null ? { NULL: true } : { S: c.resets_at };
  if (c.resets_at === null) return 'limit_micros = :limit, resets_at = :resets';
  values[':ttl'] = { N: String(Math.floor(Date.parse(c.resets_at) / 1000) + RETAIN_AFTER_RESET_S) };
  return 'limit_micros = :limit, resets_at = :resets, expires_at = :ttl';
}
