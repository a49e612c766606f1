/** Lambda entry: the proxy behind a function URL in RESPONSE_STREAM mode. */
import { metrics, powertools, proxyDeps } from '../compose/aws.ts';
import { createProxy } from '../core/proxy/pipeline.ts';
import { lambdaMiddlewares } from './shell/middlewares.ts';
import { createProxyHandler } from './shell/proxy-handler.ts';

export const handler = createProxyHandler(createProxy(await proxyDeps()), {
  middlewares: lambdaMiddlewares({ powertools, metrics }, { flushMetrics: false }),
  metrics,
});
