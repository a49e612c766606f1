import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

/**
 * The outcome reports through the local server: the real Claude Code session in the fixtures
 * (test/fixtures/otlp: a file written and committed) exported to the gateway, its model calls made
 * through the gateway under the same session id, and the reports read back as a person and as an admin.
 */
const FIXTURES = new URL('../fixtures/otlp/', import.meta.url);
const NOW = new Date('2026-12-06T09:00:00Z');
const DAY = '2026-12-06';

let mock: MockUpstream;
let gateway: TestGateway;
let sessionId: string;

async function call(path: string, key: string, body?: unknown) {
  const response = await fetch(`${gateway.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: answers are read loosely in assertions
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function billedCall(key: string) {
  const response = await fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: {
      'x-api-key': key,
      'content-type': 'application/json',
      'anthropic-version': '2023-06-01',
      'x-claude-code-session-id': sessionId,
    },
    body: JSON.stringify({
      model: 'claude-sonnet-4-5',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hi' }],
    }),
  });
  expect(response.status).toBe(200);
  await response.text();
}

beforeAll(async () => {
  mock = await startMockUpstream({ script: { usage: { input_tokens: 1_000, output_tokens: 50 } } });
  gateway = await startTestGateway(
    mock.url,
    { TOLLGATE_OUTCOMES_MIN_PEOPLE: '1' },
    { clock: { now: () => NOW } },
  );
  await call('/team/new', MASTER_KEY, { team_id: 'web' });
  const metrics = JSON.parse(await readFile(new URL('claude-code-metrics.json', FIXTURES), 'utf8'));
  const attrs = metrics.resourceMetrics[0].scopeMetrics[0].metrics[0].sum.dataPoints[0].attributes;
  sessionId = attrs.find((a: { key: string }) => a.key === 'session.id').value.stringValue;
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});

describe('outcomes', () => {
  it("shows a person their own session's lines, commit and accepted edit beside what the gateway billed for it", async () => {
    const alice = String(
      (await call('/user/new', MASTER_KEY, { user_id: 'alice', teams: ['web'] })).body.key,
    );
    const viewer = String(
      (await call('/user/new', MASTER_KEY, { user_id: 'vic', user_role: 'proxy_admin_viewer' })).body.key,
    );
    await billedCall(alice);
    await billedCall(alice);
    const exported = await fetch(`${gateway.url}/v1/metrics`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/x-protobuf' },
      body: await readFile(new URL('claude-code-metrics.pb', FIXTURES)),
    });
    const sameSession = await fetch(`${gateway.url}/v1/metrics`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
      body: await readFile(new URL('claude-code-metrics.json', FIXTURES)),
    });
    await gateway.proxy.drain();
    const spend = (await gateway.keyInfo(alice)).spend_micros;

    const me = await call(`/api/me?from=${DAY}&to=${DAY}`, alice);
    const org = await call(`/api/reports/agent-outcomes?from=${DAY}&to=${DAY}`, viewer);
    const refused = await call(`/api/reports/agent-outcomes?from=${DAY}&to=${DAY}`, alice);

    expect([exported.status, sameSession.status]).toEqual([200, 200]);
    expect(spend).toBe(2 * 3_750);
    // Two captured runs, two sessions; the calls billed here carry the JSON run's session id, so the
    // person's billed cost is theirs and the protobuf run's session cost nothing through the gateway.
    expect(me.body.outcomes).toMatchObject({
      from: DAY,
      to: DAY,
      sessions: 2,
      lines_added: 8,
      commits: 2,
      edits_accepted: 2,
      gateway_cost_usd: spend / 1e6,
      cost_per_commit_usd: spend / 2 / 1e6,
    });
    expect(org.status).toBe(200);
    expect(org.body.rows).toEqual([
      expect.objectContaining({
        team_id: 'web',
        agent: 'claude-code',
        week: '2026-11-30',
        people: 1,
        hidden: false,
      }),
    ]);
    expect(org.body.rows[0].gateway_cost_usd).toBe(spend / 1e6);
    expect(refused.status).toBe(403);
  });

  it('answers a range that is not one with 400', async () => {
    const reply = await call('/api/reports/agent-outcomes?from=2026-12-09&to=2026-12-01', MASTER_KEY);

    expect(reply.status).toBe(400);
  });
});
