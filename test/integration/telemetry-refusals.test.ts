import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';
import { jsonHeaders, otlpFixture, postOtlp, protobufHeaders, telemetryOf } from '../support/otlp-client.ts';

/**
 * What the OTLP receiver on the local gateway refuses, and how: keys, content types, bodies it cannot
 * decode, sizes, partial success, its own rate limit. Fed what the real Claude Code 2.1.331 sent
 * (test/fixtures/otlp, captured with OTEL_LOG_USER_PROMPTS=1, so its prompt and answer text are in them).
 */

let mock: MockUpstream;
let gateway: TestGateway;
let now = new Date('2026-12-06T08:30:00Z');

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startTestGateway(mock.url, {}, { clock: { now: () => now } });
  await gateway.createTeam({ team_id: 'web' });
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});

describe('what the receiver refuses', () => {
  it.each([
    ['no key', {}, 401],
    ['an unknown key', { authorization: 'Bearer sk-tg-unknown' }, 401],
  ])('answers a request with %s as 401', async (_, auth, status) => {
    const response = await postOtlp(gateway.url, 'metrics', await otlpFixture('claude-code-metrics.json'), {
      'content-type': 'application/json',
      ...auth,
    });

    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ code: 16, message: expect.stringMatching(/key/) });
  });

  it('refuses a blocked key and an expired one with 403, as the proxy does', async () => {
    const { key: blocked } = await gateway.createKey({ key_alias: 'otel-blocked' });
    await fetch(`${gateway.url}/key/block`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-master-test', 'content-type': 'application/json' },
      body: JSON.stringify({ key: blocked }),
    });
    const { key: expiring } = await gateway.createKey({ key_alias: 'otel-expiring', duration: '1h' });
    now = new Date(now.getTime() + 2 * 3_600_000);

    const body = await otlpFixture('claude-code-metrics.pb');
    const refused = [
      await postOtlp(gateway.url, 'metrics', body, protobufHeaders(blocked)),
      await postOtlp(gateway.url, 'metrics', body, protobufHeaders(expiring)),
    ];

    expect(refused.map((r) => r.status)).toEqual([403, 403]);
    expect(refused.map((r) => r.headers.get('content-type'))).toEqual(
      Array(2).fill('application/x-protobuf'),
    );
  });

  it('answers 415 to a body that is neither protobuf nor JSON', async () => {
    const { key } = await gateway.createKey({ key_alias: 'otel-415' });

    const response = await postOtlp(gateway.url, 'logs', 'hello', {
      authorization: `Bearer ${key}`,
      'content-type': 'text/plain',
    });

    expect(response.status).toBe(415);
    expect((await response.json()).message).toMatch(/application\/x-protobuf/);
  });

  it.each([
    [
      'a truncated protobuf body',
      'protobuf',
      async () => (await otlpFixture('claude-code-logs.pb')).subarray(0, 700),
    ],
    ['JSON of the wrong types', 'json', async () => JSON.stringify({ resourceLogs: 'all of them' })],
    ['JSON that is not JSON', 'json', async () => '{"resourceLogs": ['],
    ['JSON nested 10,000 deep', 'json', async () => `${'['.repeat(10_000)}${']'.repeat(10_000)}`],
    ['protobuf nested 10,000 deep', 'protobuf', async () => nestedProtobuf(10_000)],
    ['gzip that is not gzip', 'gzip', async () => 'not gzip at all'],
  ])('answers 400 to %s', async (_, kind, body: () => Promise<string | Uint8Array>) => {
    const { key } = await gateway.createKey({ key_alias: `otel-400 ${_}` });
    const headers =
      kind === 'gzip'
        ? { ...jsonHeaders(key), 'content-encoding': 'gzip' }
        : kind === 'json'
          ? jsonHeaders(key)
          : protobufHeaders(key);

    const response = await postOtlp(gateway.url, 'logs', Buffer.from(await body()), headers);

    expect(response.status).toBe(400);
    expect(await gateway.keyInfo(key)).toMatchObject({ spend_micros: 0 });
  });

  it('answers 413 to a 10 MB body, and to a small gzip that inflates past the limit', async () => {
    const { key } = await gateway.createKey({ key_alias: 'otel-413' });
    const big = Buffer.alloc(10 * 1024 * 1024, 0x20);

    const plain = await postOtlp(gateway.url, 'metrics', big, jsonHeaders(key));
    const bomb = await postOtlp(gateway.url, 'metrics', gzipSync(big), {
      ...jsonHeaders(key),
      'content-encoding': 'gzip',
    });

    expect([plain.status, bomb.status]).toEqual([413, 413]);
  });

  it('reports points it cannot use as a partial success, and says nothing of those it does not collect', async () => {
    const { key } = await gateway.createKey({ key_alias: 'otel-partial' });
    const info = await gateway.keyInfo(key);
    const point = (time: string | undefined) => ({
      attributes: [{ key: 'session.id', value: { stringValue: 's-partial' } }],
      ...(time ? { timeUnixNano: time } : {}),
      asDouble: 2,
    });
    const body = {
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'claude-code' } }] },
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'claude_code.commit.count',
                  sum: {
                    aggregationTemporality: 1,
                    dataPoints: [point('1796544073058000000'), point(undefined)],
                  },
                },
                { name: 'process.runtime.heap', gauge: { dataPoints: [point('1796544073058000000')] } },
              ],
            },
          ],
        },
      ],
    };

    const response = await postOtlp(gateway.url, 'metrics', JSON.stringify(body), jsonHeaders(key));

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      partialSuccess: { rejectedDataPoints: '1', errorMessage: expect.stringMatching(/1 item/) },
    });
    expect((await telemetryOf(gateway.dataDir, info.key_id)).map((r) => r.name)).toEqual([
      'claude_code.commit.count',
    ]);
  });
});

describe('the receiver’s own rate limit', () => {
  it('refuses a key past its telemetry rate with 429 and retry-after, and leaves its model calls alone', async () => {
    const limited = await startTestGateway(mock.url, { TOLLGATE_TELEMETRY_RPM: '2' });
    try {
      const { key } = await limited.createKey({ key_alias: 'otel-rpm', rpm_limit: 1 });
      const body = await otlpFixture('claude-code-metrics.pb');
      const send = () =>
        fetch(`${limited.url}/v1/metrics`, { method: 'POST', headers: protobufHeaders(key), body });

      const statuses = [(await send()).status, (await send()).status];
      const third = await send();
      const call = await fetch(`${limited.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({
          model: 'claude-haiku-4-5',
          max_tokens: 8,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      });

      expect(statuses).toEqual([200, 200]);
      expect(third.status).toBe(429);
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(call.status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

/** An ExportLogsServiceRequest whose first log's body nests arrays `depth` deep (AnyValue.array_value). */
function nestedProtobuf(depth: number): Uint8Array {
  // AnyValue { array_value (5): ArrayValue { values (1): AnyValue ... } }, built inside out with each
  // length-delimited field's tag and length: what any encoder would write for this message.
  const field = (tag: number, inner: Buffer) =>
    Buffer.concat([Buffer.from([tag, ...varint(inner.length)]), inner]);
  let value = Buffer.alloc(0);
  for (let i = 0; i < depth; i++) value = field(0x2a, field(0x0a, value));
  return field(0x0a, field(0x12, field(0x12, field(0x2a, value))));
}
function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}
