import * as z from '../zod-mini.ts';

/**
 * The telemetry record: one per metric data point or event an agent exported over OTLP that the
 * gateway keeps (see allow-list.ts). Its own record type, stream and table beside the usage records,
 * since Firehose's Parquet conversion takes one schema per stream. The person and team come from the
 * virtual key the agent sent, never from the attributes. No prompt or response text, no e-mail:
 * only the typed columns below are ever filled. Money is integer micro-dollars; times are UTC.
 */
export const TELEMETRY_SCHEMA_VERSION = 1;

const count = z.number().check(z.int(), z.nonnegative());

export const TelemetryRecordSchema = z.object({
  schema_version: z.number().check(z.int()),
  /** A digest of what identifies the point or event: delivery and OTLP retries are at-least-once. */
  telemetry_id: z.string(),
  /** When the point or event happened (the point's end time, the event's time). */
  ts: z.iso.datetime(),
  /** Partition day (UTC) of `ts`. */
  dt: z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/)),
  received_at: z.iso.datetime(),
  key_id: z.string(),
  user_id: z.nullable(z.string()),
  team_id: z.nullable(z.string()),
  /** `claude-code`, `codex`, or the exporter's `service.name`. */
  agent: z.string(),
  agent_version: z.nullable(z.string()),
  /** Claude Code's `session.id` (its `x-claude-code-session-id`), Codex's `conversation.id`. */
  session_id: z.nullable(z.string()),
  kind: z.enum(['metric', 'event']),
  /** The metric's or event's name as the agent spells it, e.g. `claude_code.lines_of_code.count`. */
  name: z.string(),
  /** A metric point's value (a count, seconds, tokens); null for events. */
  value: z.nullable(z.number()),
  /** `delta` or `cumulative` for sums; reports add deltas and take a cumulative series' last value. */
  temporality: z.nullable(z.enum(['delta', 'cumulative', 'gauge'])),
  /** A digest of the point's attributes: which series a cumulative value belongs to. */
  series: z.nullable(z.string()),
  model: z.nullable(z.string()),
  /** The point's `type` (lines `added`/`removed`, tokens `input`/`output`, time `user`/`cli`). */
  type: z.nullable(z.string()),
  /** An edit or tool decision: `accept` or `reject`. */
  decision: z.nullable(z.string()),
  tool_name: z.nullable(z.string()),
  /** The provider's id of the answer an event is about (`request_id`), to join the usage record. */
  provider_request_id: z.nullable(z.string()),
  input_tokens: z.nullable(count),
  output_tokens: z.nullable(count),
  cache_read_tokens: z.nullable(count),
  cache_write_tokens: z.nullable(count),
  /** The agent's own estimate of an API request's cost (`cost_usd`), in micro-dollars. */
  agent_cost_micros: z.nullable(count),
  duration_ms: z.nullable(count),
  /** The agent's own user id, only ever as a SHA-256 hex digest (Claude Code already sends one). */
  agent_user_hash: z.nullable(z.string()),
});

export type TelemetryRecord = z.infer<typeof TelemetryRecordSchema>;

/** The columns a point or event may leave empty, empty: what each producer fills in on top. */
export const EMPTY_TELEMETRY_FIELDS = {
  value: null,
  temporality: null,
  series: null,
  model: null,
  type: null,
  decision: null,
  tool_name: null,
  provider_request_id: null,
  input_tokens: null,
  output_tokens: null,
  cache_read_tokens: null,
  cache_write_tokens: null,
  agent_cost_micros: null,
  duration_ms: null,
  agent_user_hash: null,
} as const satisfies Partial<TelemetryRecord>;

/** Column names and Hive/Athena types, derived from the schema, for the lake and query engines. */
export function telemetryColumns(): Array<{ name: keyof TelemetryRecord; sqlType: string }> {
  return Object.entries(TelemetryRecordSchema.shape).map(([name, type]) => ({
    name: name as keyof TelemetryRecord,
    sqlType: sqlTypeOf(name, type),
  }));
}

function sqlTypeOf(name: string, type: z.ZodMiniType): string {
  if (name === 'ts' || name === 'received_at') return 'TIMESTAMP';
  if (name === 'value') return 'DOUBLE';
  const inner = type instanceof z.ZodMiniNullable ? type._zod.def.innerType : type;
  if (inner instanceof z.ZodMiniNumber) return 'BIGINT';
  return 'STRING';
}
