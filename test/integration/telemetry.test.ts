import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelemetryRecord } from '../../functions/core/telemetry/record.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

/**
 * The OTLP receiver on the local gateway, fed what the real Claude Code 2.1.331 sent
 * (test/fixtures/otlp, captured with OTEL_LOG_USER_PROMPTS=1, so its prompt and answer text are in them).
 */
const FIXTURES = new URL('../fixtures/otlp/', import.meta.url);
const fixture = (name: string) => readFile(new URL(name, FIXTURES));
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

function post(signal: 'logs' | 'metrics', body: BodyInit, headers: Record<string, string>) {
  return fetch(`${gateway.url}/v1/${signal}`, { method: 'POST', headers, body });
}

const protobuf = (key: string) => ({
  authorization: `Bearer ${key}`,
  'content-type': 'application/x-protobuf',
});
const json = (key: string) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });

async function telemetryOf(keyId: string): Promise<TelemetryRecord[]> {
  const root = join(gateway.dataDir, 'telemetry');
  const days = await readdir(root).catch(() => []);
  const lines: string[] = [];
  for (const day of days) {
    for (const file of await readdir(join(root, day))) {
      lines.push(...(await readFile(join(root, day, file), 'utf8')).split('\n').filter(Boolean));
    }
  }
  return lines.map((l) => JSON.parse(l) as TelemetryRecord).filter((r) => r.key_id === keyId);
}

async function lakeText(): Promise<string> {
  const root = join(gateway.dataDir, 'telemetry');
  const parts: string[] = [];
  for (const day of await readdir(root)) {
    for (const file of await readdir(join(root, day)))
      parts.push(await readFile(join(root, day, file), 'utf8'));
  }
  return parts.join('');
}

describe('OTLP/HTTP from Claude Code', () => {
  it('keeps the allow-listed events of a protobuf export, attributed to the key’s person and team', async () => {
    const { key } = await gateway.createKey({ key_alias: 'otel-pb', user_id: 'alice', team_id: 'web' });
    const info = await gateway.keyInfo(key);

    const response = await post('logs', await fixture('claude-code-logs.pb'), protobuf(key));

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-protobuf');
    expect((await response.arrayBuffer()).byteLength).toBe(0);
    const records = await telemetryOf(info.key_id);
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

    const response = await post('metrics', await fixture('claude-code-metrics.json'), json(key));

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});
    const points = await telemetryOf(info.key_id);
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

    const response = await post('metrics', gzipSync(await fixture('claude-code-metrics.pb')), {
      ...protobuf(key),
      'content-encoding': 'gzip',
    });

    expect(response.status).toBe(200);
    expect((await telemetryOf(info.key_id)).length).toBe(11);
  });

  it('stores no prompt or answer text and no e-mail, even when the agent sends them', async () => {
    const { key } = await gateway.createKey({ key_alias: 'otel-private' });
    const logs = JSON.parse((await fixture('claude-code-logs.json')).toString('utf8'));
    const prompt = logs.resourceLogs[0].scopeLogs[0].logRecords.find(
      (r: { body: { stringValue: string } }) => r.body.stringValue === 'claude_code.user_prompt',
    );
    prompt.attributes.push({ key: 'user.email', value: { stringValue: 'alice@example.com' } });

    const response = await post('logs', JSON.stringify(logs), json(key));

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

    const logs = await post('logs', await fixture('codex-logs.pb'), protobuf(key));
    const metrics = await post('metrics', await fixture('codex-metrics.pb'), protobuf(key));

    expect([logs.status, metrics.status]).toEqual([200, 200]);
    const records = await telemetryOf(info.key_id);
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
