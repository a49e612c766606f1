/**
 * The agents' telemetry joined to billed spend, one SQL text for Athena and DuckDB (the subset
 * `sql.ts` describes). Telemetry delivery is at-least-once like usage, so every query keeps one row
 * per `telemetry_id` first. Sessions join on the agent's session id (Claude Code's `session.id` is its
 * `x-claude-code-session-id` header, Codex's `conversation.id` its `session-id` header, both recorded
 * as usage `session_id`), and a session's billed cost is its own person's: a session id is the
 * client's to choose, so another person's calls under the same id never count. A model call the agent
 * reported joins its request exactly on the provider's request id. Parameters: from, to (days,
 * inclusive) for telemetry, then the same for usage.
 */
import { dedupedUsage } from './sql.ts';

/** The events that are one model call each: Claude Code's api_request, Codex's completed response. */
const CALL_EVENTS = "('claude_code.api_request', 'codex.sse_event')";

const TELEMETRY = `tel AS (
  SELECT telemetry_id, ts, key_id, user_id, team_id, agent, session_id, kind, name, value, temporality,
    series, type, decision, provider_request_id, model, agent_cost_micros,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
    row_number() OVER (PARTITION BY telemetry_id ORDER BY received_at) AS telemetry_copy
  FROM telemetry
  WHERE dt BETWEEN ? AND ? AND session_id IS NOT NULL
),
t AS (SELECT * FROM tel WHERE telemetry_copy = 1),
calls AS (
  SELECT session_id, COALESCE(user_id, '') AS person, provider_request_id, model, agent_cost_micros,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens
  FROM t
  WHERE kind = 'event' AND name IN ${CALL_EVENTS}
)`;

const USAGE = dedupedUsage(
  ['request_id', 'user_id', 'session_id', 'provider_request_id', 'model_used', 'cost_micros'],
  'dt BETWEEN ? AND ?',
).replace(/^WITH /, '');

const BILLED = `billed AS (SELECT * FROM deduped WHERE copy_number = 1),
gateway AS (
  SELECT session_id, COALESCE(user_id, '') AS person, sum(cost_micros) AS cost_micros
  FROM billed
  WHERE session_id IS NOT NULL
  GROUP BY session_id, COALESCE(user_id, '')
),
ungoverned AS (
  SELECT c.*
  FROM calls c
  LEFT JOIN billed b ON b.provider_request_id = c.provider_request_id
  LEFT JOIN gateway g ON g.session_id = c.session_id AND g.person = c.person
  WHERE (c.provider_request_id IS NOT NULL AND b.request_id IS NULL)
    OR (c.provider_request_id IS NULL AND g.session_id IS NULL)
)`;

const sumOf = (name: string, filter = 'true') =>
  `sum(CASE WHEN name = '${name}' AND ${filter} THEN value ELSE 0 END)`;

/**
 * One row per agent session in the range: who, which agent, its ISO week, what it did (metric sums;
 * a cumulative series counts its last value), what the gateway billed for it, what the agent said it
 * cost, and what its reported model calls that never passed the gateway cost by its own estimate.
 */
