/**
 * The embedded server: node:http in front of the same Lambda handlers that run on AWS. Each request
 * becomes a function URL event; the proxy handler streams through the awslambda shim, the admin
 * handler answers buffered, and everything else is the dashboard's static files.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize } from 'node:path';
import type { APIGatewayProxyStructuredResultV2, Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { dashboardCsp } from '../../dashboard/csp.ts';
import type { Logger } from '../core/ports.ts';
import { isProxyPath } from '../core/proxy/routes.ts';
import { isStreamingHandler, LocalResponseStream } from './awslambda-shim.ts';

export interface LocalServerOptions {
  proxyHandler: unknown;
  adminHandler: (
    event: LambdaFunctionURLEvent,
    context: Context,
  ) => Promise<APIGatewayProxyStructuredResultV2>;
  dashboardDir: string;
  maxBodyBytes: number;
  /** Upper bound of one proxied call, as the function's timeout is on AWS. */
  invocationTimeoutMs: number;
  log: Logger;
}

export function createLocalServer(options: LocalServerOptions): Server {
  const { proxyHandler } = options;
  if (!isStreamingHandler(proxyHandler)) throw new Error('The proxy handler must be a streaming handler');

  return createServer(async (req, res) => {
    try {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (isProxyPath(path)) {
        const event = await toEvent(req, options.maxBodyBytes);
        if (!event) return tooLarge(res, options.maxBodyBytes);
        await proxyHandler(
          event,
          new LocalResponseStream(res),
          lambdaContext(options.invocationTimeoutMs),
        ).catch((err: unknown) => {
          if (!res.destroyed) throw err;
        });
      } else if (req.method === 'GET' && !isAdminPath(path)) {
        await serveStatic(options.dashboardDir, path, res);
      } else {
        const event = await toEvent(req, options.maxBodyBytes);
        if (!event) return tooLarge(res, options.maxBodyBytes);
        const result = await options.adminHandler(event, lambdaContext(30_000));
        writeResult(res, result);
      }
    } catch (err) {
      options.log.error('server.unhandled', { error: String(err) });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'Internal error', type: 'server_error' } }));
    }
  });
}

function isAdminPath(path: string): boolean {
  return /^\/(key|spend|api|health|user|team|model|routing|budget|audit)(\/|$)/.test(path);
}

/** Mirrors what a function URL delivers: lowercased headers, raw path and query, body as text or base64. */
async function toEvent(req: IncomingMessage, maxBytes: number): Promise<LambdaFunctionURLEvent | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  const body = Buffer.concat(chunks);
  const [rawPath = '/', rawQueryString = ''] = (req.url ?? '/').split(/\?(.*)/s);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const isText = /^(text\/|application\/(json|x-www-form-urlencoded|xml|javascript))/.test(
    headers['content-type'] ?? '',
  );
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    body: body.length > 0 ? body.toString(isText ? 'utf8' : 'base64') : undefined,
    isBase64Encoded: body.length > 0 && !isText,
  } as LambdaFunctionURLEvent;
}

function lambdaContext(timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'tollgate-local',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:tollgate-local',
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: 'local',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function writeResult(res: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  const body = result.body ?? '';
  res.writeHead(result.statusCode ?? 200, result.headers as Record<string, string> | undefined);
  res.end(result.isBase64Encoded ? Buffer.from(body, 'base64') : body);
}

function tooLarge(res: ServerResponse, maxBytes: number): void {
  res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
  res.end(
    JSON.stringify({
      error: { message: `Request body exceeds ${maxBytes} bytes`, type: 'invalid_request_error' },
    }),
  );
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

async function serveStatic(dir: string, path: string, res: ServerResponse): Promise<void> {
  const relative = normalize(decodeURIComponent(path)).replace(/^(\.\.[/\\])+/, '');
  const file = join(dir, relative === '/' || relative === '' ? 'index.html' : relative);
  if (!file.startsWith(dir)) return notFound(res);
  try {
    const content = await readFile(file);
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
      // The policy CloudFront sends on AWS, so the browser tests run the page under it too.
      'content-security-policy': dashboardCsp(),
    });
    res.end(content);
  } catch {
    notFound(res);
  }
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('Not found');
}
