import {
  EMPTY_TELEMETRY_FIELDS,
  TELEMETRY_SCHEMA_VERSION,
  type TelemetryRecord,
} from '../../functions/core/telemetry/record.ts';

let next = 0;

/** A valid telemetry record (a metric point unless told); `dt` follows `ts` unless given. */
export function telemetryRecord(overrides: Partial<TelemetryRecord> = {}): TelemetryRecord {
  const ts = overrides.ts ?? '2026-11-30T10:00:00.000Z';
  next += 1;
  return {
    schema_version: TELEMETRY_SCHEMA_VERSION,
    telemetry_id: `t-${next}`,
    ts,
    dt: ts.slice(0, 10),
    received_at: ts,
    key_id: 'key-alice',
    user_id: 'alice',
    team_id: 'web',
    agent: 'claude-code',
    agent_version: '2.1.331',
    session_id: 'sess-a',
    kind: 'metric',
    name: 'claude_code.commit.count',
    ...EMPTY_TELEMETRY_FIELDS,
    value: 1,
    temporality: 'delta',
    series: 's',
    ...overrides,
  };
}

/** Claude Code's `api_request` event for one model call. */
export function apiRequest(session: string, requestId: string, agentCostMicros: number, who = {}) {
  return telemetryRecord({
    session_id: session,
    kind: 'event',
    name: 'claude_code.api_request',
    value: null,
    temporality: null,
    series: null,
    model: 'claude-sonnet-4-5',
    provider_request_id: requestId,
    agent_cost_micros: agentCostMicros,
    ...who,
  });
}
