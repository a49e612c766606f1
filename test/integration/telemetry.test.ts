import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startGatewayProcess } from '../support/gateway-process.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';
import {
  jsonHeaders,
  otlpFixture,
  postOtlp,
  protobufHeaders,
  telemetryFiles,
  telemetryOf,
} from '../support/otlp-client.ts';

/**
 * The OTLP receiver on the local gateway, fed what the real Claude Code 2.1.331 sent
 * (test/fixtures/otlp, captured with OTEL_LOG_USER_PROMPTS=1, so its prompt and answer text are in them).
 */
const PROMPT = 'Write hello.txt then commit it';
const ANSWER = 'Done.';

let mock: MockUpstream;
let gateway: TestGateway;
const now = new Date('2026-12-06T08:30:00Z');

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startTestGateway(mock.url, {}, { clock: { now: () => now } });
  await gateway.createTeam({ team_id: 'web' });
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});

const lakeText = async () => (await telemetryFiles(gateway.dataDir)).join('');

/** The protobuf logs export Claude Code sent, to the gateway at `url` with `key`. */
const postClaudeCodeLogs = async (url: string, key: string) =>
  postOtlp(url, 'logs', await otlpFixture('claude-code-logs.pb'), protobufHeaders(key));

describe('OTLP/HTTP from Claude Code', () => {
  it('keeps the allow-listed events of a protobuf export, attributed to the key’s person and team', async () => {
    const { key } = await gateway.createKey({ key_alias: 'otel-pb', user_id: 'alice', team_id: 'web' });
    const info = await gateway.keyInfo(key);

    const response = await postClaudeCodeLogs(gateway.url, key);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-protobuf');
    expect((await response.arrayBuffer()).byteLength).toBe(0);
    const records = await telemetryOf(gateway.dataDir, info.key_id);
    const names = records.map((r) => r.name).sort();
    expect(names).toEqual([
      ...Array(3).fill('claude_code.api_request'),
      ...Array(2).fill('claude_code.tool_decision'),
      ...Array(2).fill('claude_code.tool_result'),
      'claude_code.user_prompt',
    ]);
    expect(new Set(records.map((r) => [r.user_id, r.team_id, r.agent, r.agent_version].join()))).toEqual(
      new Set(['alice,web,claude-code,2.1.331']),
    );
    const calls = records.filter((r) => r.name === 'claude_code.api_request');
    expect(calls.map((r) => r.provider_request_id)).toEqual(calls.map(() => expect.stringMatching(/^req_/)));
    expect(calls.reduce((sum, r) => sum + (r.agent_cost_micros ?? 0), 0)).toBe(6_000);
    expect((await gateway.keyInfo(key)).spend_micros).toBe(0);
  });

  it('keeps the metric points of a JSON export with their values, and drops the rest', async () => {
    const { key } = await gateway.createKey({ key_alias: 'otel-json', user_id: 'alice', team_id: 'web' });
    const info = await gateway.keyInfo(key);

    const response = await postOtlp(
      gateway.url,
      'metrics',
      await otlpFixture('claude-code-metrics.json'),
      jsonHeaders(key),
    );

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});
    const points = await telemetryOf(gateway.dataDir, info.key_id);
    const value = (name: string, type?: string) =>
      points.find((p) => p.name === name && (type === undefined || p.type === type))?.value;
    expect(value('claude_code.lines_of_code.count', 'added')).toBe(4);
    expect(value('claude_code.commit.count')).toBe(1);
    expect(value('claude_code.session.count')).toBe(1);
    expect(value('claude_code.active_time.total')).toBeCloseTo(0.332);
    expect(points.find((p) => p.name === 'claude_code.code_edit_tool.decision')).toMatchObject({
      decision: 'accept',
      tool_name: 'Write',
      value: 1,
      temporality: 'delta',
    });
    expect(points.every((p) => p.session_id === points[0]?.session_id)).toBe(true);
  });

  it('takes a gzipped body as the exporters send it', async () => {
    const { key } = await gateway.createKey({ key_alias: 'otel-gzip' });
    const info = await gateway.keyInfo(key);

    const response = await postOtlp(
      gateway.url,
      'metrics',
      gzipSync(await otlpFixture('claude-code-metrics.pb')),
      {
        ...protobufHeaders(key),
        'content-encoding': 'gzip',
      },
    );

    expect(response.status).toBe(200);
    expect((await telemetryOf(gateway.dataDir, info.key_id)).length).toBe(11);
  });

  it('stores no prompt or answer text and no e-mail, even when the agent sends them', async () => {
    const { key } = await gateway.createKey({ key_alias: 'otel-private' });
    const logs = JSON.parse((await otlpFixture('claude-code-logs.json')).toString('utf8'));
    const prompt = logs.resourceLogs[0].scopeLogs[0].logRecords.find(
      (r: { body: { stringValue: string } }) => r.body.stringValue === 'claude_code.user_prompt',
    );
    prompt.attributes.push({ key: 'user.email', value: { stringValue: 'alice@example.com' } });

    const response = await postOtlp(gateway.url, 'logs', JSON.stringify(logs), jsonHeaders(key));

    expect(response.status).toBe(200);
    const lake = await lakeText();
    expect(lake).toContain('claude_code.user_prompt');
    expect(lake).not.toContain(PROMPT);
    expect(lake).not.toContain(`"${ANSWER}"`);
    expect(lake).not.toContain('alice@example.com');
  });
});

describe('OTLP/HTTP from Codex', () => {
  it('keeps its session events in either encoding and drops its ~600 KB of runtime metrics', async () => {
    const { key } = await gateway.createKey({ key_alias: 'otel-codex', user_id: 'bob', team_id: 'web' });
    const info = await gateway.keyInfo(key);

    const logs = await postOtlp(
      gateway.url,
      'logs',
      await otlpFixture('codex-logs.pb'),
      protobufHeaders(key),
    );
    const metrics = await postOtlp(
      gateway.url,
      'metrics',
      await otlpFixture('codex-metrics.pb'),
      protobufHeaders(key),
    );

    expect([logs.status, metrics.status]).toEqual([200, 200]);
    const records = await telemetryOf(gateway.dataDir, info.key_id);
    expect(records.map((r) => r.name).sort()).toEqual([
      'codex.api_request',
      'codex.conversation_starts',
      'codex.sse_event',
      'codex.user_prompt',
    ]);
    expect(records.find((r) => r.name === 'codex.sse_event')).toMatchObject({
      agent: 'codex',
      agent_version: '0.169.0',
      model: 'gpt-5-codex',
      type: 'response.completed',
      input_tokens: 12,
      output_tokens: 7,
      agent_cost_micros: null,
    });
    expect(new Set(records.map((r) => r.session_id)).size).toBe(1);
    expect(records[0]?.session_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await lakeText()).not.toContain('Say hello');
  });
});

describe('OTLP/HTTP to the gateway as npm start runs it', () => {
  it('takes an export on plain Node, where the receiver is bundled with the rest of the gateway', async () => {
    // Prepare: the real process (its code built by esbuild, run without tsx)
    const running = await startGatewayProcess(mock.url);
    try {
      const key = await running.createKey({ key_alias: 'otel-process', user_id: 'alice' });

      // Act
      const response = await postClaudeCodeLogs(running.url, key);

      // Assess: accepted, and its events are in the lake
      expect(response.status).toBe(200);
      const lines = (await telemetryFiles(running.dataDir)).join('');
      expect(lines.match(/"name":"claude_code.api_request"/g)).toHaveLength(3);
    } finally {
      await running.close();
    }
  });
});
