/**
 * The OTLP/HTTP receiver on the proxy's URL: `POST /v1/logs` and `POST /v1/metrics`, protobuf or JSON,
 * gzip or not, as the OpenTelemetry exporters of Claude Code and Codex send them
 * (https://opentelemetry.io/docs/specs/otlp/#otlphttp). Authenticated by the same virtual keys as the
 * proxy, rate limited on its own (telemetry never uses a key's rpm), and never billed. This module and
 * its decoder are loaded on the first telemetry request only (on Lambda from a file beside the bundle,
 * `PROXY_LAZY_MODULES`), so the proxy's cold start does not pay for protobufjs.
 */
import { GatewayError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { VirtualKey } from '../ports/keys.ts';
import type { TelemetrySink } from '../ports/lake.ts';
import type { Logger } from '../ports/logging.ts';
import { readBody } from './body.ts';
import {
  decodeRequest,
  type Encoding,
  encodeResponse,
  encodeStatus,
  type LogsRequest,
  type MetricsRequest,
  type Signal,
} from './otlp-decode.ts';
import { type Converted, logsToRecords, metricsToRecords } from './records.ts';
import { createWindowLimiter } from './window-limiter.ts';

export interface TelemetryReceiverDeps {
  /** The proxy's own key check: an unknown, blocked or expired key is refused exactly as there. */
  authenticate(headers: Headers): Promise<VirtualKey>;
  sink: TelemetrySink;
  clock: Clock;
  log: Logger;
  /** Export requests a key may send per minute, per gateway instance. */
  requestsPerMinute: number;
  /** The most a body may hold, on the wire and once gunzipped. */
  maxBodyBytes: number;
}

export interface TelemetryReceiver {
  handle(request: Request, signal: Signal): Promise<Response>;
}

const CONTENT_TYPES: Record<string, Encoding> = {
  'application/x-protobuf': 'protobuf',
  'application/protobuf': 'protobuf',
  'application/json': 'json',
};

/** gRPC status codes for the `google.rpc.Status` of an error answer. */
const GRPC_CODE: Record<number, number> = {
  400: 3,
  401: 16,
  403: 7,
  404: 5,
  413: 3,
  415: 3,
  429: 8,
  503: 14,
};

export function createTelemetryReceiver(deps: TelemetryReceiverDeps): TelemetryReceiver {
  const limiter = createWindowLimiter(deps.clock, deps.requestsPerMinute, 60_000);

  async function handle(request: Request, signal: Signal): Promise<Response> {
    const encoding = encodingOf(request.headers.get('content-type'));
    if (!encoding) return unsupportedType(request.headers.get('content-type'));
    try {
      if (request.method !== 'POST') throw new GatewayError('not_found', `/v1/${signal} only accepts POST`);
      const key = await deps.authenticate(request.headers);
      const wait = limiter.take(key.key_id);
      if (wait > 0) throw rateLimited(wait);
      const body = await readBody(request, deps.maxBodyBytes);
      const converted = convert(signal, decodeRequest(signal, encoding, body), key);
      await write(converted);
      return answer(
        encoding,
        200,
        encodeResponse(signal, encoding, converted.rejected, rejectedMessage(converted)),
      );
    } catch (err) {
      return failure(err, encoding);
    }
  }

  function convert(signal: Signal, decoded: LogsRequest | MetricsRequest, key: VirtualKey): Converted {
    return signal === 'logs'
      ? logsToRecords(decoded as LogsRequest, key, deps.clock)
      : metricsToRecords(decoded as MetricsRequest, key, deps.clock);
  }

  async function write(converted: Converted): Promise<void> {
    if (converted.records.length === 0) return;
    try {
      await deps.sink.write(converted.records);
    } catch (cause) {
      deps.log.error('telemetry.write_failed', { records: converted.records.length, error: String(cause) });
      // 503 is retryable in OTLP: the exporter sends the batch again.
      throw new GatewayError('internal', 'The gateway could not store this telemetry; try again.', {
        cause,
        headers: { 'retry-after': '5' },
      });
    }
  }

  function failure(err: unknown, encoding: Encoding): Response {
    const error =
      err instanceof GatewayError
        ? err
        : new GatewayError('internal', 'The gateway failed to handle this telemetry.', { cause: err });
    if (!(err instanceof GatewayError)) deps.log.error('telemetry.internal_error', { error: String(err) });
    // OTLP retries 429, 502, 503 and 504; a failure of the gateway itself is worth a retry.
    const status = error.kind === 'internal' ? 503 : error.status;
    return answer(
      encoding,
      status,
      encodeStatus(encoding, GRPC_CODE[status] ?? 13, error.message),
      error.headers,
    );
  }

  return { handle };
}

function encodingOf(contentType: string | null): Encoding | undefined {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return CONTENT_TYPES[type];
}

/** Checked before the key: the answer says what to send and reveals nothing about the key. */
function unsupportedType(contentType: string | null): Response {
  const message = `Content-Type '${contentType ?? ''}' is not OTLP: send application/x-protobuf or application/json.`;
  return answer('json', 415, encodeStatus('json', GRPC_CODE[415] ?? 3, message));
}

function rateLimited(waitMs: number): GatewayError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new GatewayError(
    'rate_limited',
    `Too many telemetry exports from this key; retry in ${seconds} s.`,
    {
      headers: { 'retry-after': String(seconds) },
    },
  );
}

function rejectedMessage({ rejected }: Converted): string {
  return rejected > 0 ? `${rejected} item(s) had no usable time or value and were not stored.` : '';
}

function answer(
  encoding: Encoding,
  status: number,
  body: Uint8Array | string,
  headers: Record<string, string> = {},
): Response {
  const type = encoding === 'json' ? 'application/json' : 'application/x-protobuf';
  const payload = typeof body === 'string' ? body : new Blob([new Uint8Array(body)]);
  return new Response(payload, { status, headers: { 'content-type': type, ...headers } });
}
