/**
 * The embedded server: a Node HTTP adapter (@hono/node-server) in front of the web-standard apps —
 * the proxy and the admin API are `(Request) => Response`, as they are behind Lambda's shell. A
 * client's disconnect arrives as the Request's AbortSignal; the response body streams as it is read.
 * Nothing here knows Lambda.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { getRequestListener, type Http2Bindings, type HttpBindings } from '@hono/node-server';
import { dashboardCsp } from '../../dashboard/csp.ts';
import type { ClientInfo } from '../core/client.ts';
import { GatewayError } from '../core/errors.ts';
import type { Logger } from '../core/ports/logging.ts';
import { anthropicMessages } from '../core/protocols/anthropic-messages.ts';
import { openaiChat } from '../core/protocols/openai-chat.ts';
import { MAX_HEADER_BYTES, type ProxyPipeline } from '../core/proxy/pipeline.ts';
import { isProxyPath } from '../core/proxy/routes.ts';

export interface LocalServerOptions {
  proxy: ProxyPipeline;
  admin: (request: Request, client?: ClientInfo) => Promise<Response>;
  dashboardDir: string;
  log: Logger;
  /** The Prometheus text `GET /metrics` answers with; without it the path is the dashboard's. */
  metrics?: () => string;
}

/**
 * Node refuses larger headers itself with a bare 431 before any handler runs; below it the proxy
 * answers 431 in the client's protocol shape (its own limit is MAX_HEADER_BYTES).
 */
const NODE_MAX_HEADER_BYTES = 2 * MAX_HEADER_BYTES;

export function createLocalServer(options: LocalServerOptions): Server {
  const app = localApp(options);
  const listener = getRequestListener(app, {
    // Only reached by a bug: the apps turn every failure into a Response of their own.
    errorHandler: (err) => {
      options.log.error('server.unhandled', { error: String(err) });
      return Response.json(openaiChat.errorBody('internal', 'Internal error'), { status: 500 });
    },
  });
  const server = createServer({ maxHeaderSize: NODE_MAX_HEADER_BYTES }, (incoming, outgoing) => {
    if (hasUsableHost(incoming)) return listener(incoming, outgoing);
    const error = new GatewayError('invalid_request', 'The request has no valid Host header.');
    const body = JSON.stringify(protocolOf(incoming.url ?? '').errorBody(error.kind, error.message));
    outgoing.writeHead(400, { 'content-type': 'application/json', connection: 'close' }).end(body);
  });
  server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) =>
    answerClientError(err, socket),
  );
  return server;
}

/** Routes to the proxy, the admin API or the dashboard's files. */
export function localApp({ proxy, admin, dashboardDir, metrics }: LocalServerOptions) {
  return async (request: Request, env?: HttpBindings | Http2Bindings): Promise<Response> => {
    const path = new URL(request.url).pathname;
    if (isProxyPath(path)) return proxy.handle(request);
    // Counts by outcome, scope and provider only (no key, person or body), on a loopback address by
    // default: unauthenticated, as a Prometheus scrape target usually is.
    if (metrics && path === '/metrics' && request.method === 'GET')
      return new Response(metrics(), {
        headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' },
      });
    if (request.method === 'GET' && !isAdminPath(path)) return serveStatic(dashboardDir, path);
    // The socket's address, never X-Forwarded-For: nothing stands in front of the local server.
    return admin(request, { address: env?.incoming.socket.remoteAddress });
  };
}

function isAdminPath(path: string): boolean {
  return /^\/(key|spend|api|health|user|team|model|routing|budget|audit|auth|sso|scim)(\/|$)/.test(path);
}

/**
 * The Web Request the adapter builds needs a URL made of the Host header and the path: without a Host
 * (HTTP/1.0 allows that), or with one that makes no URL (`a b`, a port past 65535), or for `OPTIONS *`,
 * it would throw, and the client would get a 500. An absolute-form target carries its own host.
 */
function hasUsableHost(incoming: IncomingMessage): boolean {
  const target = incoming.url ?? '';
  if (!target.startsWith('/')) return URL.canParse(target);
  const host = incoming.headers.host;
  return host !== undefined && host !== '' && URL.canParse(`http://${host}${target}`);
}

/** The protocol whose error shape a request to `path` expects: Anthropic's for its messages paths. */
function protocolOf(path: string) {
  return /^\/(anthropic\/)?v1\/messages/.test(path) ? anthropicMessages : openaiChat;
}

/**
 * What Node's parser refuses before a request exists (headers over its limit, a malformed request
 * line) is answered here, in the protocol shape the request line's path suggests, and the socket closed.
 */
function answerClientError(err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const error = tooLarge
    ? new GatewayError('headers_too_large', `The request's headers exceed ${NODE_MAX_HEADER_BYTES} bytes.`)
    : new GatewayError('invalid_request', 'The request is not valid HTTP/1.1.');
  const firstLine = err.rawPacket?.subarray(0, 256).toString('latin1').split('\r\n')[0] ?? '';
  const protocol = protocolOf(firstLine.split(' ')[1] ?? '');
  const body = JSON.stringify(protocol.errorBody(error.kind, error.message));
  const reason = tooLarge ? 'Request Header Fields Too Large' : 'Bad Request';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
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

async function serveStatic(dir: string, path: string): Promise<Response> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return new Response('Bad Request: the path has a malformed percent-escape', { status: 400 });
  }
  const relative = normalize(decoded).replace(/^(\.\.[/\\])+/, '');
  const file = join(dir, relative === '/' || relative === '' ? 'index.html' : relative);
  if (!file.startsWith(dir) || file.includes('\0')) return notFound();
  try {
    const content = await readFile(file);
    return new Response(content, {
      headers: {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'cache-control': 'no-cache',
        // The policy CloudFront sends on AWS, so the browser tests run the page under it too.
        'content-security-policy': dashboardCsp(),
      },
    });
  } catch {
    return notFound();
  }
}

function notFound(): Response {
  return new Response('Not found', { status: 404, headers: { 'content-type': 'text/plain' } });
}
