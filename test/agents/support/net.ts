import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { RecordedRequest } from '../../support/mock-upstream.ts';

export interface Tap {
  /** `http://127.0.0.1:PORT`: give this to the CLI instead of the gateway's URL. */
  url: string;
  /** What the CLI sent, before the gateway rewrote anything. WebSocket upgrades are recorded too. */
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/**
 * A recording pass-through in front of the gateway. The mock upstream sees the gateway's own
 * requests (its user-agent, its upstream key), so what a CLI itself sends can only be seen here.
 * Responses are piped unbuffered, so streaming behaves as it does without the tap.
 */
export async function startTap(targetUrl: string): Promise<Tap> {
  const target = new URL(targetUrl);
  const requests: RecordedRequest[] = [];
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    requests.push(recorded(req, body));
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    upstream.end(body);
  });
  // A WebSocket handshake (Codex may try one) is passed on byte for byte, whatever the gateway says.
  const tunnels = new Set<Socket>();
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    requests.push(recorded(req, Buffer.alloc(0)));
    const upstream = connect(Number(target.port), target.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
    for (const end of [socket, upstream]) {
      tunnels.add(end);
      end.on('close', () => tunnels.delete(end));
    }
  });
  const listening = await listen(server);
  return {
    url: listening.url,
    requests,
    async close() {
      for (const end of tunnels) end.destroy();
      await listening.close();
    },
  };
}

export interface EgressTrap {
  /** `http://127.0.0.1:PORT`, to set as HTTP(S)_PROXY. */
  url: string;
  /** Every host a CLI tried to reach beyond 127.0.0.1, as `host:port` or an absolute URL. */
  attempts: string[];
  close(): Promise<void>;
}

/**
 * A proxy that refuses everything and writes down what was asked. With HTTPS_PROXY pointing here and
 * NO_PROXY=127.0.0.1, a CLI cannot leave the machine, fails fast instead of waiting on a timeout, and
 * the test can show that nothing tried to.
 */
export async function startEgressTrap(): Promise<EgressTrap> {
  const attempts: string[] = [];
  const server = createServer((req, res) => {
    attempts.push(req.url ?? '');
    res.writeHead(403).end();
  });
  server.on('connect', (req: IncomingMessage, socket) => {
    attempts.push(req.url ?? '');
    socket.on('error', () => {});
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  return { ...(await listen(server)), attempts };
}

/** Proxy variables that keep a CLI on 127.0.0.1; both spellings, as curl, git, reqwest and Bun differ. */
export function offlineProxyEnv(trap: EgressTrap): Record<string, string> {
  const noProxy = '127.0.0.1,localhost';
  return {
    HTTPS_PROXY: trap.url,
    HTTP_PROXY: trap.url,
    ALL_PROXY: trap.url,
    https_proxy: trap.url,
    http_proxy: trap.url,
    all_proxy: trap.url,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function recorded(req: IncomingMessage, body: Buffer): RecordedRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const text = body.toString('utf8');
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON (or compressed): keep the raw text.
  }
  return { method: req.method ?? 'GET', path: req.url ?? '/', headers, body: parsed };
}

async function listen(server: Server): Promise<{ url: string; close(): Promise<void> }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
