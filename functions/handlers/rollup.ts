/**
 * Lambda entry: the scheduled rollup (hourly, and on demand with `aws lambda invoke`). First replays
 * usage records the proxy spilled when Firehose would not take them, then runs every report on Athena
 * and stores the document the admin API serves to the dashboard.
 *
 * Invoked with `{"reprice": {"from": "2026-11-01", "to": "2026-11-30", "version": "2026-12-01",
 * "prices": [...catalog entries...]}}` it re-prices that range instead: corrected copies of the
 * records go through Firehose, and every query reads them from then on.
 */
import middy from '@middy/core';
import { z } from 'zod';
import { replaySpilled } from '../adapters/aws/firehose-sink.ts';
import { buildRollup } from '../core/analytics/rollup.ts';
import { createModelCatalog, mergeModelOverrides } from '../core/pricing/catalog.ts';
import { repriceRange } from '../core/usage/reprice.ts';
import { config, rollupDeps } from './aws-runtime.ts';

const deps = rollupDeps();

const Event = z.looseObject({
  reprice: z
    .strictObject({
      from: z.string(),
      to: z.string(),
      version: z.string().min(1),
      prices: z.array(z.unknown()).optional(),
    })
    .optional(),
});

export const handler = middy().handler(async (event: unknown) => {
  const { reprice } = Event.parse(event ?? {});
  if (reprice) {
    if (!deps.replay)
      throw new Error('Re-pricing writes through Firehose: TOLLGATE_FIREHOSE_STREAM is not set');
    const prices = reprice.prices ? JSON.stringify(reprice.prices) : config.modelsJson;
    const catalog = createModelCatalog(mergeModelOverrides(prices), reprice.version);
    const result = await repriceRange({ query: deps.query, sink: deps.replay.sink, catalog }, reprice);
    deps.log.info('usage.repriced', { ...result, version: reprice.version });
    return result;
  }
  const started = deps.clock.now().getTime();
  const replayed = deps.replay ? await replaySpilled(deps.replay.spill, deps.replay.sink) : undefined;
  if (replayed?.batches || replayed?.failed) deps.log.info('usage.spill_replayed', replayed);
  const rollup = await buildRollup(deps);
  await deps.store.save(rollup);
  const summary = {
    range: rollup.range,
    budgets: rollup.budgets.length,
    replayed,
    ms: deps.clock.now().getTime() - started,
  };
  deps.log.info('rollup.saved', summary);
  return summary;
});
