/**
 * Lambda entry: the scheduled rollup (hourly, and on demand with `aws lambda invoke`). Runs every
 * report on Athena and stores the document the admin API serves to the dashboard.
 */
import middy from '@middy/core';
import { buildRollup } from '../core/analytics/rollup.ts';
import { rollupDeps } from './aws-runtime.ts';

const deps = rollupDeps();

export const handler = middy().handler(async () => {
  const started = deps.clock.now().getTime();
  const rollup = await buildRollup(deps);
  await deps.store.save(rollup);
  const summary = { range: rollup.range, budgets: rollup.budgets.length, ms: deps.clock.now().getTime() - started };
  deps.log.info('rollup.saved', summary);
  return summary;
});
