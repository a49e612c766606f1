/**
 * A fixture of Lambda's Runtime API, the HTTP interface a runtime (here aws-lambda-ric, the one Lambda's
 * managed Node runtimes are built on) polls for events and answers on:
 * https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html and, for response streaming,
 * https://docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html#runtimes-custom-response-streaming
 *
 * - `GET  /2018-06-01/runtime/invocation/next` long-polls for the next event;
 * - `POST /2018-06-01/runtime/invocation/{id}/response`, buffered (a JSON payload) or, with
 *   `Lambda-Runtime-Function-Response-Mode: streaming`, a chunked body that for an HTTP integration
 *   (`application/vnd.awslambda.http-integration-response`) starts with a JSON prelude (status, headers,
 *   cookies) and 8 NUL bytes; a failure mid-stream comes as `Lambda-Runtime-Function-Error-*` trailers;
 * - `POST /2018-06-01/runtime/invocation/{id}/error` and `/init/error`.
 *
 * An invocation is over when the runtime asks for the next event, as Lambda sees it.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const PREFIX = '/2018-06-01/runtime';
const HTTP_INTEGRATION = 'application/vnd.awslambda.http-integration-response';
const DELIMITER = Buffer.alloc(8);

export interface Prelude {
  statusCode?: number;
  headers?: Record<string, string>;
  cookies?: string[];
}

export interface Chunk {
  bytes: Buffer;
  /** ms since the invocation was handed to the runtime. */
  atMs: number;
}

export interface FunctionError {
  errorType: string;
  errorMessage?: string;
}

export interface Invocation {
  id: string;
  /** Buffered answer: the payload as the function returned it (JSON-decoded). */
  payload: Promise<unknown>;
  /** Streamed answer: the prelude, once it has arrived. */
  prelude: Promise<Prelude>;
  /** Streamed answer: body chunks in arrival order (excluding the prelude and delimiter). */
  chunks: AsyncIterable<Chunk>;
  /** The body so far (streamed) and, once the stream ends, its error trailers if any. */
  streamEnded: Promise<{ body: Buffer; error?: FunctionError }>;
  /** Resolves when the runtime asks for its next event: the invocation is over, however it ended. */
  done: Promise<void>;
  /** Whether the function answered through `/error`. */
  error: Promise<FunctionError | undefined>;
  /**
   * The client goes away. As on Lambda, the function is not told: the Runtime API keeps taking its
   * stream, which no one reads any more (the fixture stops keeping the chunks).
   */
  disconnect(): void;
  /** The connection the response is streamed on breaks (not something a client can cause on Lambda). */
  breakConnection(): void;
}

export interface RuntimeApi {
  /** `host:port`, as `AWS_LAMBDA_RUNTIME_API` takes it. */
  address: string;
  invoke(event: unknown, opts?: { timeoutMs?: number; functionArn?: string }): Invocation;
  /** Resolves once the runtime has asked for its first event (init done), rejects on `/init/error`. */
  ready: Promise<void>;
  close(): Promise<void>;
}

interface Pending {
  id: string;
  event: unknown;
  deadlineMs: number;
  functionArn: string;
  startedAt: number;
  state: InvocationState;
}

interface InvocationState {
  payload: Deferred<unknown>;
  prelude: Deferred<Prelude>;
  streamEnded: Deferred<{ body: Buffer; error?: FunctionError }>;
  error: Deferred<FunctionError | undefined>;
  done: Deferred<void>;
  chunks: Chunk[];
  chunkWaiters: Array<() => void>;
  ended: boolean;
  responseRequest?: IncomingMessage;
  answered: boolean;
  clientGone?: boolean;
  /** Whether the function finished its stream (the request ended), whoever was reading. */
  streamCompleted?: boolean;
}

