/**
 * Where the gateway's added latency goes: the proxy pipeline called in-process (no HTTP hop into the
 * gateway), first with in-memory ports, then with the real local adapters one at a time. Each variant
 * sends the same JSON request to the mock upstream, sequentially.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoBudgetLedger } from '../../functions/adapters/aws/dynamo-budget-ledger.ts';
import { ensureTable } from '../../functions/adapters/aws/dynamo-table.ts';
import { startDynalite } from '../../functions/adapters/local/dynalite.ts';
import { createLakeSink } from '../../functions/adapters/local/lake-sink.ts';
import { gatewaySettings, proxyDeps } from '../../functions/compose/gateway.ts';
import { loadConfig } from '../../functions/config.ts';
import { generateSecretKey, hashKey } from '../../functions/core/governance/keys.ts';
import type { BudgetLedger } from '../../functions/core/ports/budgets.ts';
import { systemClock } from '../../functions/core/ports/clock.ts';
import type { UsageSink } from '../../functions/core/ports/lake.ts';
import { createProxy } from '../../functions/core/proxy/pipeline.ts';
import { keysOf, memoryLedger, memoryPorts } from '../support/stores.ts';
import { virtualKey } from '../support/virtual-key.ts';
import { percentiles } from './measure.ts';

export interface BreakdownRow {
  variant: string;
  /** Request in to response body fully read: what the client waits for. */
  response: number[];
  /** Request in to settled and recorded (`drain()`): the whole invocation on Lambda. */
  settled: number[];
}

const nullSink: UsageSink = { write: async () => {} };

export async function measureBreakdown(upstreamUrl: string, n: number, warmup: number) {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-bench-breakdown-'));
  const dynamo = await startDynalite(join(dir, 'dynamodb'));
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    await ensureTable(client, 'tollgate');
    const secret = generateSecretKey();
    const key = virtualKey({ hash: hashKey(secret), key_alias: 'bench', user_id: 'bench' });
    const dynamoLedger = createDynamoBudgetLedger(client, 'tollgate', systemClock);
    const lakeSink = createLakeSink({ dataDir: dir, clock: systemClock });
    const settings = await gatewaySettings(
      loadConfig({ TOLLGATE_ANTHROPIC_BASE_URL: upstreamUrl, ANTHROPIC_API_KEY: 'sk-ant-upstream-secret' }),
    );
    const body = JSON.stringify({
      model: 'claude-sonnet-4-5',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'hi' }],
    });

    const run = async (variant: string, ledger: BudgetLedger, usage: UsageSink): Promise<BreakdownRow> => {
      const proxy = createProxy(proxyDeps(settings, memoryPorts({ keys: keysOf(key), ledger, usage })));
      const row: BreakdownRow = { variant, response: [], settled: [] };
      for (let i = 0; i < warmup + n; i++) {
        const started = performance.now();
        const request = new Request('http://gateway.local/v1/messages', {
          method: 'POST',
          headers: { 'x-api-key': secret, 'content-type': 'application/json' },
          body,
        });
        const response = await proxy.handle(request);
        await response.text();
        const answered = performance.now();
        await proxy.drain();
        if (i < warmup) continue;
        row.response.push(answered - started);
        row.settled.push(performance.now() - started);
      }
      return row;
    };

    const direct: BreakdownRow = { variant: 'direct to the mock (reference)', response: [], settled: [] };
    for (let i = 0; i < warmup + n; i++) {
      const started = performance.now();
      const response = await fetch(`${upstreamUrl}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': secret, 'content-type': 'application/json' },
        body,
      });
      await response.text();
      if (i < warmup) continue;
      direct.response.push(performance.now() - started);
      direct.settled.push(performance.now() - started);
    }

    return [
      direct,
      await run('pipeline, in-memory ledger, no usage sink', memoryLedger, nullSink),
      await run('pipeline + lake sink (usage files)', memoryLedger, lakeSink),
      await run('pipeline + dynalite budget ledger', dynamoLedger, nullSink),
      await run('pipeline + dynalite ledger + lake sink', dynamoLedger, lakeSink),
    ];
  } finally {
    client.destroy();
    await dynamo.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export function breakdownTable(rows: BreakdownRow[], ms: (v: number) => string): string[][] {
  return [
    ['variant (sequential, in-process)', 'response p50', 'p90', 'settled p50', 'p90'],
    ...rows.map((row) => {
      const response = percentiles(row.response);
      const settled = percentiles(row.settled);
      return [row.variant, ms(response.p50), ms(response.p90), ms(settled.p50), ms(settled.p90)];
    }),
  ];
}
