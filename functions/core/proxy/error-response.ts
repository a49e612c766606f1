/**
 * The one place a refusal or failure becomes a Response: the route's protocol shapes the body as
 * Anthropic or OpenAI would, so the client's SDK raises its own error type with the gateway's message.
 */
import type { GatewayError } from '../errors.ts';
import type { Protocol } from '../protocols/types.ts';

export function errorResponse(
  protocol: Protocol | undefined,
  error: GatewayError,
  requestId?: string,
): Response {
  const body = protocol
    ? protocol.errorBody(error.kind, error.message)
    : { error: { message: error.message, type: error.kind } };
  const headers = new Headers({ 'content-type': 'application/json', ...error.headers });
  if (requestId) headers.set('x-tollgate-request-id', requestId);
  return new Response(JSON.stringify(body), { status: error.status, headers });
}
