/**
 * OTLP export requests, decoded by protobufjs from the official OpenTelemetry protos (v1.11.0 of
 * open-telemetry/opentelemetry-proto: collector/logs/v1 and collector/metrics/v1 with what they
 * import), compiled to `otlp-descriptor.json` with protobufjs-cli (`pbjs -t json`). Both encodings of
 * OTLP/HTTP become the same plain object: a protobuf body is decoded, a JSON body (lowerCamelCase
 * field names, 64-bit integers as strings or numbers, enums as integers) goes through the same
 * message type's `fromObject`, which checks every field's type. protobufjs caps nesting at its
 * `recursionLimit`, so no body can exhaust the stack. https://opentelemetry.io/docs/specs/otlp/
 */
import protobuf from 'protobufjs/light.js';
import { GatewayError } from '../errors.ts';
import { parseJsonObject } from '../json-body.ts';
import descriptor from './otlp-descriptor.json' with { type: 'json' };

export type Signal = 'logs' | 'metrics';
export type Encoding = 'json' | 'protobuf';

export interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
}
export interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface Resource {
  attributes?: KeyValue[];
}

export interface LogRecord {
  timeUnixNano?: string;
  observedTimeUnixNano?: string;
  eventName?: string;
  body?: AnyValue;
  attributes?: KeyValue[];
}
export interface LogsRequest {
  resourceLogs?: Array<{ resource?: Resource; scopeLogs?: Array<{ logRecords?: LogRecord[] }> }>;
}

export interface NumberPoint {
  attributes?: KeyValue[];
  startTimeUnixNano?: string;
  timeUnixNano?: string;
  asDouble?: number;
  asInt?: string;
}
export interface Metric {
  name: string;
  sum?: { dataPoints?: NumberPoint[]; aggregationTemporality?: number };
  gauge?: { dataPoints?: NumberPoint[] };
}
export interface MetricsRequest {
  resourceMetrics?: Array<{ resource?: Resource; scopeMetrics?: Array<{ metrics?: Metric[] }> }>;
}

const root = protobuf.Root.fromJSON(descriptor);
const SERVICE = 'opentelemetry.proto.collector';
const REQUEST_TYPES: Record<Signal, protobuf.Type> = {
  logs: root.lookupType(`${SERVICE}.logs.v1.ExportLogsServiceRequest`),
  metrics: root.lookupType(`${SERVICE}.metrics.v1.ExportMetricsServiceRequest`),
};
const RESPONSE_TYPES: Record<Signal, protobuf.Type> = {
  logs: root.lookupType(`${SERVICE}.logs.v1.ExportLogsServiceResponse`),
  metrics: root.lookupType(`${SERVICE}.metrics.v1.ExportMetricsServiceResponse`),
};

/** `google.rpc.Status`, the body of an OTLP/HTTP error answer (code, message; details unused). */
const STATUS = new protobuf.Type('Status')
  .add(new protobuf.Field('code', 1, 'int32'))
  .add(new protobuf.Field('message', 2, 'string'));
new protobuf.Root().define('google.rpc').add(STATUS);

const AS_PLAIN: protobuf.IConversionOptions = { longs: String, enums: Number, bytes: String, arrays: true };

/** OTLP JSON nests about a dozen levels; far deeper is an attack on whatever walks it. */
const MAX_JSON_DEPTH = 64;

export function decodeRequest(
  signal: Signal,
  encoding: Encoding,
  body: Uint8Array,
): LogsRequest | MetricsRequest {
  const type = REQUEST_TYPES[signal];
  try {
    const message =
      encoding === 'protobuf'
        ? type.decode(body)
        : type.fromObject(
            parseJsonObject(new TextDecoder('utf-8', { fatal: true }).decode(body), MAX_JSON_DEPTH),
          );
    return type.toObject(message, AS_PLAIN);
  } catch (cause) {
    if (cause instanceof GatewayError) throw cause;
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new GatewayError(
      'invalid_request',
      `The body is not an OTLP ${signal} export request in ${encoding === 'json' ? 'JSON' : 'protobuf'}: ${reason}`,
      { cause },
    );
  }
}

/** The export answer: empty when everything was accepted, `partialSuccess` when some was rejected. */
export function encodeResponse(
  signal: Signal,
  encoding: Encoding,
  rejected: number,
  message: string,
): Uint8Array | string {
  const counter = signal === 'logs' ? 'rejectedLogRecords' : 'rejectedDataPoints';
  const body = rejected > 0 ? { partialSuccess: { [counter]: String(rejected), errorMessage: message } } : {};
  if (encoding === 'json') return JSON.stringify(body);
  const type = RESPONSE_TYPES[signal];
  return type.encode(type.fromObject(body)).finish();
}

/** An error answer's `google.rpc.Status` in the request's encoding. */
export function encodeStatus(encoding: Encoding, code: number, message: string): Uint8Array | string {
  if (encoding === 'json') return JSON.stringify({ code, message });
  return STATUS.encode(STATUS.fromObject({ code, message })).finish();
}