export const SESSION_OUTCOMES_SQL = `WITH ${TELEMETRY},
${USAGE},
${BILLED},
points AS (
  SELECT session_id, name, type, decision, sum(value) AS value
  FROM t WHERE kind = 'metric' AND temporality = 'delta'
  GROUP BY session_id, name, type, decision
  UNION ALL
  SELECT session_id, name, type, decision, max(value) AS value
  FROM t WHERE kind = 'metric' AND temporality = 'cumulative'
  GROUP BY session_id, name, type, decision, series
),
did AS (
  SELECT session_id,
    ${sumOf('claude_code.active_time.total')} AS active_seconds,
    ${sumOf('claude_code.lines_of_code.count', "type = 'added'")} AS lines_added,
    ${sumOf('claude_code.lines_of_code.count', "type = 'removed'")} AS lines_removed,
    ${sumOf('claude_code.commit.count')} AS commits,
    ${sumOf('claude_code.pull_request.count')} AS pull_requests,
    ${sumOf('claude_code.code_edit_tool.decision', "decision = 'accept'")} AS edits_accepted,
    ${sumOf('claude_code.code_edit_tool.decision', "decision = 'reject'")} AS edits_rejected
  FROM points
  GROUP BY session_id
),
sessions AS (
  SELECT session_id, max(key_id) AS key_id, max(user_id) AS user_id, max(team_id) AS team_id,
    max(agent) AS agent, min(ts) AS started
  FROM t
  GROUP BY session_id
),
reported AS (
  SELECT session_id, sum(COALESCE(agent_cost_micros, 0)) AS agent_cost_micros FROM calls GROUP BY session_id
),
outside AS (
  SELECT session_id, sum(COALESCE(agent_cost_micros, 0)) AS ungoverned_cost_micros, count(*) AS ungoverned_calls
  FROM ungoverned GROUP BY session_id
)
SELECT s.session_id, s.key_id, s.user_id, s.team_id, s.agent,
  CAST(CAST(date_trunc('week', s.started) AS DATE) AS VARCHAR) AS week,
  COALESCE(d.active_seconds, 0) AS active_seconds,
  COALESCE(d.lines_added, 0) AS lines_added,
  COALESCE(d.lines_removed, 0) AS lines_removed,
  COALESCE(d.commits, 0) AS commits,
  COALESCE(d.pull_requests, 0) AS pull_requests,
  COALESCE(d.edits_accepted, 0) AS edits_accepted,
  COALESCE(d.edits_rejected, 0) AS edits_rejected,
  COALESCE(g.cost_micros, 0) AS gateway_cost_micros,
  COALESCE(r.agent_cost_micros, 0) AS agent_cost_micros,
  COALESCE(o.ungoverned_cost_micros, 0) AS ungoverned_cost_micros,
  COALESCE(o.ungoverned_calls, 0) AS ungoverned_calls
FROM sessions s
LEFT JOIN did d ON d.session_id = s.session_id
LEFT JOIN gateway g ON g.session_id = s.session_id AND g.person = COALESCE(s.user_id, '')
LEFT JOIN reported r ON r.session_id = s.session_id
LEFT JOIN outside o ON o.session_id = s.session_id
ORDER BY week, s.team_id, s.agent, s.session_id`;

/**
 * Model calls that never passed the gateway, by session and model, with the tokens the agent reported:
 * Codex reports tokens and no cost, so the report prices them from the catalog.
 */
export const UNGOVERNED_CALLS_SQL = `WITH ${TELEMETRY},
${USAGE},
${BILLED}
SELECT session_id, model, count(*) AS calls,
  sum(COALESCE(agent_cost_micros, 0)) AS agent_cost_micros,
  sum(CASE WHEN agent_cost_micros IS NULL THEN 1 ELSE 0 END) AS unpriced_calls,
  sum(COALESCE(input_tokens, 0)) AS input_tokens,
  sum(COALESCE(output_tokens, 0)) AS output_tokens,
  sum(COALESCE(cache_read_tokens, 0)) AS cache_read_tokens,
  sum(COALESCE(cache_write_tokens, 0)) AS cache_write_tokens
FROM ungoverned
GROUP BY session_id, model
ORDER BY session_id, model`;

/**
 * The agent's own cost beside the gateway's, per session and model, over the calls that joined their
 * request exactly: a gap is a price out of date on one side (or a call billed differently).
 */
export const RECONCILIATION_SQL = `WITH ${TELEMETRY},
${USAGE},
${BILLED}
SELECT c.session_id, b.model_used AS model, count(*) AS calls,
  sum(COALESCE(c.agent_cost_micros, 0)) AS agent_cost_micros,
  sum(b.cost_micros) AS gateway_cost_micros
FROM calls c
JOIN billed b ON b.provider_request_id = c.provider_request_id
WHERE c.agent_cost_micros IS NOT NULL
GROUP BY c.session_id, b.model_used
ORDER BY c.session_id, model`;
