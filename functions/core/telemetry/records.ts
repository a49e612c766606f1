/**
 * From a decoded OTLP export to telemetry records: what the allow-list keeps, read into typed columns,
 * attributed to the virtual key that sent it. Everything else an agent exports (runtime internals,
 * plugin loads, prompt and response text, e-mail addresses) is dropped here and never stored.
 */
import type { Clock } from '../ports/clock.ts';
import type { VirtualKey } from '../ports/keys.ts';
import {
  count,
  digest,
  fromUnixNano,
  type Scalar,
  scalarOf,
  scalars,
  seriesOf,
  sha256Hex,
  text,
  usdToMicros,
} from './attributes.ts';
import type { KeyValue, LogRecord, LogsRequest, Metric, MetricsRequest, NumberPoint } from './otlp-decode.ts';
import { TELEMETRY_SCHEMA_VERSION, type TelemetryRecord, TelemetryRecordSchema } from './record.ts';

/** The metrics that say what an agent did and what it cost (Claude Code's names). */
export const KEPT_METRICS: ReadonlySet<string> = new Set([
  'claude_code.session.count',
  'claude_code.lines_of_code.count',
  'claude_code.commit.count',
  'claude_code.pull_request.count',
  'claude_code.cost.usage',
  'claude_code.token.usage',
  'claude_code.active_time.total',
  'claude_code.code_edit_tool.decision',
]);

/** The events kept: model calls (to join their requests), tool and edit decisions, prompts (counted, never their text). */
export const KEPT_EVENTS: ReadonlySet<string> = new Set([
  'claude_code.api_request',
  'claude_code.api_error',
  'claude_code.tool_decision',
  'claude_code.tool_result',
  'claude_code.user_prompt',
  'codex.conversation_starts',
  'codex.api_request',
  'codex.sse_event',
  'codex.tool_decision',
  'codex.tool_result',
  'codex.user_prompt',
]);

export interface Converted {
  records: TelemetryRecord[];
  /** Kept by name but unusable (no time, a value that is not a number): reported as rejected. */
  rejected: number;
  /** Not on the allow-list: accepted and discarded. */
  dropped: number;
}

interface Context {
  key: VirtualKey;
  received: Date;
  agent: string;
  agent_version: string | null;
}

export function logsToRecords(request: LogsRequest, key: VirtualKey, clock: Clock): Converted {
  const out: Converted = { records: [], rejected: 0, dropped: 0 };
  const received = clock.now();
  for (const resourceLogs of request.resourceLogs ?? []) {
    const context = { key, received, ...agentOf(resourceLogs.resource?.attributes) };
    for (const scope of resourceLogs.scopeLogs ?? []) {
      for (const log of scope.logRecords ?? []) keep(out, eventRecord(log, context));
    }
  }
  return out;
}

export function metricsToRecords(request: MetricsRequest, key: VirtualKey, clock: Clock): Converted {
  const out: Converted = { records: [], rejected: 0, dropped: 0 };
  const received = clock.now();
  for (const resourceMetrics of request.resourceMetrics ?? []) {
    const context = { key, received, ...agentOf(resourceMetrics.resource?.attributes) };
    for (const scope of resourceMetrics.scopeMetrics ?? []) {
      for (const metric of scope.metrics ?? []) {
        const points = metric.sum?.dataPoints ?? metric.gauge?.dataPoints ?? [];
        if (!KEPT_METRICS.has(metric.name)) out.dropped += points.length;
        else for (const point of points) keep(out, pointRecord(metric, point, context));
      }
    }
  }
  return out;
}

function keep(out: Converted, record: TelemetryRecord | 'dropped' | 'rejected'): void {
  if (record === 'dropped') out.dropped += 1;
  else if (record === 'rejected' || !TelemetryRecordSchema.safeParse(record).success) out.rejected += 1;
  else out.records.push(record);
}

/** `service.name` says which agent: Claude Code's is `claude-code`, Codex's starts with `codex`. */
function agentOf(attributes: KeyValue[] | undefined): { agent: string; agent_version: string | null } {
  const attrs = scalars(attributes);
  const service = text(attrs, 'service.name') ?? 'unknown';
  return {
    agent: service.startsWith('codex') ? 'codex' : service,
    agent_version: text(attrs, 'service.version'),
  };
}

/**
 * An event's name: Claude Code puts `claude_code.<event>` in the body and the bare name in `event.name`;
 * Codex puts `codex.<event>` in `event.name`; OTLP 1.5 has a field for it.
 */
