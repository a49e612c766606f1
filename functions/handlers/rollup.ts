/**
 * Lambda entry: the scheduled rollup (hourly, and on demand with `aws lambda invoke`). First replays
 * usage records the proxy spilled when Firehose would not take them, then runs every report on Athena
 * and stores the document the admin API serves to the dashboard.
 */
import middy from '@middy/core';
import { replaySpilled } from '../adapters/aws/firehose-sink.ts';
import { buildRollup } from '../core/analytics/rollup.ts';
import { rollupDeps } from './aws-runtime.ts';

const deps = rollupDeps();

export const handler = middy().handler(async () => {
  const started = deps.clock.now().getTime();
  const replayed = deps.replay ? await replaySpilled(deps.replay.spill, deps.replay.sink) : undefined;
  if (replayed?.batches || replayed?.failed) deps.log.info('usage.spill_replayed', replayed);
  const rollup = await buildRollup(deps);
  await deps.store.save(rollup);
  const summary = {
    range: rollup.range,
    budgets: rollup.budgets.length,
    ms: deps.clock.now().getTime() - started,
  };
  deps.log.info('rollup.saved', summary);
  return summary;
});
