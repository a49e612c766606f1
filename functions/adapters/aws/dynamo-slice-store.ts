/**
 * Budget slices on DynamoDB counter items (see core/governance/leased-ledger.ts for how an instance
 * uses them). A holder's slice is one lease attribute on the counter, `L_<holder>` = {a, w, x, b}: what
 * it holds against the limit (`a`) and a fair counter's ceiling (`w`), its expiry (`x`, epoch ms), and
 * the last batch of settlements it applied (`b`), which makes every batch idempotent and tells recovery
 * which of a dead holder's settlements had landed.
 *
 * The counter's invariant is the per-request ledger's: `committed_micros` = settled spend + everything
 * held (slices and per-request leases), and a slice only grows by a conditional update that keeps it
 * within the limit. Expired slices are reclaimed like expired per-request leases (dynamo-leases.ts),
 * leaving a marker that keeps `b`.
 */
import { type AttributeValue, type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { BudgetCounter, Settlement } from '../../core/ports/budgets.ts';
import type { Clock } from '../../core/ports/clock.ts';
import type { Amounts, FlushBatch, SliceState, SliceStore } from '../../core/ports/slices.ts';
import { counterKey, describedCounter } from './dynamo-counter.ts';
import { leaseAttribute, liveHolders, reclaimExpired } from './dynamo-leases.ts';
import { conditionFailed, readItem } from './dynamo-query.ts';

const COUNTERS = { a: 'committed_micros', w: 'worst_micros' } as const;

export function createDynamoSliceStore(client: DynamoDBClient, tableName: string, clock: Clock): SliceStore {
  const getItem = async (c: BudgetCounter) => readItem(client, tableName, counterKey(c));

  const stateOf = (item: Record<string, AttributeValue> | undefined, holder: string): SliceState => {
    const lease = item?.[leaseAttribute(holder)]?.M;
    const now = clock.now().getTime();
    return {
      spent_micros: Number(item?.spent_micros?.N ?? 0),
      committed_micros: Number(item?.committed_micros?.N ?? 0),
      worst_micros: Number(item?.worst_micros?.N ?? 0),
      held: lease?.a?.N !== undefined ? { a: Number(lease.a.N), w: Number(lease.w?.N ?? lease.a.N) } : null,
      batch: Number(lease?.b?.N ?? 0),
      holders: liveHolders(item, now),
    };
  };

  async function update(
    c: BudgetCounter,
    holder: string,
    expression: string,
    condition: string,
    values: Record<string, AttributeValue>,
  ): Promise<SliceState> {
    const described = describedCounter(c, values);
    const text = `${expression}, ${described} ${condition}`;
    // DynamoDB refuses values an expression does not use; each path uses its own few.
    const used = Object.fromEntries(
      Object.entries(values).filter(([name]) => new RegExp(`${name}(?!\\w)`).test(text)),
    );
    const { Attributes } = await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: counterKey(c),
        UpdateExpression: `${expression}, ${described}`,
        ConditionExpression: condition,
        ExpressionAttributeNames: { '#lease': leaseAttribute(holder) },
        ExpressionAttributeValues: used,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return stateOf(Attributes, holder);
  }

  return {
    async grow(counter, holder, by, ceiling, expiresAt, lastBatch) {
      const values: Record<string, AttributeValue> = {
        ':a': { N: String(by.a) },
        ':w': { N: String(by.w) },
        ':x': { N: String(expiresAt.getTime()) },
      };
      const limits: string[] = [];
      if (counter.limit_micros !== null) {
        limits.push('(attribute_not_exists(committed_micros) OR committed_micros <= :max)');
        values[':max'] = { N: String(counter.limit_micros - by.a) };
      }
      if (ceiling !== null) {
        limits.push('(attribute_not_exists(worst_micros) OR worst_micros <= :wmax)');
        values[':wmax'] = { N: String(ceiling - by.w) };
      }
      const within = limits.length > 0 ? ` AND ${limits.join(' AND ')}` : '';
      // A counter with no spend yet has no committed total for the condition to compare: check here.
      const tooBig =
        (counter.limit_micros !== null && by.a > counter.limit_micros) ||
        (ceiling !== null && by.w > ceiling);
      if (tooBig) return { ...stateOf(await getItem(counter), holder), refused: true };
      for (let attempt = 1; ; attempt++) {
        try {
          try {
            // The slice is there: it grows.
            return await update(
              counter,
              holder,
              'ADD committed_micros :a, worst_micros :w SET #lease.a = #lease.a + :a, #lease.w = #lease.w + :w, #lease.x = :x',
              `attribute_exists(#lease.a)${within}`,
              values,
            );
          } catch (err) {
            if (!conditionFailed(err)) throw err;
            // A first slice (or one reclaimed while this holder was away): it is made.
            values[':new'] = {
              M: {
                a: { N: String(by.a) },
                w: { N: String(by.w) },
                x: values[':x'] as AttributeValue,
                // Batches up to this one were flushed before: a late retry of one must not land again.
                b: { N: String(lastBatch) },
              },
            };
            try {
              const made = await update(
                counter,
                holder,
                'ADD committed_micros :a, worst_micros :w SET #lease = :new',
                `(attribute_not_exists(#lease) OR attribute_exists(#lease.r))${within}`,
                values,
              );
              return { ...made, created: true };
            } finally {
              delete values[':new'];
            }
          }
        } catch (err) {
          if (!conditionFailed(err)) throw err;
          // Refused by the limit: slices and holds that expired give their part back, then once more.
          const item = await getItem(counter);
          const reclaimed =
            attempt === 1
              ? await reclaimExpired(client, tableName, counterKey(counter), COUNTERS, item, clock.now(), {
                  mark: true,
                })
              : 0;
          if (reclaimed === 0) return { ...stateOf(item, holder), refused: true };
        }
      }
    },

    async flush(counter, holder, batch: FlushBatch, expiresAt) {
      const values: Record<string, AttributeValue> = {
        ':cost': { N: String(batch.cost) },
        ':da': { N: String(batch.cost - batch.release.a) },
        ':dw': { N: String(batch.cost - batch.release.w) },
        ':ra': { N: String(batch.release.a) },
        ':rw': { N: String(batch.release.w) },
        ':n': { N: String(batch.requests) },
        ':b': { N: String(batch.id) },
        ':x': { N: String(expiresAt.getTime()) },
      };
      const fresh = '(attribute_not_exists(#lease.b) OR #lease.b < :b)';
      let state: SliceState;
      try {
        state = await update(
          counter,
          holder,
          'ADD spent_micros :cost, committed_micros :da, worst_micros :dw, requests :n SET #lease.a = #lease.a - :ra, #lease.w = #lease.w - :rw, #lease.b = :b, #lease.x = :x',
          `attribute_exists(#lease.a) AND ${fresh}`,
          values,
        );
      } catch (err) {
        if (!conditionFailed(err)) throw err;
        // The slice was reclaimed meanwhile (its holds are already given back): only the cost is added.
        try {
          state = await update(
            counter,
            holder,
            'ADD spent_micros :cost, committed_micros :cost, worst_micros :cost, requests :n SET #lease.b = :b',
            `attribute_exists(#lease.r) AND ${fresh}`,
            values,
          );
          state = { ...state, held: null };
        } catch (again) {
          if (!conditionFailed(again)) throw again;
          try {
            // No slice and no marker (a metered counter never held one, or a marker was swept): a marker
            // is made with the cost added, so the batch applies once.
            values[':marker'] = {
              M: { r: { BOOL: true }, b: values[':b'] as AttributeValue, x: values[':x'] as AttributeValue },
            };
            state = await update(
              counter,
              holder,
              'ADD spent_micros :cost, committed_micros :cost, worst_micros :cost, requests :n SET #lease = :marker',
              'attribute_not_exists(#lease)',
              values,
            );
            state = { ...state, held: null };
          } catch (last) {
            if (!conditionFailed(last)) throw last;
            // This batch landed already (a retried write): nothing to add.
            state = stateOf(await getItem(counter), holder);
            return { state, settlement: settlementOf(counter, state.spent_micros, 0) };
          }
        }
      }
      return { state, settlement: settlementOf(counter, state.spent_micros, batch.cost) };
    },

    async release(counter, holder, amounts) {
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: counterKey(counter),
            UpdateExpression: 'ADD committed_micros :a, worst_micros :w REMOVE #lease',
            ConditionExpression: 'attribute_exists(#lease.a)',
            ExpressionAttributeNames: { '#lease': leaseAttribute(holder) },
            ExpressionAttributeValues: { ':a': { N: String(-amounts.a) }, ':w': { N: String(-amounts.w) } },
          }),
        );
      } catch (err) {
        if (!conditionFailed(err)) throw err;
      }
    },

    read: async (counter, holder) => stateOf(await getItem(counter), holder),
  };
}

function settlementOf(counter: BudgetCounter, after: number, cost: number): Settlement {
  return { counter, spent_before_micros: after - cost, spent_after_micros: after };
}

export type { Amounts };
