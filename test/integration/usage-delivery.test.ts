import type { PutRecordBatchCommand, PutRecordBatchCommandOutput } from '@aws-sdk/client-firehose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFirehoseSink,
  replaySpilled,
  type UsageSpill,
} from '../../functions/adapters/aws/firehose-sink.ts';
import { createDuckDbQueryEngine } from '../../functions/adapters/local/duckdb-query.ts';
import type { UsageRecord } from '../../functions/core/usage/record.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

/**
 * Exactly one record per request reaches the lake, whatever the request's outcome and however badly
 * Firehose behaves: the gateway's usage sink is the real Firehose sink over a Firehose client that
 * fails a third of the entries and times out on some calls; what it will not take is spilled, and a
 * replay (as the rollup function runs it) delivers the rest.
 */
const decoder = new TextDecoder();

/** A seeded generator, so a failure is reproducible. */
function lcg(seed: number) {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

/** Firehose: each delivered entry lands in `lake`; entries fail and calls time out at the given rates. */
function faultyFirehose(
  lake: UsageRecord[],
  rates: { entry: number; timeout: number },
  random: () => number,
) {
  const stats = { calls: 0, timeouts: 0, failedEntries: 0 };
  const client = {
    async send(command: PutRecordBatchCommand): Promise<PutRecordBatchCommandOutput> {
      stats.calls += 1;
      if (random() < rates.timeout) {
        stats.timeouts += 1;
        throw Object.assign(new Error('Connection timed out after 5000 ms'), { name: 'TimeoutError' });
      }
      const responses = (command.input.Records ?? []).map((r) => {
        if (random() < rates.entry) {
          stats.failedEntries += 1;
          return { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' };
        }
        lake.push(JSON.parse(decoder.decode(r.Data)) as UsageRecord);
        return { RecordId: `r${lake.length}` };
      });
      return {
        $metadata: { httpStatusCode: 200 },
        FailedPutCount: responses.filter((r) => 'ErrorCode' in r).length,
        RequestResponses: responses,
      };
    },
  };
  return { client, stats };
}

function memorySpill(): UsageSpill & { batches: Map<string, string[]> } {
  const batches = new Map<string, string[]>();
  let n = 0;
  return {
    batches,
    put: async (lines) => void batches.set(`spill-${String(++n).padStart(4, '0')}`, lines),
    list: async () => [...batches.keys()].sort(),
    read: async (id) => batches.get(id) ?? [],
    remove: async (id) => void batches.delete(id),
  };
}

/**
 * 45 requests of every outcome through the gateway: successes (JSON and streamed), a spent budget, an
 * unknown key, a malformed body, an unknown model, an upstream 500, and clients that leave mid-stream.
 * Resolves to their request ids (from `x-tollgate-request-id`).
 */
async function sendEveryOutcome(gateway: TestGateway, mock: MockUpstream): Promise<string[]> {
  const { key } = await gateway.createKey({ key_alias: 'delivery' });
  const { key: broke } = await gateway.createKey({ key_alias: 'broke', max_budget: 0 });
  const post = (body: string, apiKey = key) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}` },
      body,
    });
  const ids: string[] = [];
  const track = async (response: Response) => {
    ids.push(String(response.headers.get('x-tollgate-request-id')));
    await response.text().catch(() => undefined);
  };
  const chat = JSON.stringify({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'hi' }] });

  for (let i = 0; i < 15; i++)
    await track(await post(JSON.stringify({ ...JSON.parse(chat), stream: i % 2 === 0 })));
  for (let i = 0; i < 5; i++) await track(await post(chat, broke));
  for (let i = 0; i < 5; i++) await track(await post(chat, 'sk-tg-nobody'));
  for (let i = 0; i < 5; i++) await track(await post('{"model": "gpt-4.1-mini", "messages": ['));
  for (let i = 0; i < 5; i++)
    await track(await post(JSON.stringify({ model: 'no-such-model', messages: [] })));
  mock.script.failWith = { status: 500 };
  for (let i = 0; i < 5; i++) await track(await post(chat));
  mock.script.failWith = undefined;
  mock.script.chunkDelayMs = 50;
  for (let i = 0; i < 5; i++) {
    const response = await post(JSON.stringify({ ...JSON.parse(chat), stream: true }));
    ids.push(String(response.headers.get('x-tollgate-request-id')));
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
  }
  mock.script.chunkDelayMs = 2;
  return ids;
}

let mock: MockUpstream;
let gateway: TestGateway;
const lake: UsageRecord[] = [];
const spill = memorySpill();
const faulty = faultyFirehose(lake, { entry: 0.35, timeout: 0.25 }, lcg(42));

beforeAll(async () => {
  mock = await startMockUpstream({
    script: { chunkDelayMs: 2, usage: { input_tokens: 10, output_tokens: 20 } },
  });
  const usage = createFirehoseSink({
    client: faulty.client,
    streamName: 'tollgate-usage',
    maxAttempts: 3,
    sleep: async () => {},
    spill,
  });
  gateway = await startTestGateway(mock.url, {}, { usage });
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});

/** Waits until `seen()` holds every id (the server learns of a client gone when its socket closes). */
async function untilAccounted(ids: string[], seen: () => Promise<Set<string>> | Set<string>): Promise<void> {
  for (let waited = 0; waited < 5_000; waited += 50) {
    const have = await seen();
    if (ids.every((id) => have.has(id))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('usage delivery to the local lake', () => {
  it('gives exactly one record per request, for every outcome, as DuckDB reads the lake', async () => {
    // Prepare
    const local = await startTestGateway(mock.url);
    const engine = createDuckDbQueryEngine({ dataDir: local.dataDir });
    const distinct = async () =>
      new Set<string>(
        (await engine.query('SELECT DISTINCT request_id FROM usage')).map((r) => String(r.request_id)),
      );

    // Act
    const ids = await sendEveryOutcome(local, mock);
    await untilAccounted(ids, distinct);
    await local.proxy.drain();
    const [counts] = await engine.query(
      'SELECT count(DISTINCT request_id) AS n, count(*) AS records FROM usage',
    );

    // Assess
    expect(ids).toHaveLength(45);
    expect([...(await distinct())].sort()).toEqual([...ids].sort());
    expect(counts).toEqual({ n: 45, records: 45 });
    await engine.close();
    await local.close();
  });
});

describe('usage delivery through a failing Firehose', () => {
  it('gives exactly one record per request, for every outcome, after retries and a replay', async () => {
    // Prepare
    const ids = await sendEveryOutcome(gateway, mock);
    // Every request accounted for, delivered or spilled, then what is in flight settled.
    await untilAccounted(
      ids,
      () =>
        new Set([
          ...lake.map((r) => r.request_id),
          ...[...spill.batches.values()].flat().map((l) => String(JSON.parse(l).request_id)),
        ]),
    );
    await gateway.proxy.drain();
    const beforeReplay = new Set(lake.map((r) => r.request_id)).size;
    const spilledBatches = spill.batches.size;
    const healthy = createFirehoseSink({
      client: faultyFirehose(lake, { entry: 0, timeout: 0 }, lcg(1)).client,
      streamName: 'tollgate-usage',
    });
    const replayed = await replaySpilled(spill, healthy);

    // Assess
    const n = ids.length;
    const delivered = new Set(lake.map((r) => r.request_id));
    expect(n).toBe(45);
    expect(new Set(ids).size).toBe(n);
    expect(faulty.stats.timeouts).toBeGreaterThan(0);
    expect(faulty.stats.failedEntries).toBeGreaterThan(0);
    expect(spilledBatches).toBeGreaterThan(0);
    expect(beforeReplay).toBeLessThan(n);
    expect(delivered.size).toBe(n);
    expect([...delivered].sort()).toEqual([...ids].sort());
    expect(lake).toHaveLength(n);
    expect(spill.batches.size).toBe(0);
    expect(replayed).toMatchObject({ batches: spilledBatches, failed: 0 });
    const outcomes = new Set(lake.map((r) => r.outcome));
    expect([...outcomes].sort()).toEqual(
      ['client_closed', 'denied', 'invalid', 'success', 'upstream_error'].sort(),
    );
    console.info(
      `${n} requests; Firehose: ${faulty.stats.calls} calls, ${faulty.stats.timeouts} timeouts, ${faulty.stats.failedEntries} failed entries; ` +
        `${beforeReplay} delivered at once, ${replayed.records} from ${spilledBatches} spilled batches`,
    );
  });

  it('keeps a spilled batch that fails again for the next replay', async () => {
    // Prepare
    const local = memorySpill();
    await local.put([JSON.stringify(lake[0])]);
    const down = createFirehoseSink({
      client: faultyFirehose([], { entry: 0, timeout: 1 }, lcg(7)).client,
      streamName: 's',
      maxAttempts: 1,
    });

    // Act
    const result = await replaySpilled(local, down);

    // Assess
    expect(result).toEqual({ batches: 0, records: 0, failed: 1, stopped: false });
    expect(local.batches.size).toBe(1);
  });

  it('skips a batch it cannot read, delivers the rest in writes of at most 500, and stops when told', async () => {
    // Prepare: a corrupt batch first, then 30 batches of 20 records (600 in all).
    const local = memorySpill();
    await local.put(['{"request_id": "half a rec']);
    for (let b = 0; b < 30; b++)
      await local.put(
        Array.from({ length: 20 }, (_, i) => JSON.stringify({ ...lake[0], request_id: `b${b}-${i}` })),
      );
    const delivered: UsageRecord[] = [];
    const { client } = faultyFirehose(delivered, { entry: 0, timeout: 0 }, lcg(3));
    const writes: number[] = [];
    const sink = createFirehoseSink({ client, streamName: 's' });
    const counting = {
      async write(r: UsageRecord[]) {
        writes.push(r.length);
        await sink.write(r);
      },
    };

    // Act
    let calls = 0;
    const partial = await replaySpilled(local, counting, () => ++calls <= 11);
    const rest = await replaySpilled(local, counting);

    // Assess: the first run reads the corrupt batch and 10 good ones before its time is up.
    expect(partial).toEqual({ batches: 10, records: 200, failed: 1, stopped: true });
    expect(rest).toEqual({ batches: 20, records: 400, failed: 1, stopped: false });
    expect(writes).toEqual([200, 400]);
    expect(new Set(delivered.map((r) => r.request_id)).size).toBe(600);
    expect(local.batches.size).toBe(1);
  });
});
