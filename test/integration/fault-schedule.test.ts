/**
 * A generated schedule of a few hundred requests across the proxy's routes, with client aborts at any
 * moment (before and after the first byte), upstream stalls, cuts and 5xx, and one SIGKILL of the
 * gateway at a generated moment followed by a restart on the same data dir. Seeded: a failure prints
 * its seed, and `FAULT_SEED=<seed>` replays it.
 *
 * Invariants, checked on the restarted gateway once everything has settled:
 * - every request to the surviving gateway, and every request the provider saw, has exactly one record
 *   (matched by the tag each request carries); no request has two;
 * - every key's, person's and team's spend equals the sum of their records' cost (a fifth key is one a
 *   person issued herself; some requests ask for `n: 2` or allow web searches);
 * - nothing is held: no key has money reserved, and a key limited to 3 parallel requests serves 3.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../functions/core/usage/record.ts';
import { seeded } from '../../functions/local/demo-history.ts';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.ts';
import { type MockReply, type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';

const SEED = Number(process.env.FAULT_SEED ?? 20_261_206);
const REQUESTS = 240;
const CONCURRENCY = 12;

const random = seeded;

type Route = 'messages' | 'messages-json' | 'chat' | 'chat-json' | 'responses' | 'count-tokens';
type Client =
  | { kind: 'reads' }
  | { kind: 'leaves-early'; afterMs: number }
  | { kind: 'leaves-mid'; chunks: number };

interface Planned {
  i: number;
  route: Route;
  key: number;
  fault: MockReply;
  client: Client;
  /** `n: 2` on a chat request; the web search tool (up to 2 searches) on a Messages request. */
  multiplier: boolean;
}

function plan(rand: () => number): Planned[] {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  const routes: Route[] = ['messages', 'messages-json', 'chat', 'chat-json', 'responses', 'count-tokens'];
  return Array.from({ length: REQUESTS }, (_, i) => {
    const f = rand();
    const fault: MockReply =
      f < 0.6
        ? {}
        : f < 0.7
          ? { failWith: { status: pick([500, 503, 529]) } }
          : f < 0.8
            ? { cutStreamAfterEvents: 1 + Math.floor(rand() * 6) }
            : f < 0.9
              ? { delayMs: 1_500 }
              : { chunkDelayMs: 40 };
    const c = rand();
    const client: Client =
      c < 0.65
        ? { kind: 'reads' }
        : c < 0.8
          ? { kind: 'leaves-early', afterMs: Math.floor(rand() * 300) }
          : { kind: 'leaves-mid', chunks: 1 + Math.floor(rand() * 3) };
    return { i, route: pick(routes), key: Math.floor(rand() * 5), fault, client, multiplier: rand() < 0.3 };
  });
}

const MODEL_OF: Record<Route, string> = {
  messages: 'claude-haiku-4-5',
  'messages-json': 'claude-haiku-4-5',
  chat: 'gpt-4.1-mini',
  'chat-json': 'gpt-4.1-mini',
  responses: 'gpt-4.1-mini',
  'count-tokens': 'claude-haiku-4-5',
};

function requestOf(p: Planned, key: string): { path: string; init: RequestInit } {
  const marker = `fault-schedule ${p.i}`;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-tollgate-tags': `fs-${p.i}`,
  };
  const anthropic = p.route === 'messages' || p.route === 'messages-json' || p.route === 'count-tokens';
  if (anthropic) headers['x-api-key'] = key;
  else headers.authorization = `Bearer ${key}`;
  const model = MODEL_OF[p.route];
  const messages = [{ role: 'user', content: marker }];
  const body =
    p.route === 'responses'
      ? { model, input: marker, stream: true, max_output_tokens: 300 }
      : p.route === 'count-tokens'
        ? { model, messages }
        : {
            model,
            messages,
            max_tokens: 300,
            stream: p.route === 'messages' || p.route === 'chat',
            ...multiplied(p),
          };
  const path =
    p.route === 'responses'
      ? '/v1/responses'
      : p.route === 'count-tokens'
        ? '/v1/messages/count_tokens'
        : anthropic
          ? '/v1/messages'
          : '/v1/chat/completions';
  return { path, init: { method: 'POST', headers, body: JSON.stringify(body) } };
}

