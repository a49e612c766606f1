import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  clientAddressOf,
  eventToRequest,
  responseToResult,
} from '../../../functions/lambda/shell/function-url.ts';

const event = (overrides: Partial<LambdaFunctionURLEvent>): LambdaFunctionURLEvent =>
  ({
    version: '2.0',
    rawPath: '/v1/messages',
    rawQueryString: 'beta=true',
    headers: { host: 'abc.lambda-url.us-east-1.on.aws', 'x-api-key': 'sk-tg-1', 'anthropic-beta': 'a,b' },
    requestContext: { http: { method: 'POST' } },
    isBase64Encoded: false,
    ...overrides,
  }) as LambdaFunctionURLEvent;

describe('eventToRequest', () => {
  it('keeps the path, the query string and every header', async () => {
    // Act
    const request = eventToRequest(event({ body: '{"model":"m"}' }));

    // Assess
    expect(request.url).toBe('https://abc.lambda-url.us-east-1.on.aws/v1/messages?beta=true');
    expect(request.method).toBe('POST');
    expect(request.headers.get('anthropic-beta')).toBe('a,b');
    expect(await request.text()).toBe('{"model":"m"}');
  });

  it('decodes a base64 body', async () => {
    // Prepare
    const body = Buffer.from('{"model":"ü"}').toString('base64');

    // Act
    const request = eventToRequest(event({ body, isBase64Encoded: true }));

    // Assess
    expect(await request.text()).toBe('{"model":"ü"}');
  });

  it('gives a GET no body', async () => {
    // Act
    const request = eventToRequest(
      event({ requestContext: { http: { method: 'GET' } } } as Partial<LambdaFunctionURLEvent>),
    );

    // Assess
    expect(request.body).toBeNull();
  });
});

describe('responseToResult', () => {
  it('keeps JSON as text with status and headers', async () => {
    // Prepare
    const response = new Response('{"ok":true}', {
      status: 402,
      headers: { 'content-type': 'application/json' },
    });

    // Act
    const result = await responseToResult(response);

    // Assess
    expect(result).toEqual({
      statusCode: 402,
      headers: { 'content-type': 'application/json' },
      body: '{"ok":true}',
      isBase64Encoded: false,
    });
  });

  it('base64-encodes a binary body', async () => {
    // Prepare
    const response = new Response(new Uint8Array([0, 255, 1]), { headers: { 'content-type': 'image/png' } });

    // Act
    const result = await responseToResult(response);

    // Assess
    expect(result).toMatchObject({ body: 'AP8B', isBase64Encoded: true });
  });

  it('answers each Set-Cookie as its own entry of cookies, never joined into one header', async () => {
    // Prepare
    const headers = new Headers({ location: '/' });
    headers.append('set-cookie', 'tollgate_signin=; Max-Age=0; Path=/; HttpOnly');
    headers.append('set-cookie', 'tollgate_session=abc; Max-Age=28800; Path=/; HttpOnly; SameSite=Lax');
    const response = new Response(null, { status: 303, headers });

    // Act
    const result = await responseToResult(response);

    // Assess
    expect(result.headers).toEqual({ location: '/' });
    expect(result.cookies).toEqual([
      'tollgate_signin=; Max-Age=0; Path=/; HttpOnly',
      'tollgate_session=abc; Max-Age=28800; Path=/; HttpOnly; SameSite=Lax',
    ]);
  });
});

describe('clientAddressOf', () => {
  const viaCloudFront = event({
    headers: { host: 'abc.lambda-url.us-east-1.on.aws', 'x-tollgate-viewer-address': '203.0.113.9' },
    requestContext: { http: { method: 'GET', sourceIp: '130.176.1.1' } } as never,
  });

  it("takes the viewer's address that the distribution's function wrote, behind CloudFront", () => {
    // Act
    const address = clientAddressOf(viaCloudFront, true);

    // Assess
    expect(address).toBe('203.0.113.9');
  });

  it("ignores that header elsewhere, where the caller wrote it: the function URL's sourceIp counts", () => {
    // Act
    const address = clientAddressOf(viaCloudFront, false);

    // Assess
    expect(address).toBe('130.176.1.1');
  });
});
