/**
 * An export request's body as bytes: at most `maxBytes` on the wire and, when gzipped, at most
 * `maxBytes` once inflated (so a small gzip bomb is refused as it expands, not after). Web streams only
 * (`DecompressionStream`), as the core runs on any host.
 */
import { GatewayError } from '../errors.ts';

export async function readBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > maxBytes) throw tooLarge(maxBytes, 'on the wire');
  if (!request.body) return new Uint8Array();
  const encoding = (request.headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip') {
    throw new GatewayError(
      'invalid_request',
      `Content-Encoding '${encoding}' is not supported: send gzip or none.`,
    );
  }
  const wire = limited(request.body, maxBytes, 'on the wire');
  if (encoding === 'identity') return collect(wire);
  const inflated = wire.pipeThrough(
    new DecompressionStream('gzip') as ReadableWritablePair<Uint8Array, Uint8Array>,
  );
  try {
    return await collect(limited(inflated, maxBytes, 'once gunzipped'));
  } catch (cause) {
    if (cause instanceof GatewayError) throw cause;
    throw new GatewayError('invalid_request', 'The body is not valid gzip.', { cause });
  }
}

/** The stream, failing with a 413 as soon as it has carried more than `maxBytes`. */
function limited(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
  where: string,
): ReadableStream<Uint8Array> {
  let size = 0;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        size += chunk.byteLength;
        if (size > maxBytes) controller.error(tooLarge(maxBytes, where));
        else controller.enqueue(chunk);
      },
    }),
  );
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function tooLarge(maxBytes: number, where: string): GatewayError {
  return new GatewayError(
    'too_large',
    `The telemetry body exceeds the gateway's limit of ${maxBytes} bytes ${where}.`,
  );
}