export async function startRuntimeApi(): Promise<RuntimeApi> {
  const queue: Pending[] = [];
  const waiting: ServerResponse[] = [];
  const byId = new Map<string, Pending>();
  let current: Pending | undefined;
  const ready = deferred<void>();

  const hand = (res: ServerResponse, inv: Pending) => {
    current = inv;
    inv.startedAt = Date.now();
    res.writeHead(200, {
      'content-type': 'application/json',
      'lambda-runtime-aws-request-id': inv.id,
      'lambda-runtime-deadline-ms': String(inv.deadlineMs),
      'lambda-runtime-invoked-function-arn': inv.functionArn,
      'lambda-runtime-trace-id': `Root=1-${Date.now().toString(16)}-${randomUUID().replace(/-/g, '').slice(0, 24)};Sampled=0`,
    });
    res.end(JSON.stringify(inv.event));
  };

  const server: Server = createServer((req, res) => {
    const url = req.url ?? '';
    if (req.method === 'GET' && url === `${PREFIX}/invocation/next`) {
      ready.resolve();
      // Asking for the next event ends the one before, as Lambda sees it.
      if (current) {
        current.state.done.resolve();
        current = undefined;
      }
      const next = queue.shift();
      if (next) hand(res, next);
      else waiting.push(res);
      return;
    }
    if (req.method === 'POST' && url === `${PREFIX}/init/error`) {
      readAll(req).then((body) => {
        ready.reject(new Error(`init error: ${body.toString('utf8')}`));
        res.writeHead(202).end();
      });
      return;
    }
    const m = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url);
    const inv = m ? byId.get(decodeURIComponent(m[1] ?? '')) : undefined;
    if (!m || !inv || req.method !== 'POST') {
      res.writeHead(404).end();
      return;
    }
    const state = inv.state;
    if (m[2] === 'error') {
      readAll(req).then((body) => {
        const error = parseError(body);
        state.error.resolve(error);
        state.payload.reject(Object.assign(new Error(error.errorMessage ?? error.errorType), { error }));
        state.prelude.reject(new Error(`function error ${error.errorType}`));
        endStream(state, Buffer.alloc(0), error);
        res.writeHead(202).end();
      });
      return;
    }
    if (state.answered) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errorType: 'InvalidStateTransition' }));
      return;
    }
    state.answered = true;
    const streaming = req.headers['lambda-runtime-function-response-mode'] === 'streaming';
    if (!streaming) {
      readAll(req).then((body) => {
        state.error.resolve(undefined);
        state.payload.resolve(body.length ? JSON.parse(body.toString('utf8')) : null);
        res.writeHead(202).end();
      });
      return;
    }
    state.error.resolve(undefined);
    state.responseRequest = req;
    const withPrelude = req.headers['content-type'] === HTTP_INTEGRATION;
    let head: Buffer | undefined = withPrelude ? Buffer.alloc(0) : undefined;
    if (!withPrelude) state.prelude.resolve({});
    const body: Buffer[] = [];
    req.on('data', (data: Buffer) => {
      if (state.clientGone) return;
      let bytes = data;
      if (head !== undefined) {
        head = Buffer.concat([head, bytes]);
        const at = head.indexOf(DELIMITER);
        if (at < 0) return;
        state.prelude.resolve(JSON.parse(head.subarray(0, at).toString('utf8')) as Prelude);
        bytes = head.subarray(at + DELIMITER.length);
        head = undefined;
        if (bytes.length === 0) return;
      }
      body.push(bytes);
      state.chunks.push({ bytes, atMs: Date.now() - inv.startedAt });
      for (const wake of state.chunkWaiters.splice(0)) wake();
    });
    req.on('end', () => {
      state.streamCompleted = true;
      const trailer = req.trailers['lambda-runtime-function-error-type'];
      const error = trailer
        ? parseError(Buffer.from(req.trailers['lambda-runtime-function-error-body'] ?? '', 'base64'))
        : undefined;
      if (head !== undefined) state.prelude.reject(new Error('stream ended before its prelude'));
      endStream(state, Buffer.concat(body), error);
      res.writeHead(202).end();
    });
    req.on('close', () => {
      if (!state.ended) endStream(state, Buffer.concat(body), { errorType: 'ClientDisconnected' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    address,
    ready: ready.promise,
    invoke(event, opts = {}) {
      const id = randomUUID();
      const state: InvocationState = {
        payload: deferred(),
        prelude: deferred(),
        streamEnded: deferred(),
        error: deferred(),
        done: deferred(),
        chunks: [],
        chunkWaiters: [],
        ended: false,
        answered: false,
      };
      // Unobserved rejections are expected for the shape of answer a test does not read.
      for (const d of [state.payload, state.prelude]) d.promise.catch(() => {});
      const inv: Pending = {
        id,
        event,
        deadlineMs: Date.now() + (opts.timeoutMs ?? 60_000),
        functionArn: opts.functionArn ?? `arn:aws:lambda:us-east-1:123456789012:function:tollgate-test`,
        startedAt: Date.now(),
        state,
      };
      byId.set(id, inv);
      const res = waiting.shift();
      if (res) hand(res, inv);
      else queue.push(inv);
      return {
        id,
        payload: state.payload.promise,
        prelude: state.prelude.promise,
        streamEnded: state.streamEnded.promise,
        error: state.error.promise,
        done: state.done.promise,
        chunks: chunkIterable(state),
        disconnect() {
          state.clientGone = true;
          endStream(state, Buffer.alloc(0), { errorType: 'ClientDisconnected' });
        },
        breakConnection() {
          state.responseRequest?.socket.destroy();
        },
      };
    },
    async close() {
      for (const res of waiting.splice(0)) res.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function endStream(state: InvocationState, body: Buffer, error?: FunctionError) {
  if (state.ended) return;
  state.ended = true;
  state.streamEnded.resolve({ body, error });
  for (const wake of state.chunkWaiters.splice(0)) wake();
}

function chunkIterable(state: InvocationState): AsyncIterable<Chunk> {
  return {
    async *[Symbol.asyncIterator]() {
      let i = 0;
      for (;;) {
        if (i < state.chunks.length) {
          yield state.chunks[i++] as Chunk;
          continue;
        }
        if (state.ended) return;
        await new Promise<void>((resolve) => state.chunkWaiters.push(resolve));
      }
    },
  };
}

function parseError(body: Buffer): FunctionError {
  try {
    return JSON.parse(body.toString('utf8')) as FunctionError;
  } catch {
    return { errorType: 'Unparseable', errorMessage: body.toString('utf8').slice(0, 200) };
  }
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