function multiplied(p: Planned): Record<string, unknown> {
  if (!p.multiplier) return {};
  if (p.route === 'chat' || p.route === 'chat-json') return { n: 2 };
  return { tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 2 }] };
}

/** Sends one planned request and behaves as its client does; never throws. */
async function send(gateway: GatewayProcess, p: Planned, key: string): Promise<void> {
  const { path, init } = requestOf(p, key);
  const controller = new AbortController();
  const timer =
    p.client.kind === 'leaves-early' ? setTimeout(() => controller.abort(), p.client.afterMs) : undefined;
  try {
    const response = await fetch(`${gateway.url}${path}`, { ...init, signal: controller.signal });
    const reader = response.body?.getReader();
    if (!reader) return;
    let chunks = 0;
    for (;;) {
      const { done } = await reader.read();
      if (done) return;
      chunks++;
      if (p.client.kind === 'leaves-mid' && chunks >= p.client.chunks) {
        controller.abort();
        return;
      }
    }
  } catch {
    // The client left, or the gateway was killed under it.
  } finally {
    clearTimeout(timer);
  }
}

let upstream: MockUpstream;
const gateways: GatewayProcess[] = [];

beforeAll(async () => {
  upstream = await startMockUpstream({
    script: {
      text: 'one two three four five six seven eight',
      usage: { input_tokens: 20, output_tokens: 30 },
    },
  });
});

afterAll(async () => {
  for (const g of gateways) await g.kill();
  await upstream?.close();
  if (gateways[0] && !process.env.FAULT_KEEP) await rm(gateways[0].dataDir, { recursive: true, force: true });
});

