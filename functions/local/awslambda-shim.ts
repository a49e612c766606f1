/**
 * A local stand-in for the `awslambda` global the Lambda Node.js runtime provides to response-streaming
 * handlers (https://docs.aws.amazon.com/lambda/latest/dg/configuration-response-streaming.html), so the
 * very handler deployed to AWS runs behind node:http. Status and headers are sent when the first body
 * byte is written (as the runtime sends its prelude); each write is flushed to the socket at once.
 */
import type { ServerResponse } from 'node:http';
import { Writable } from 'node:stream';

interface Prelude {
  statusCode?: number;
  headers?: Record<string, string>;
}

const STREAMING = Symbol.for('tollgate.streamingHandler');

export type StreamingHandler = (event: unknown, stream: Writable, context: unknown) => Promise<void>;

/** The Writable a streaming handler gets: a thin layer over the HTTP response. */
export class LocalResponseStream extends Writable {
  private prelude: Prelude = {};

  constructor(private readonly res: ServerResponse) {
    super();
    // The client left before the body ended: fail the pipeline so the handler's body stream is cancelled.
    res.on('close', () => {
      if (!res.writableFinished) this.destroy(new Error('client disconnected'));
    });
  }

  setPrelude(prelude: Prelude): void {
    this.prelude = prelude;
  }

  private sendHead(): void {
    if (this.res.headersSent) return;
    this.res.writeHead(this.prelude.statusCode ?? 200, this.prelude.headers ?? {});
    this.res.flushHeaders();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.sendHead();
    this.res.write(chunk, (err) => callback(err ?? null));
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.sendHead();
    this.res.end(() => callback());
  }
}

interface AwsLambdaGlobal {
  streamifyResponse(handler: StreamingHandler): StreamingHandler;
  HttpResponseStream: { from(stream: Writable, prelude: Prelude): Writable };
}

/**
 * Installs the shim unless a real runtime already provides streaming. Idempotent. The AWS SDK creates an
 * empty `globalThis.awslambda` of its own (for its invoke store), so fill in the members, not the object.
 */
export function installAwsLambdaShim(): void {
  const g = globalThis as unknown as { awslambda?: Partial<AwsLambdaGlobal> };
  g.awslambda ??= {};
  const awslambda = g.awslambda;
  if (awslambda.streamifyResponse) return;
  awslambda.streamifyResponse = (handler) => {
    Object.defineProperty(handler, STREAMING, { value: true });
    return handler;
  };
  awslambda.HttpResponseStream = {
    from(stream, prelude) {
      if (stream instanceof LocalResponseStream) stream.setPrelude(prelude);
      return stream;
    },
  };
}

export function isStreamingHandler(handler: unknown): handler is StreamingHandler {
  return typeof handler === 'function' && (handler as unknown as Record<symbol, unknown>)[STREAMING] === true;
}