function eventName(log: LogRecord, attrs: Map<string, Scalar>): string | undefined {
  const candidates = [log.eventName, scalarOf(log.body), attrs.get('event.name')];
  return candidates.find((c): c is string => typeof c === 'string' && KEPT_EVENTS.has(c));
}

/** Codex sends an `sse_event` per streamed event; only a completed response's carries its tokens. */
function worthKeeping(name: string, attrs: Map<string, Scalar>): boolean {
  return (
    name !== 'codex.sse_event' ||
    (attrs.get('event.kind') === 'response.completed' && attrs.has('input_token_count'))
  );
}

function eventRecord(log: LogRecord, context: Context): TelemetryRecord | 'dropped' | 'rejected' {
  const attrs = scalars(log.attributes);
  const name = eventName(log, attrs);
  if (!name || !worthKeeping(name, attrs)) return 'dropped';
  const at = fromUnixNano(log.timeUnixNano) ?? fromUnixNano(log.observedTimeUnixNano);
  if (!at) return 'rejected';
  const fields = {
    ...common(context, attrs, at),
    kind: 'event' as const,
    name,
    value: null,
    temporality: null,
    series: null,
    provider_request_id: text(attrs, 'request_id'),
    input_tokens: count(attrs, 'input_tokens', 'input_token_count'),
    output_tokens: count(attrs, 'output_tokens', 'output_token_count'),
    cache_read_tokens: count(attrs, 'cache_read_tokens', 'cached_token_count'),
    cache_write_tokens: count(attrs, 'cache_creation_tokens'),
    agent_cost_micros: usdToMicros(numberOf(attrs.get('cost_usd'))),
    duration_ms: count(attrs, 'duration_ms'),
  };
  const id = digest([context.key.key_id, name, log.timeUnixNano, [...attrs].filter(([k]) => !isContent(k))]);
  return { ...fields, telemetry_id: id };
}

function pointRecord(metric: Metric, point: NumberPoint, context: Context): TelemetryRecord | 'rejected' {
  const attrs = scalars(point.attributes);
  const at = fromUnixNano(point.timeUnixNano);
  const value = point.asDouble ?? (point.asInt === undefined ? undefined : Number(point.asInt));
  if (!at || value === undefined || !Number.isFinite(value)) return 'rejected';
  const temporality = metric.gauge
    ? 'gauge'
    : metric.sum?.aggregationTemporality === 2
      ? 'cumulative'
      : 'delta';
  const series = seriesOf(attrs);
  return {
    ...common(context, attrs, at),
    telemetry_id: digest([
      context.key.key_id,
      metric.name,
      series,
      point.startTimeUnixNano,
      point.timeUnixNano,
    ]),
    kind: 'metric',
    name: metric.name,
    value,
    temporality,
    series,
    provider_request_id: null,
    input_tokens: null,
    output_tokens: null,
    cache_read_tokens: null,
    cache_write_tokens: null,
    agent_cost_micros: metric.name === 'claude_code.cost.usage' ? usdToMicros(value) : null,
    duration_ms: null,
  };
}

/** What every record takes from its key and its attributes; the person and team only ever from the key. */
function common(context: Context, attrs: Map<string, Scalar>, at: Date) {
  const ts = at.toISOString();
  return {
    schema_version: TELEMETRY_SCHEMA_VERSION,
    ts,
    dt: ts.slice(0, 10),
    received_at: context.received.toISOString(),
    key_id: context.key.key_id,
    user_id: context.key.user_id,
    team_id: context.key.team_id,
    agent: context.agent,
    agent_version: context.agent_version,
    session_id: text(attrs, 'session.id', 'conversation.id'),
    model: text(attrs, 'model'),
    type: text(attrs, 'type', 'event.kind'),
    decision: text(attrs, 'decision'),
    tool_name: text(attrs, 'tool_name'),
    agent_user_hash: userHash(attrs.get('user.id')),
  };
}

/** Claude Code's `user.id` is already a SHA-256 hex digest; anything else is hashed before it is kept. */
function userHash(value: Scalar | undefined): string | null {
  if (value === undefined || value === '') return null;
  const id = String(value);
  return /^[0-9a-f]{64}$/.test(id) ? id : sha256Hex(id);
}

function numberOf(value: Scalar | undefined): number | undefined {
  const n = Number(value);
  return value === undefined || value === '' || !Number.isFinite(n) ? undefined : n;
}

const CONTENT = /prompt|response|email|content/i;
function isContent(key: string): boolean {
  return CONTENT.test(key);
}
