/** Lambda entry: the admin API behind its own function URL. */
import { createAdminApi } from '../core/admin/api.ts';
import { adminDeps } from './aws-analytics.ts';
import { lambdaMiddlewares, metrics } from './aws-runtime.ts';
import { createAdminHandler } from './create-admin-handler.ts';

export const handler = createAdminHandler(createAdminApi(await adminDeps()), {
  middlewares: lambdaMiddlewares({ flushMetrics: true }),
  metrics,
});
