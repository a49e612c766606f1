import middy, { type MiddlewareObj } from '@middy/core';
import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import type { ProxyPipeline } from '../../core/proxy/pipeline.ts';
import { eventToRequest, headersToRecord } from './function-url.ts';

/** Time kept back from the invocation's deadline to settle budgets and write the usage record. */
const BOOKKEEPING_MS = 10_000;

/**
 * The proxy as a response-streaming Lambda handler (function URL, invoke mode RESPONSE_STREAM). middy
 * calls `awslambda.HttpResponseStream.from` with the status and headers before the first body byte,
 * then pipes the body as it arrives. `requestEnd` runs after the body is sent: the client is never
 * kept waiting for bookkeeping, yet the invocation ends only once every record is written.
 */
export function createProxyHandler(
  proxy: ProxyPipeline,
  options: { middlewares?: MiddlewareObj[]; metrics?: { flush(): void } } = {},
) {
  return middy<LambdaFunctionURLEvent, unknown>({
    streamifyResponse: true,
    // The request's metrics come from its record, so they are written once the records are.
    requestEnd: async () => {
      await proxy.drain();
      options.metrics?.flush();
    },
  })
    .use(options.middlewares ?? [])
    .handler(async (event: LambdaFunctionURLEvent, context: Context) => {
      context.callbackWaitsForEmptyEventLoop = false;
      const remaining = context.getRemainingTimeInMillis?.() ?? Number.POSITIVE_INFINITY;
      const response = await proxy.handle(eventToRequest(event), {
        timeoutMs: Math.max(1_000, remaining - BOOKKEEPING_MS),
      });
      return {
        statusCode: response.status,
        headers: headersToRecord(response.headers),
        body: response.body ?? '',
      };
    });
}
