import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../functions/core/usage/record.ts';
import { DYNAMO_ENGINES } from '../support/dynamo-engines.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';
import { collectingNotifier } from '../support/stores.ts';

/**
 * 100 concurrent streamed requests against a key with little budget left, on both real local
 * DynamoDB engines. Every request asks for 4,096 output tokens and the mock upstream uses all of them
 * (the worst case), slowly enough that the requests overlap.
 *
 * claude-haiku-4-5: input $1/M, output $5/M, the dearest prompt rate (1h cache write) $2/M. The gateway
 * reserves the body's bytes / 2 as prompt tokens at that rate, plus the output.
 */
const CONCURRENT = 100;
const MAX_TOKENS = 4_096;
const FAIR_OUTPUT_TOKENS = 512;
const FAIR_OVERSHOOT_PCT = 25;
const LIMIT_USD = 0.2;
const LIMIT_MICROS = 200_000;

const body = JSON.stringify({
  model: 'claude-haiku-4-5',
  max_tokens: MAX_TOKENS,
  stream: true,
  messages: [{ role: 'user', content: 'Refactor the parser.' }],
});

describe.each(DYNAMO_ENGINES)('100 concurrent streams on $name', (engine) => {
  let mock: MockUpstream;
  let gateway: TestGateway;
  const notifier = collectingNotifier();
  let closeEngine: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (engine.skip) return;
    mock = await startMockUpstream({
      script: {
        chunkDelayMs: 15,
        usage: { input_tokens: 0, output_tokens: 0 },
        // The answer uses every output token the forwarded request allows: after a cap, the capped number.
        responder: (req) => ({
          usage: { input_tokens: 40, output_tokens: Number((req.body as { max_tokens: number }).max_tokens) },
        }),
      },
    });
    const env: Record<string, string> = {
      TOLLGATE_FAIR_OUTPUT_TOKENS: String(FAIR_OUTPUT_TOKENS),
      TOLLGATE_FAIR_OVERSHOOT_PCT: String(FAIR_OVERSHOOT_PCT),
    };
    if (engine.name !== 'dynalite') {
      const server = await engine.start();
      closeEngine = server.close;
      env.TOLLGATE_DYNAMODB_ENDPOINT = server.endpoint;
      env.TOLLGATE_TABLE = 'tollgate-concurrency';
    }
    gateway = await startTestGateway(mock.url, env, { notifier });
  }, 60_000);
  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
    await closeEngine?.();
  });

  /** Fires all requests at once, reads every stream to its end, and waits until all have settled. */
  async function storm(key: string) {
    const statuses = await Promise.all(
      Array.from({ length: CONCURRENT }, async () => {
        const response = await fetch(`${gateway.url}/v1/messages`, {
          method: 'POST',
          headers: {
            'x-api-key': key,
            'anthropic-version': '2023-06-01',
            'content-type': 'application/json',
          },
          body,
        });
        await response.text();
        return response.status;
      }),
    );
    await gateway.proxy.drain();
    const info = (await gateway.keyInfo(key)) as Awaited<ReturnType<TestGateway['keyInfo']>> & {
      key_id: string;
    };
    const records = (await gateway.records()).filter((r: UsageRecord) => r.key_id === info.key_id);
    return { statuses, info, records };
  }

  let strictServed = 0;

  it.skipIf(engine.skip !== undefined)(
    'strict: settled spend never passes the limit, and the counter equals the sum of the records',
    async () => {
      // Prepare
      const { key } = await gateway.createKey({ key_alias: `strict-${engine.name}`, max_budget: LIMIT_USD });

      // Act
      const { statuses, info, records } = await storm(key);

      // Assess
      strictServed = statuses.filter((s) => s === 200).length;
      expect(strictServed).toBeGreaterThan(0);
      expect(statuses.filter((s) => s !== 200).every((s) => s === 402)).toBe(true);
      expect(info.spend_micros).toBeLessThanOrEqual(LIMIT_MICROS);
      expect(records).toHaveLength(CONCURRENT);
      expect(new Set(records.map((r) => r.request_id)).size).toBe(CONCURRENT);
      expect(info.spend_micros).toBe(records.reduce((sum, r) => sum + r.cost_micros, 0));
      expect(info.reserved_micros).toBe(0);
      console.info(
        `[${engine.name}] strict: ${strictServed} served, spend ${info.spend_micros} of ${LIMIT_MICROS} µ$`,
      );
    },
    60_000,
  );

  it.skipIf(engine.skip !== undefined)(
    'fair: serves more requests than strict, and never spends past the limit plus the stated overshoot',
    async () => {
      // Prepare
      const { key } = await gateway.createKey({
        key_alias: `fair-${engine.name}`,
        max_budget: LIMIT_USD,
        budget_mode: 'fair',
      });

      // Act
      const { statuses, info, records } = await storm(key);

      // Assess
      const served = statuses.filter((s) => s === 200).length;
      const ceiling = LIMIT_MICROS + (LIMIT_MICROS * FAIR_OVERSHOOT_PCT) / 100;
      expect(statuses.filter((s) => s !== 200).every((s) => s === 402)).toBe(true);
      expect(info.spend_micros).toBeLessThanOrEqual(ceiling);
      expect(served).toBeGreaterThan(strictServed);
      expect(records).toHaveLength(CONCURRENT);
      expect(info.spend_micros).toBe(records.reduce((sum, r) => sum + r.cost_micros, 0));
      expect(info.reserved_micros).toBe(0);
      console.info(
        `[${engine.name}] fair: ${served} served, spend ${info.spend_micros} of ${LIMIT_MICROS} µ$ (ceiling ${ceiling})`,
      );
    },
    60_000,
  );

  it.skipIf(engine.skip !== undefined)(
    'sends one alert per threshold when 100 concurrent settlements cross 50 % and 80 % together',
    async () => {
      // Prepare: 100 × 20,520 µ$ = 2,052,000 µ$ of a 2,400,000 µ$ budget: past 50 % and 80 %, all admitted.
      const alias = `alerts-${engine.name}`;
      const { key } = await gateway.createKey({ key_alias: alias, max_budget: 2.4 });

      // Act
      const { statuses, info } = await storm(key);

      // Assess
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(info.spend_micros).toBe(100 * 20_520);
      const mine = notifier.alerts.filter((a) => a.details?.label === alias);
      expect(mine.map((a) => a.details?.level).sort()).toEqual([50, 80]);
    },
    60_000,
  );
});
