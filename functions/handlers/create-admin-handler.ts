import middy from '@middy/core';
import type { APIGatewayProxyStructuredResultV2, Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { eventToRequest, responseToResult } from './lambda-url.ts';

/** The admin API as a buffered Lambda handler behind its own function URL. */
export function createAdminHandler(api: (request: Request) => Promise<Response>) {
  return middy<LambdaFunctionURLEvent, APIGatewayProxyStructuredResultV2>().handler(
    async (event: LambdaFunctionURLEvent, context: Context) => {
      context.callbackWaitsForEmptyEventLoop = false;
      return responseToResult(await api(eventToRequest(event)));
    },
  );
}
