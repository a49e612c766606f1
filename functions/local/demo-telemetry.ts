/**
 * `npm run demo`'s agent telemetry: what Claude Code would have exported over OTLP for the demo's own
 * sessions (core/telemetry/record.ts), so the Outcomes panel and a person's "What your agents did" have
 * something to show. Each successful Claude Code call has its `claude_code.api_request` event, joined
 * to its usage record by the provider's request id; each session its active time, lines, edit
 * decisions, commits and pull requests. Two findings are planted: one person's Claude Code prices
 * calls from an old price list (a reconciliation gap), and a few sessions call a model on the agent's
 * own provider key (spend outside the gateway).
 */
import { randomUUID } from 'node:crypto';
import {
  EMPTY_TELEMETRY_FIELDS,
  TELEMETRY_SCHEMA_VERSION,
  type TelemetryRecord,
} from '../core/telemetry/record.ts';
import type { UsageRecord } from '../core/usage/record.ts';

type Point = Partial<TelemetryRecord> & Pick<TelemetryRecord, 'kind' | 'name'>;

export function telemetryHistory(
  records: UsageRecord[],
  random: () => number,
  stalePricesOf: string,
): TelemetryRecord[] {
  const sessions = new Map<string, UsageRecord[]>();
  for (const r of records) {
    if (r.agent !== 'claude-code' || r.outcome !== 'success' || !r.session_id) continue;
    sessions.set(r.session_id, [...(sessions.get(r.session_id) ?? []), r]);
  }
  const out: TelemetryRecord[] = [];
  for (const calls of sessions.values()) {
    const last = calls[calls.length - 1] as UsageRecord;
    const at = (r: UsageRecord, point: Point) => out.push(telemetryOf(r, point));
    for (const r of calls) {
      const stale = r.user_id === stalePricesOf ? 0.7 : 1;
      at(r, {
        kind: 'event',
        name: 'claude_code.api_request',
        provider_request_id: r.provider_request_id,
        model: r.model_used,
        input_tokens: r.input_tokens,
        output_tokens: r.output_tokens,
        cache_read_tokens: r.cache_read_tokens,
        cache_write_tokens: r.cache_write_5m_tokens,
        agent_cost_micros: Math.round(r.cost_micros * stale),
        duration_ms: r.latency_ms,
      });
    }
    const n = calls.length;
    const metric = (name: string, value: number, more: Partial<TelemetryRecord> = {}) =>
      value > 0 && at(last, { kind: 'metric', name, value, temporality: 'delta', ...more });
    metric('claude_code.session.count', 1);
    metric('claude_code.active_time.total', Math.round(n * (60 + random() * 180)), { type: 'cli' });
    metric('claude_code.lines_of_code.count', Math.round(n * (4 + random() * 30)), { type: 'added' });
    metric('claude_code.lines_of_code.count', Math.round(n * random() * 12), { type: 'removed' });
    metric('claude_code.code_edit_tool.decision', Math.round(n * (0.2 + random() * 0.3)), {
      decision: 'accept',
    });
    // About one edit in eight is turned down.
    metric('claude_code.code_edit_tool.decision', random() < 0.3 ? 1 : 0, { decision: 'reject' });
    metric('claude_code.commit.count', random() < 0.6 ? 1 + Math.floor(random() * 2) : 0);
    metric('claude_code.pull_request.count', random() < 0.25 ? 1 : 0);
    if (random() < 0.03) {
      // A call on the agent's own Anthropic key: reported by the agent, never seen by the gateway.
      at(last, {
        kind: 'event',
        name: 'claude_code.api_request',
        provider_request_id: `req_own${randomUUID().slice(0, 18)}`,
        model: last.model_used,
        input_tokens: last.input_tokens,
        output_tokens: last.output_tokens,
        agent_cost_micros: Math.max(1, last.cost_micros),
      });
    }
  }
  return out;
}

function telemetryOf(r: UsageRecord, point: Point): TelemetryRecord {
  return {
    schema_version: TELEMETRY_SCHEMA_VERSION,
    telemetry_id: randomUUID(),
    ts: r.ts,
    dt: r.dt,
    received_at: r.ts,
    key_id: r.key_id ?? '',
    user_id: r.user_id,
    team_id: r.team_id,
    agent: r.agent,
    agent_version: r.agent_version,
    session_id: r.session_id,
    ...EMPTY_TELEMETRY_FIELDS,
    ...point,
  };
}