describe(`a fault schedule (seed ${SEED})`, () => {
  it('leaves one record per request, counters equal to their records, and nothing held', async () => {
    // Prepare: two people in one team; keys with budgets, one tight enough to refuse, one with a
    // parallel limit.
    const schedule = plan(random(SEED));
    const byMarker = new Map(schedule.map((p) => [`fault-schedule ${p.i}`, p]));
    upstream.script.responder = (request) => {
      const text = JSON.stringify(request.body).match(/fault-schedule \d+/)?.[0];
      return (text && byMarker.get(text)?.fault) || undefined;
    };
    let gateway = await startGatewayProcess(upstream.url);
    gateways.push(gateway);
    await gateway.admin('/team/new', {
      method: 'POST',
      body: JSON.stringify({ team_id: 'fs-team', max_budget: 50 }),
    });
    for (const user_id of ['ada', 'bob'])
      await gateway.admin('/user/new', {
        method: 'POST',
        body: JSON.stringify({ user_id, max_budget: 20, auto_create_key: false }),
      });
    const keys = [
      await gateway.createKey({ key_alias: 'fs-0', user_id: 'ada', team_id: 'fs-team', max_budget: 5 }),
      await gateway.createKey({ key_alias: 'fs-1', user_id: 'ada', team_id: 'fs-team', max_budget: 0.05 }),
      await gateway.createKey({
        key_alias: 'fs-2',
        user_id: 'bob',
        team_id: 'fs-team',
        max_parallel_requests: 3,
      }),
      await gateway.createKey({ key_alias: 'fs-3', user_id: 'bob', max_budget: 5 }),
    ];
    // Ada issues herself a key: it spends from her budget, whatever it says of its own.
    const own = await fetch(`${gateway.url}/key/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys[0]}` },
      body: JSON.stringify({ key_alias: 'fs-4' }),
    });
    keys.push(String(((await own.json()) as { key: string }).key));
    const killAt = Math.floor(REQUESTS * (0.4 + 0.2 * random(SEED + 1)()));
    const toFirst = new Set<number>();

    // Act: run the schedule CONCURRENCY at a time; at `killAt`, SIGKILL with requests in flight, restart.
    let next = 0;
    let killing: Promise<void> | undefined;
    const worker = async () => {
      for (;;) {
        if (killing) await killing;
        const p = schedule[next++];
        if (!p) return;
        if (p.i === killAt) {
          killing = (async () => {
            await new Promise((r) => setTimeout(r, 150));
            await gateway.kill('SIGKILL');
            gateway = await startGatewayProcess(upstream.url, {}, { dataDir: gateway.dataDir });
            gateways.push(gateway);
          })();
          await killing;
          killing = undefined;
        }
        if (gateways.length === 1) toFirst.add(p.i);
        await send(gateway, p, keys[p.key] as string);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    // Assess
    const seenUpstream = new Set(
      upstream.requests
        .map((r) => JSON.stringify(r.body).match(/fault-schedule (\d+)/)?.[1])
        .filter((i) => i !== undefined)
        .map(Number),
    );
    const mustHave = schedule.filter((p) => !toFirst.has(p.i) || seenUpstream.has(p.i)).map((p) => p.i);
    let records: UsageRecord[] = [];
    const deadline = Date.now() + 30_000;
    for (;;) {
      records = (await gateway.admin('/spend/logs?limit=1000')) as unknown as UsageRecord[];
      const tagged = new Set(records.flatMap((r) => r.tags));
      if (mustHave.every((i) => tagged.has(`fs-${i}`)) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await new Promise((r) => setTimeout(r, 500));
    records = (await gateway.admin('/spend/logs?limit=1000')) as unknown as UsageRecord[];

    const perRequest = new Map<number, UsageRecord[]>();
    for (const r of records) {
      const i = Number(r.tags.find((t) => t.startsWith('fs-'))?.slice(3));
      perRequest.set(i, [...(perRequest.get(i) ?? []), r]);
    }
    const missing = mustHave.filter((i) => (perRequest.get(i)?.length ?? 0) !== 1);
    const doubled = [...perRequest].filter(([, rs]) => rs.length > 1).map(([i]) => i);
    const summary = {
      seed: SEED,
      killAt,
      requests: REQUESTS,
      records: records.length,
      lost: records.filter((r) => r.outcome === 'lost').length,
      outcomes: Object.fromEntries(
        [...new Set(records.map((r) => r.outcome))].map((o) => [
          o,
          records.filter((r) => r.outcome === o).length,
        ]),
      ),
    };
    console.info(`fault schedule: ${JSON.stringify(summary)}`);
    for (const i of missing)
      console.info(
        `request ${i} (${toFirst.has(i) ? 'to the killed gateway' : 'after the restart'}): ` +
          `${JSON.stringify(schedule[i])}; records: ${JSON.stringify(perRequest.get(i) ?? [])}`,
      );
    expect({ missing, doubled }).toEqual({ missing: [], doubled: [] });
    expect(summary.lost).toBeGreaterThan(0);

    const sum = (filter: (r: UsageRecord) => boolean) =>
      records.filter(filter).reduce((total, r) => total + r.cost_micros, 0);
    for (const [n, key] of keys.entries()) {
      const { info } = (await gateway.admin(`/key/info?key=${encodeURIComponent(key)}`)) as {
        info: { spend_micros: number; reserved_micros: number };
      };
      expect({ key: n, spend: info.spend_micros, reserved: info.reserved_micros }).toEqual({
        key: n,
        spend: sum((r) => r.key_alias === `fs-${n}`),
        reserved: 0,
      });
    }
    for (const user_id of ['ada', 'bob']) {
      const { user_info } = (await gateway.admin(`/user/info?user_id=${user_id}`)) as {
        user_info: { spend_micros: number };
      };
      expect({ user_id, spend: user_info.spend_micros }).toEqual({
        user_id,
        spend: sum((r) => r.user_id === user_id),
      });
    }
    const { team_info } = (await gateway.admin('/team/info?team_id=fs-team')) as {
      team_info: { spend_micros: number };
    };
    expect(team_info.spend_micros).toBe(sum((r) => r.team_id === 'fs-team'));

    upstream.script.responder = undefined;
    const parallel = await Promise.all(
      [0, 1, 2].map(() =>
        fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${keys[2]}` },
          body: JSON.stringify({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'hi' }] }),
        }).then(async (r) => {
          await r.text();
          return r.status;
        }),
      ),
    );
    expect(parallel).toEqual([200, 200, 200]);
  }, 180_000);
});
