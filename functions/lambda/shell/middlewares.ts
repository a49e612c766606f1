/**
 * The middy middlewares every function uses: the invocation's context (request id, cold start) on each
 * log line, and its metrics written once it ends, failed or not. The proxy writes its metrics later,
 * once its records are (see proxy-handler.ts).
 */
import type { Logger as Powertools } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { MiddlewareObj } from '@middy/core';

export function lambdaMiddlewares(
  runtime: { powertools: Powertools; metrics: { flush(): void } },
  options: { flushMetrics: boolean },
): MiddlewareObj[] {
  const flush = async () => runtime.metrics.flush();
  return [
    injectLambdaContext(runtime.powertools),
    ...(options.flushMetrics ? [{ after: flush, onError: flush }] : []),
  ];
}
