import * as z from '../zod-mini.ts';

/**
 * The usage record: one per proxied request, whatever its outcome. This zod (mini) schema is the single
 * definition; the TypeScript type, the lake's column list and (on AWS) the Glue table come from it.
 * Money is integer micro-dollars; times are UTC ISO-8601 strings.
 */
export const USAGE_SCHEMA_VERSION = 5;

const count = z.number().check(z.int(), z.nonnegative());

export const UsageRecordSchema = z.object({
  schema_version: z.number().check(z.int()),
  request_id: z.string(),
  ts: z.iso.datetime(),
  /** Partition day (UTC) of `ts`, `YYYY-MM-DD`. */
  dt: z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/)),
  key_id: z.nullable(z.string()),
  key_alias: z.nullable(z.string()),
  user_id: z.nullable(z.string()),
  team_id: z.nullable(z.string()),
  agent: z.string(),
  agent_version: z.nullable(z.string()),
  session_id: z.nullable(z.string()),
  route: z.string(),
  protocol: z.string(),
  provider: z.nullable(z.string()),
  model_requested: z.nullable(z.string()),
  model_used: z.nullable(z.string()),
  stream: z.boolean(),
  status: z.number().check(z.int()),
  /**
   * `client_closed`: the client left before the answer ended (its provider call was cancelled); `lost`:
   * written by recovery for a request whose process died before it recorded it (usage estimated).
   */
  outcome: z.enum([
    'success',
    'upstream_error',
    'denied',
    'invalid',
    'truncated',
    'client_closed',
    'lost',
    'error',
  ]),
  error_type: z.nullable(z.string()),
  input_tokens: count,
  output_tokens: count,
  cache_read_tokens: count,
  cache_write_5m_tokens: count,
  cache_write_1h_tokens: count,
  reasoning_tokens: count,
  /** Searches run by the provider's web search tool, billed per search in `cost_micros`. Null before schema 4. */
  web_search_requests: z.nullable(count),
  usage_source: z.enum(['provider', 'estimated', 'none']),
  /** Billed cost: what budgets are charged. */
  cost_micros: count,
  /** List-price cost; differs from cost_micros for subscription-billed keys and unbilled calls. */
  shadow_cost_micros: count,
  reserved_micros: count,
  price_version: z.nullable(z.string()),
  latency_ms: count,
  ttfb_ms: z.nullable(count),
  /** Time spent on the provider call (request sent to last byte); null if it was never made. */
  upstream_ms: z.nullable(count),
  /** latency_ms − upstream_ms: the time the gateway itself added. */
  overhead_ms: z.nullable(count),
  tags: z.array(z.string()),
  /** The routing rule that chose the model (id and name), or null when the request went as asked. */
  route_rule_id: z.nullable(z.string()),
  route_rule: z.nullable(z.string()),
  /** Upstream calls made: 1, more after fallbacks, 0 if refused first. Null in records before schema 3. */
  attempts: z.nullable(count),
  /** Each call as `<provider>/<model> <status|timeout|unreachable>`, in order. */
  attempt_log: z.array(z.string()),
  /** With a rule: the list cost of the same tokens on the model asked for (what the rule moved). */
  cost_as_requested_micros: z.nullable(count),
  /**
   * The provider's own id of the answer (Anthropic's `request-id` header, `req_…`; OpenAI's
   * `x-request-id`), the last attempt's. Agents report it in their telemetry (Claude Code's
   * `claude_code.api_request` event carries it as `request_id`), so an event joins its request exactly.
   * Null when no provider answered, and in records before schema 5.
   */
  provider_request_id: z.nullable(z.string()),
});

export type UsageRecord = z.infer<typeof UsageRecordSchema>;

/**
 * Column names and their Hive/Athena types, derived from the schema, for the lake and query engines.
 * `dt` is included; on AWS it is the table's partition key rather than a data column.
 */
export function usageColumns(): Array<{ name: keyof UsageRecord; sqlType: string }> {
  return Object.entries(UsageRecordSchema.shape).map(([name, type]) => ({
    name: name as keyof UsageRecord,
    sqlType: sqlTypeOf(name, type),
  }));
}

function sqlTypeOf(name: string, type: z.ZodMiniType): string {
  if (name === 'ts') return 'TIMESTAMP';
  const inner = type instanceof z.ZodMiniNullable ? type._zod.def.innerType : type;
  if (inner instanceof z.ZodMiniNumber) return 'BIGINT';
  if (inner instanceof z.ZodMiniBoolean) return 'BOOLEAN';
  if (inner instanceof z.ZodMiniArray) return 'ARRAY<STRING>';
  return 'STRING';
}
