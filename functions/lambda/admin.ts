/** Lambda entry: the admin API behind its own function URL. */

import { config, metrics, powertools } from '../compose/aws.ts';
import { adminDeps } from '../compose/aws-analytics.ts';
import { createAdminApi } from '../core/admin/api.ts';
import { createAdminHandler } from './shell/admin-handler.ts';
import { lambdaMiddlewares } from './shell/middlewares.ts';

export const handler = createAdminHandler(createAdminApi(await adminDeps()), {
  middlewares: lambdaMiddlewares({ powertools, metrics }, { flushMetrics: true }),
  metrics,
  // Set by the stack when the API is served behind the dashboard's distribution (sign-in on).
  behindCloudFront: config.signInEnv.TOLLGATE_TRUST_FORWARDED_HOST === 'true',
});
