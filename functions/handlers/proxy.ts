/** Lambda entry: the proxy behind a function URL in RESPONSE_STREAM mode. */
import { createProxy } from '../core/proxy/pipeline.ts';
import { lambdaMiddlewares, metrics, proxyDeps } from './aws-runtime.ts';
import { createProxyHandler } from './create-proxy-handler.ts';

export const handler = createProxyHandler(createProxy(await proxyDeps()), {
  middlewares: lambdaMiddlewares({ flushMetrics: false }),
  metrics,
});
