import type { APIGatewayProxyStructuredResultV2, LambdaFunctionURLEvent } from 'aws-lambda';

/**
 * Function URL events (payload format 2.0) to web-standard Requests and back.
 * https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads
 */
export function eventToRequest(event: LambdaFunctionURLEvent): Request {
  const host = event.headers.host ?? event.requestContext.domainName ?? 'localhost';
  const query = event.rawQueryString ? `?${event.rawQueryString}` : '';
  const url = `https://${host}${event.rawPath}${query}`;
  const headers = new Headers();
  for (const [name, value] of Object.entries(event.headers))
    if (value !== undefined) headers.set(name, value);
  if (event.cookies?.length) headers.set('cookie', event.cookies.join('; '));
  const method = event.requestContext.http.method;
  const hasBody = event.body !== undefined && method !== 'GET' && method !== 'HEAD';
  const body = hasBody ? Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8') : undefined;
  return new Request(url, { method, headers, body });
}

/**
 * The caller's address for per-address limits. Behind the dashboard's CloudFront distribution the
 * function URL's `sourceIp` is an edge server's, shared by many viewers: there the viewer's address is
 * the one the distribution's viewer-request function writes into VIEWER_ADDRESS_HEADER from
 * `event.viewer.ip`, over anything the viewer sent. Elsewhere that header is the caller's own invention,
 * and `sourceIp` is the caller.
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-event-structure.html
 */
export function clientAddressOf(
  event: LambdaFunctionURLEvent,
  behindCloudFront: boolean,
): string | undefined {
  const viewer = behindCloudFront ? event.headers[VIEWER_ADDRESS_HEADER]?.trim() : undefined;
  return viewer || event.requestContext.http.sourceIp || undefined;
}

/** Set by the dashboard distribution's viewer-request function (infra/constructs/dashboard-site.ts). */
export const VIEWER_ADDRESS_HEADER = 'x-tollgate-viewer-address';

export function headersToRecord(headers: Headers): Record<string, string> {
  return Object.fromEntries(headers);
}

/**
 * A buffered (non-streaming) function URL result from a Response. Text stays text; anything else is
 * base64. Set-Cookie headers go in the result's own `cookies` list: joined into one header, two
 * cookies (a sign-in's callback sets two) would read as one.
 */
export async function responseToResult(response: Response): Promise<APIGatewayProxyStructuredResultV2> {
  const type = response.headers.get('content-type') ?? '';
  const bytes = Buffer.from(await response.arrayBuffer());
  const isText = /^(text\/|application\/(json|javascript|xml))/.test(type) || bytes.length === 0;
  const cookies = response.headers.getSetCookie();
  const headers = headersToRecord(response.headers);
  delete headers['set-cookie'];
  return {
    statusCode: response.status,
    headers,
    ...(cookies.length > 0 && { cookies }),
    body: isText ? bytes.toString('utf8') : bytes.toString('base64'),
    isBase64Encoded: !isText,
  };
}
