import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDuckDbQueryEngine } from '../../functions/adapters/local/duckdb-query.ts';
import { createLakeSink, createTelemetryLakeSink } from '../../functions/adapters/local/lake-sink.ts';
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';
import { telemetryRecord } from '../support/telemetry-fixture.ts';
import { usageRecord } from '../support/usage-fixture.ts';

/**
 * `tollgate erase --user <id>` (POST /user/erase) against a running gateway: the person's records
 * leave the lake files and the reports, their keys, team membership and document leave the table,
 * everyone else's stays, and the audit log says what was removed.
 */
const run = promisify(execFile);
let mock: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startTestGateway(mock.url);
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});

const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${gateway.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
  });

async function lakeRows(userId: string, table: 'usage' | 'telemetry' = 'usage'): Promise<number> {
  const engine = createDuckDbQueryEngine({ dataDir: gateway.dataDir });
  try {
    const rows = await engine.query(`SELECT count(*) AS n FROM ${table} WHERE user_id = ?`, [userId]);
    return Number(rows[0]?.n);
  } finally {
    await engine.close();
  }
}

describe('erasing a person', () => {
  it('removes their records from every day of the lake, and their keys, membership and document', async () => {
    // Prepare: zoe and ian in team ops (each with the key /user/new makes), zoe with a second key and a
    // request made now, both with records of past days.
    await admin('/team/new', { method: 'POST', body: JSON.stringify({ team_id: 'ops' }) });
    for (const user_id of ['zoe', 'ian'])
      await admin('/user/new', { method: 'POST', body: JSON.stringify({ user_id, teams: ['ops'] }) });
    const key = await (
      await admin('/key/generate', {
        method: 'POST',
        body: JSON.stringify({ user_id: 'zoe', team_id: 'ops' }),
      })
    ).json();
    const answer = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(answer.status).toBe(200);
    await createLakeSink({ dataDir: gateway.dataDir, clock: { now: () => new Date() } }).write([
      usageRecord({ request_id: 'old-z1', user_id: 'zoe', ts: '2026-10-01T10:00:00.000Z' }),
      usageRecord({ request_id: 'old-z2', user_id: 'zoe', ts: '2026-10-02T10:00:00.000Z' }),
      usageRecord({ request_id: 'old-i1', user_id: 'ian', ts: '2026-10-01T11:00:00.000Z' }),
    ]);
    await createTelemetryLakeSink({ dataDir: gateway.dataDir, clock: { now: () => new Date() } }).write([
      telemetryRecord({ user_id: 'zoe', ts: '2026-10-01T10:00:01.000Z' }),
      telemetryRecord({
        user_id: 'zoe',
        ts: '2026-10-02T10:00:01.000Z',
        kind: 'event',
        name: 'claude_code.api_request',
      }),
      telemetryRecord({ user_id: 'ian', ts: '2026-10-01T11:00:01.000Z' }),
    ]);
    await expect.poll(() => lakeRows('zoe'), { timeout: 10_000 }).toBe(3);
    await expect.poll(() => lakeRows('zoe', 'telemetry'), { timeout: 10_000 }).toBe(2);

    // Act
    const { stdout } = await run('node', ['bin/tollgate.js', 'erase', '--user', 'zoe'], {
      env: { ...process.env, TOLLGATE_URL: gateway.url, TOLLGATE_MASTER_KEY: MASTER_KEY },
    });

    // Assess
    expect(stdout).toMatch(
      /^erased zoe: 3 usage records over 3 days, 2 telemetry points and events, 2 keys, 1 team memberships, their document/,
    );
    expect(await lakeRows('zoe')).toBe(0);
    expect(await lakeRows('ian')).toBe(1);
    expect(await lakeRows('zoe', 'telemetry')).toBe(0);
    expect(await lakeRows('ian', 'telemetry')).toBe(1);
    expect((await admin('/user/info?user_id=zoe')).status).toBe(404);
    const team = await (await admin('/team/info?team_id=ops')).json();
    expect(JSON.stringify(team)).not.toContain('zoe');
    const refused = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(refused.status).toBe(401);
    const audit = await (await admin('/audit/log')).json();
    expect(audit.entries).toContainEqual(
      expect.objectContaining({
        action: 'user.erase',
        target: 'user:zoe',
        details: expect.objectContaining({ records: 3, telemetry: 2, keys: 2 }),
      }),
    );
  });

  it('has no erasure jobs to report locally, where an erasure is done when it answers', async () => {
    const answer = await admin('/user/erase/erase-20261206-00000000');
    expect(answer.status).toBe(404);
    expect((await answer.json()).error.message).toMatch(/No erasure job 'erase-20261206-00000000'/);
  });

  it('refuses an erasure without a person, in the admin API’s error shape', async () => {
    const answer = await admin('/user/erase', { method: 'POST', body: JSON.stringify({}) });
    expect(answer.status).toBe(400);
    expect((await answer.json()).error.message).toMatch(/user_id/);
  });
});
