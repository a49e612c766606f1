/**
 * Lambda entry: the scheduled rollup (hourly, and on demand with `aws lambda invoke`; every five minutes
 * with `{"recover": true}`). Its work is services/rollup-job.ts.
 */
import middy from '@middy/core';
import { config, metrics, powertools } from '../compose/aws.ts';
import { rollupDeps } from '../compose/aws-analytics.ts';
import { runRollupJob } from '../services/rollup-job.ts';
import { lambdaMiddlewares } from './shell/middlewares.ts';

const deps = {
  ...rollupDeps(),
  metrics,
  modelsJson: config.modelsJson,
  weeklyDigest: config.weeklyDigest,
  outcomesMinPeople: config.outcomesMinPeople,
};

export const handler = middy()
  .use(lambdaMiddlewares({ powertools, metrics }, { flushMetrics: true }))
  .use({
    after: async () => metrics.add('rollup_runs', 1, { outcome: 'success' }),
    onError: async () => metrics.add('rollup_runs', 1, { outcome: 'error' }),
  })
  .handler((event: unknown) => runRollupJob(deps, event));
