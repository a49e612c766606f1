import type { VirtualKey } from '../ports/keys.ts';
import type { TokenUsage } from '../pricing/cost.ts';
import { USAGE_SCHEMA_VERSION, type UsageRecord } from './record.ts';

/** What the proxy knows about a request by the time it ends, however it ended. */
export interface RequestFacts {
  request_id: string;
  started: Date;
  ended: Date;
  first_byte: Date | undefined;
  upstream_started: Date | undefined;
  upstream_ended: Date | undefined;
  tags: string[];
  route: string;
  protocol: string;
  agent: string;
  agent_version: string | null;
  session_id: string | undefined;
  key: VirtualKey | undefined;
  provider: string | undefined;
  model_requested: string | undefined;
  model_used: string | undefined;
  stream: boolean;
  status: number;
  outcome: UsageRecord['outcome'];
  error_type: string | undefined;
  usage: TokenUsage | undefined;
  usage_source: UsageRecord['usage_source'];
  cost_micros: number;
  shadow_cost_micros: number;
  reserved_micros: number;
  price_version: string | undefined;
  rule: { id: string; name: string } | undefined;
  attempts: string[];
  cost_as_requested_micros: number | undefined;
  provider_request_id: string | undefined;
}

export function toUsageRecord(f: RequestFacts): UsageRecord {
  return wellFormed(recordOf(f));
}

function recordOf(f: RequestFacts): UsageRecord {
  const ts = f.started.toISOString();
  const latency = Math.max(0, f.ended.getTime() - f.started.getTime());
  const upstream =
    f.upstream_started && f.upstream_ended
      ? Math.max(0, f.upstream_ended.getTime() - f.upstream_started.getTime())
      : null;
  const u = f.usage;
  return {
    schema_version: USAGE_SCHEMA_VERSION,
    request_id: f.request_id,
    ts,
    dt: ts.slice(0, 10),
    key_id: f.key?.key_id ?? null,
    key_alias: f.key?.key_alias ?? null,
    user_id: f.key?.user_id ?? null,
    team_id: f.key?.team_id ?? null,
    agent: f.agent,
    agent_version: f.agent_version,
    session_id: f.session_id ?? null,
    route: f.route,
    protocol: f.protocol,
    provider: f.provider ?? null,
    model_requested: f.model_requested ?? null,
    model_used: f.model_used ?? null,
    stream: f.stream,
    status: f.status,
    outcome: f.outcome,
    error_type: f.error_type ?? null,
    input_tokens: u?.input_tokens ?? 0,
    output_tokens: u?.output_tokens ?? 0,
    cache_read_tokens: u?.cache_read_tokens ?? 0,
    cache_write_5m_tokens: u?.cache_write_5m_tokens ?? 0,
    cache_write_1h_tokens: u?.cache_write_1h_tokens ?? 0,
    reasoning_tokens: u?.reasoning_tokens ?? 0,
    web_search_requests: u?.web_search_requests ?? 0,
    usage_source: f.usage_source,
    cost_micros: f.cost_micros,
    shadow_cost_micros: f.shadow_cost_micros,
    reserved_micros: f.reserved_micros,
    price_version: f.price_version ?? null,
    latency_ms: latency,
    ttfb_ms: f.first_byte ? Math.max(0, f.first_byte.getTime() - f.started.getTime()) : null,
    upstream_ms: upstream,
    overhead_ms: upstream === null ? null : Math.max(0, latency - upstream),
    tags: f.tags,
    route_rule_id: f.rule?.id ?? null,
    route_rule: f.rule?.name ?? null,
    attempts: f.attempts.length,
    attempt_log: f.attempts,
    cost_as_requested_micros: f.cost_as_requested_micros ?? null,
    provider_request_id: f.provider_request_id ?? null,
  };
}

/**
 * The record with every string made well-formed UTF-16 (a lone surrogate becomes U+FFFD). A client's
 * model name, tags or session id may carry one, which `JSON.stringify` writes as a `\ud800` escape that
 * DuckDB's JSON reader (and so every query over the day's lake file) refuses.
 */
function wellFormed(record: UsageRecord): UsageRecord {
  const bad = (v: unknown) => typeof v === 'string' && !v.isWellFormed();
  const values = Object.values(record);
  if (!values.some((v) => bad(v) || (Array.isArray(v) && v.some(bad)))) return record;
  const fix = (v: unknown) => (typeof v === 'string' ? v.toWellFormed() : v);
  return Object.fromEntries(
    Object.entries(record).map(([k, v]) => [k, Array.isArray(v) ? v.map(fix) : fix(v)]),
  ) as UsageRecord;
}
