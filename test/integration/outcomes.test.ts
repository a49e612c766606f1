import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDuckDbQueryEngine,
  type DuckDbQueryEngine,
} from '../../functions/adapters/local/duckdb-query.ts';
import { createLakeSink, createTelemetryLakeSink } from '../../functions/adapters/local/lake-sink.ts';
import {
  reconciliation,
  type SessionOutcome,
  sessionOutcomes,
  teamOutcomes,
} from '../../functions/core/analytics/outcomes.ts';
import { createModelCatalog } from '../../functions/core/pricing/catalog.ts';
import { apiRequest, telemetryRecord } from '../support/telemetry-fixture.ts';
import { usageRecord } from '../support/usage-fixture.ts';

/**
 * The join of the agents' telemetry to billed spend, on DuckDB over lake files written by the local
 * sinks; the SQL texts are the ones Athena runs (core/analytics/outcomes-sql.ts).
 */
const clock = { now: () => new Date('2026-12-01T00:00:00Z') };
const RANGE = { from: '2026-11-30', to: '2026-11-30' };
const alice = { key_id: 'key-alice', user_id: 'alice', team_id: 'web' };
const bob = { key_id: 'key-bob', user_id: 'bob', team_id: 'web' };
const carol = { key_id: 'key-carol', user_id: 'carol', team_id: 'web' };

let dataDir: string;
let engine: DuckDbQueryEngine;
let sessions: SessionOutcome[];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tollgate-outcomes-'));
  engine = createDuckDbQueryEngine({ dataDir });
  const metric = (session: string, name: string, value: number, extra = {}) =>
    telemetryRecord({ session_id: session, name, value, ...extra });
  const duplicate = metric('sess-a', 'claude_code.lines_of_code.count', 60, { type: 'added', ...alice });
  await createTelemetryLakeSink({ dataDir, clock }).write([
    // Alice: two edits accepted through the gateway, one rejected, a commit and a pull request.
    duplicate,
    { ...duplicate, received_at: '2026-11-30T10:05:00.000Z' }, // delivered twice
    metric('sess-a', 'claude_code.lines_of_code.count', 40, { type: 'added', ...alice }),
    metric('sess-a', 'claude_code.lines_of_code.count', 7, { type: 'removed', ...alice }),
    metric('sess-a', 'claude_code.commit.count', 1, alice),
    metric('sess-a', 'claude_code.pull_request.count', 1, alice),
    metric('sess-a', 'claude_code.code_edit_tool.decision', 2, { decision: 'accept', ...alice }),
    metric('sess-a', 'claude_code.code_edit_tool.decision', 1, { decision: 'reject', ...alice }),
    metric('sess-a', 'claude_code.active_time.total', 1800.5, { type: 'cli', ...alice }),
    apiRequest('sess-a', 'req_a1', 1_000, alice),
    apiRequest('sess-a', 'req_a2', 2_000, alice),
    // Bob: one call through the gateway, one on his own provider key.
    apiRequest('sess-b', 'req_b1', 700, bob),
    apiRequest('sess-b', 'req_b2', 500, bob),
    // A cumulative series counts its last value, not the sum of its reports.
    ...[1, 2, 3].map((v) =>
      metric('sess-b', 'claude_code.commit.count', v, { temporality: 'cumulative', series: 'cb', ...bob }),
    ),
    // Carol: Codex on its own provider, never through the gateway: tokens, no cost.
    telemetryRecord({
      ...carol,
      agent: 'codex',
      session_id: 'sess-c',
      kind: 'event',
      name: 'codex.sse_event',
      value: null,
      temporality: null,
      model: 'gpt-5-codex',
      input_tokens: 1_000_000,
      output_tokens: 100_000,
      cache_read_tokens: 0,
    }),
  ]);
  const billed = (
    request_id: string,
    session_id: string,
    provider_request_id: string,
    cost: number,
    who: object,
  ) =>
    usageRecord({
      request_id,
      session_id,
      provider_request_id,
      cost_micros: cost,
      ts: '2026-11-30T10:01:00.000Z',
      ...who,
    });
  await createLakeSink({ dataDir, clock }).write([
    billed('g1', 'sess-a', 'req_a1', 1_000, alice),
    // The gateway's price for this call differs by 30 %: a price out of date on one side.
    billed('g2', 'sess-a', 'req_a2', 2_600, alice),
    billed('g3', 'sess-b', 'req_b1', 700, bob),
    // Bob's client sending Alice's session id: his spend, never her session's.
    billed('g4', 'sess-a', 'req_elsewhere', 9_999, bob),
  ]);
  sessions = await sessionOutcomes(engine, createModelCatalog(), RANGE);
});

afterAll(async () => {
  await engine?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const session = (id: string) => sessions.find((s) => s.session_id === id);

describe('session outcomes', () => {
  it("sums what a session did once per point, and joins the gateway's billed cost of its own person", () => {
    expect(session('sess-a')).toEqual({
      session_id: 'sess-a',
      user_id: 'alice',
      team_id: 'web',
      agent: 'claude-code',
      week: '2026-11-30',
      active_seconds: 1800.5,
      lines_added: 100,
      lines_removed: 7,
      commits: 1,
      pull_requests: 1,
      edits_accepted: 2,
      edits_rejected: 1,
      gateway_cost_micros: 3_600,
      agent_cost_micros: 3_000,
      ungoverned_cost_micros: 0,
    });
  });

  it('counts a cumulative series by its last value', () => {
    expect(session('sess-b')?.commits).toBe(3);
  });

  it("finds model calls that never passed the gateway, at the agent's estimate or the catalog's price", () => {
    expect(session('sess-b')?.ungoverned_cost_micros).toBe(500);
    // gpt-5-codex: 1M input × $1.25/M + 100k output × $10/M = $2.25
    expect(session('sess-c')).toMatchObject({
      agent: 'codex',
      gateway_cost_micros: 0,
      ungoverned_cost_micros: 2_250_000,
    });
  });
});

describe('team outcomes', () => {
  it('hides a team’s figures when fewer than min_people contributed, and shows them at or above it', () => {
    const hidden = teamOutcomes(sessions, 3).find((r) => r.agent === 'claude-code');
    const shown = teamOutcomes(sessions, 2).find((r) => r.agent === 'claude-code');

    expect(hidden).toEqual({
      team_id: 'web',
      agent: 'claude-code',
      week: '2026-11-30',
      people: 2,
      hidden: true,
    });
    expect(shown).toMatchObject({
      people: 2,
      sessions: 2,
      lines_added: 100,
      commits: 4,
      pull_requests: 1,
      gateway_cost_usd: 0.0043,
      agent_cost_usd: 0.0042,
      ungoverned_cost_usd: 0.0005,
      cost_per_commit_usd: 0.001075,
      cost_per_pull_request_usd: 0.0043,
      cost_per_1k_lines_usd: 0.043,
      edit_acceptance: 2 / 3,
    });
  });
});

describe('reconciliation', () => {
  it("puts the agent's cost beside the gateway's per session and model, and flags a gap over the tolerance", async () => {
    const rows = await reconciliation(engine, RANGE);

    expect(rows).toEqual([
      {
        session_id: 'sess-a',
        model: 'claude-sonnet-4-5',
        calls: 2,
        agent_cost_usd: 0.003,
        gateway_cost_usd: 0.0036,
        finding: true,
      },
      {
        session_id: 'sess-b',
        model: 'claude-sonnet-4-5',
        calls: 1,
        agent_cost_usd: 0.0007,
        gateway_cost_usd: 0.0007,
        finding: false,
      },
    ]);
  });
});
