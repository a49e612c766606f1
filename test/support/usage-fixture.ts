import { USAGE_SCHEMA_VERSION, type UsageRecord } from '../../functions/core/usage/record.ts';

/** A valid usage record; `dt` follows `ts` unless given. */
export function usageRecord(overrides: Partial<UsageRecord> = {}): UsageRecord {
  const ts = overrides.ts ?? '2026-03-01T10:00:00.000Z';
  return {
    schema_version: USAGE_SCHEMA_VERSION,
    request_id: 'req-1',
    ts,
    dt: ts.slice(0, 10),
    key_id: 'abc123def456',
    key_alias: 'laptop',
    user_id: 'alice',
    team_id: 'team-a',
    agent: 'claude-code',
    agent_version: '2.1.0',
    session_id: 'sess-1',
    route: '/v1/messages',
    protocol: 'anthropic-messages',
    provider: 'anthropic',
    model_requested: 'claude-sonnet-4-5',
    model_used: 'claude-sonnet-4-5',
    stream: true,
    status: 200,
    outcome: 'success',
    error_type: null,
    input_tokens: 100,
    output_tokens: 20,
    cache_read_tokens: 0,
    cache_write_5m_tokens: 0,
    cache_write_1h_tokens: 0,
    reasoning_tokens: 0,
    usage_source: 'provider',
    cost_micros: 600,
    reserved_micros: 1_000,
    price_version: '2026-01',
    latency_ms: 850,
    ttfb_ms: 120,
    tags: ['cli'],
    ...overrides,
  };
}
