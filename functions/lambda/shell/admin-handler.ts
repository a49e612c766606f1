import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyStructuredResultV2, Context, LambdaFunctionURLEvent } from 'aws-lambda';
import type { ClientInfo } from '../../core/client.ts';
import type { Metrics } from '../../core/ports/metrics.ts';
import { clientAddressOf, eventToRequest, responseToResult } from './function-url.ts';

/** The admin API as a buffered Lambda handler behind its own function URL. */
export function createAdminHandler(
  api: (request: Request, client?: ClientInfo) => Promise<Response>,
  options: {
    middlewares?: MiddlewareObj[];
    metrics?: Metrics;
    /** Served behind the dashboard's CloudFront distribution: the viewer's address is its header's. */
    behindCloudFront?: boolean;
  } = {},
) {
  return middy<LambdaFunctionURLEvent, APIGatewayProxyStructuredResultV2>()
    .use(options.middlewares ?? [])
    .handler(async (event: LambdaFunctionURLEvent, context: Context) => {
      context.callbackWaitsForEmptyEventLoop = false;
      const client = { address: clientAddressOf(event, options.behindCloudFront ?? false) };
      const result = await responseToResult(await api(eventToRequest(event), client));
      options.metrics?.add('admin_requests', 1, { status: `${String(result.statusCode).charAt(0)}xx` });
      return result;
    });
}
