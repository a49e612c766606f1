/**
 * A gateway killed with SIGKILL mid-stream, then started again on the same data dir. Invariants: every
 * request that reached the provider has exactly one record (those in flight at the kill as `lost`,
 * usage estimated), the key's counter equals the sum of its records, nothing stays reserved, and a
 * strict request is served again at once.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../functions/core/usage/record.ts';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

let upstream: MockUpstream;
const started: GatewayProcess[] = [];

beforeAll(async () => {
  upstream = await startMockUpstream({
    script: {
      text: Array.from({ length: 200 }, (_, i) => `w${i}`).join(' '),
      usage: { input_tokens: 30, output_tokens: 200 },
      chunkDelayMs: 50,
    },
  });
});

afterAll(async () => {
  for (const g of started) await g.kill();
  await upstream?.close();
  if (started[0]) await rm(started[0].dataDir, { recursive: true, force: true });
});

function stream(gateway: GatewayProcess, key: string, asStream = true): Promise<Response> {
  return fetch(`${gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'claude-sonnet-4-5',
      max_tokens: 2_000,
      stream: asStream,
      messages: [{ role: 'user', content: 'tell me a long story' }],
    }),
  });
}

async function keyInfo(gateway: GatewayProcess, key: string) {
  const { info } = (await gateway.admin(`/key/info?key=${encodeURIComponent(key)}`)) as {
    info: { reserved_micros: number; spend_micros: number };
  };
  return info;
}

describe('a gateway killed mid-stream', () => {
  it('records the requests it had in flight as lost and frees their holds when it starts again', async () => {
    // Prepare: one finished request, then five streams under way at the kill.
    const first = await startGatewayProcess(upstream.url);
    started.push(first);
    // $0.20 strict: the five streams' worst cases (2,000 output tokens of sonnet, $0.03 each) fill most of it.
    const key = await first.createKey({ key_alias: 'crash', max_budget: 0.2 });
    const done = await stream(first, key, false);
    await done.text();
    await first.records(1);
    const inflight = await Promise.all(Array.from({ length: 5 }, () => stream(first, key)));
    await Promise.all(inflight.map((r) => r.body?.getReader().read()));
    const ids = inflight.map((r) => r.headers.get('x-tollgate-request-id'));

    // Act
    await first.kill('SIGKILL');
    const second = await startGatewayProcess(upstream.url, {}, { dataDir: first.dataDir });
    started.push(second);

    // Assess
    const records = await second.records(6);
    expect(records).toHaveLength(6);
    const byId = new Map(records.map((r) => [r.request_id, r]));
    for (const id of ids) {
      expect(byId.get(String(id))).toMatchObject({
        outcome: 'lost',
        usage_source: 'estimated',
        key_alias: 'crash',
      } satisfies Partial<UsageRecord>);
    }
    const info = await keyInfo(second, key);
    expect(info.reserved_micros).toBe(0);
    expect(info.spend_micros).toBe(records.reduce((sum, r) => sum + r.cost_micros, 0));
    const again = await stream(second, key, false);
    expect(again.status).toBe(200);
    await again.text();
  });
});
