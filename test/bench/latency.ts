/**
 * What the gateway adds, measured as `npm start` runs it. Three processes besides this one: the mock
 * upstream (`mock-server.ts`), the gateway (`npm start`: the bundle `scripts/start.mjs` builds, on plain node, on a fresh data
 * dir, default key cache) and the load generator (`client.ts` one request at a time, then autocannon at
 * 50 connections). The key has strict key, person and team budgets, created through the admin API.
 * Prints figures and writes them to test-results/bench/latency.json; asserts nothing about time
 * (STYLE.md: benchmarks are never timing assertions).
 *
 *   npx tsx test/bench/latency.ts [--n 300] [--warmup 30] [--prime 250] [--connections 50] [--seconds 5]
 *                                 [--chunk-delay 1] [--settle-seconds 20]
 *                                 [--breakdown] [--bundles] [--cold-runs 5]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.ts';
import { setUpKey } from './bench-key.ts';
import type { SeriesTimings } from './client.ts';
import { cpuSecondsOf, memoryOf, runAutocannon, runScript } from './processes.ts';
import { type LoadRun, printResults, type RecordCheck, type Results, summarise } from './report.ts';
import { bodyOf, headersOf, pathOf, SMALL_BODY } from './requests.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const { values: flags } = parseArgs({
  options: {
    n: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '30' },
    prime: { type: 'string', default: '250' },
    connections: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '5' },
    'chunk-delay': { type: 'string', default: '1' },
    'settle-seconds': { type: 'string', default: '20' },
    breakdown: { type: 'boolean', default: false },
    bundles: { type: 'boolean', default: false },
    'cold-runs': { type: 'string', default: '5' },
  },
});
const numberFlag = (
  name: 'n' | 'warmup' | 'prime' | 'connections' | 'seconds' | 'chunk-delay' | 'settle-seconds' | 'cold-runs',
) => {
  const value = Number(flags[name]);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number`);
  return value;
};
const settings = {
  n: numberFlag('n'),
  warmup: numberFlag('warmup'),
  prime: numberFlag('prime'),
  connections: numberFlag('connections'),
  seconds: numberFlag('seconds'),
  chunkDelayMs: numberFlag('chunk-delay'),
  settleSeconds: numberFlag('settle-seconds'),
};
const LOAD_TAG = 'load-anthropic-json-2k';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Throughput at `connections`, straight to the mock and through the gateway, with both processes' CPU. */
async function measureLoad(
  bases: Record<LoadRun['target'], string>,
  key: string,
  pids: Record<string, number>,
) {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-bench-load-'));
  const bodyFile = join(dir, 'body.json');
  await writeFile(bodyFile, bodyOf({ api: 'anthropic', stream: false, bodyBytes: SMALL_BODY }));
  const runs: LoadRun[] = [];
  let sentToGateway = 0;
  try {
    for (const target of ['direct', 'gateway'] as const) {
      const options = {
        url: `${bases[target]}${pathOf('anthropic')}`,
        connections: settings.connections,
        headers: headersOf('anthropic', key, LOAD_TAG),
        bodyFile,
      };
      const warm = await runAutocannon({ ...options, seconds: 1 });
      const cpuBefore = { gateway: cpuSecondsOf(pids.gateway ?? 0), mock: cpuSecondsOf(pids.mock ?? 0) };
      const result = await runAutocannon({ ...options, seconds: settings.seconds });
      const cpu = (name: 'gateway' | 'mock') =>
        (cpuSecondsOf(pids[name] ?? 0) - cpuBefore[name]) / result.duration;
      if (target === 'gateway') sentToGateway += warm.requests.sent + result.requests.sent;
      runs.push({
        target,
        connections: settings.connections,
        seconds: result.duration,
        completed: result.requests.total,
        sent: result.requests.sent,
        perSecond: result.requests.total / result.duration,
        latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99 },
        failures: result.errors + result.timeouts + result.non2xx,
        cpu: { gateway: cpu('gateway'), mock: cpu('mock') },
      });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { runs, sentToGateway };
}

const today = () => new Date().toISOString().slice(0, 10);

/**
 * Waits until the lake holds a record of every request sent, or `settleSeconds` pass, then counts.
 * `/spend/logs` returns at most 1,000 records, fewer than a load run sends, so the count per tag comes
 * from `/api/spend?dimension=tag` (count(*) over the same records, deduplicated on request_id), and
 * `/spend/logs?limit=1000` is checked to return its full page.
 */
async function checkRecords(
  gateway: GatewayProcess,
  sentByTag: Map<string, number>,
  firstDay: string,
): Promise<RecordCheck> {
  const sent = [...sentByTag.values()].reduce((a, b) => a + b, 0);
  const started = performance.now();
  const count = async () => {
    const { rows } = (await gateway.admin(
      `/api/spend?dimension=tag&team=bench-team&from=${firstDay}&to=${today()}`,
    )) as unknown as { rows: Array<{ value: string; requests: number }> };
    const byTag = new Map<string, number>();
    for (const row of rows) byTag.set(row.value, (byTag.get(row.value) ?? 0) + row.requests);
    return byTag;
  };
  let recorded = await count();
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  while (total(recorded) < sent && performance.now() - started < settings.settleSeconds * 1000) {
    await sleep(500);
    recorded = await count();
  }
  const settleMs = performance.now() - started;
  const logs = (await gateway.admin('/spend/logs?limit=1000')) as unknown as Array<{ outcome: string }>;
  const outcomes: Record<string, number> = {};
  for (const log of logs) outcomes[log.outcome] = (outcomes[log.outcome] ?? 0) + 1;
  return {
    alive: gateway.alive(),
    sent,
    records: total(recorded),
    settleMs,
    byTag: [...sentByTag].map(([tag, n]) => ({ tag, sent: n, records: recorded.get(tag) ?? 0 })),
    spendLogs: { limit: 1000, returned: logs.length, expected: Math.min(1000, sent), outcomes },
  };
}

async function main(): Promise<void> {
  const benchStarted = performance.now();
  const loadAtStart = loadavg()[0] ?? 0;
  const firstDay = today();

  const mock = runScript('mock-server.ts', ['--chunk-delay', String(settings.chunkDelayMs)]);
  const mockUrl = (await mock.waitFor(/listening at (http:\/\/\S+)/))[1] ?? '';
  const startStarted = performance.now();
  // As `npm start` runs it: the gateway's own defaults for the key cache, logs and lake compaction.
  const gateway = await startGatewayProcess(mockUrl, {
    TOLLGATE_KEY_CACHE_MS: undefined,
    TOLLGATE_LOG_LEVEL: undefined,
    TOLLGATE_LAKE_COMPACT: undefined,
  });
  const startMs = performance.now() - startStarted;
  const gatewayPid = gateway.child.pid ?? 0;
  const mockPid = mock.child.pid ?? 0;
  try {
    await sleep(2_000);
    const idle = memoryOf(gatewayPid);
    const key = await setUpKey(gateway);

    console.error(
      `one request at a time: ${settings.prime} rounds of every series to prime, then ${settings.warmup} warm-up + ${settings.n} per series and target`,
    );
    const client = runScript('client.ts', [
      ...['--direct', mockUrl, '--gateway', gateway.url, '--key', key],
      ...['--n', String(settings.n), '--warmup', String(settings.warmup), '--prime', String(settings.prime)],
    ]);
    const sequential = JSON.parse(await client.finished()) as SeriesTimings[];
    const afterSequential = memoryOf(gatewayPid);

    console.error(`throughput: ${settings.connections} connections, ${settings.seconds} s per target`);
    const load = await measureLoad({ direct: mockUrl, gateway: gateway.url }, key, {
      gateway: gatewayPid,
      mock: mockPid,
    });
    const afterLoad = memoryOf(gatewayPid);
    // What V8 hands back by itself once the load is over (it keeps most of a grown heap committed).
    await sleep(8_000);
    const afterIdle = memoryOf(gatewayPid);

    const sentByTag = new Map(sequential.map((s) => [s.id, s.sentToGateway]));
    sentByTag.set(LOAD_TAG, load.sentToGateway);
    const records = await checkRecords(gateway, sentByTag, firstDay);
    const afterSettle = memoryOf(gatewayPid);

    const results: Results = {
      date: new Date().toISOString(),
      machine: {
        cpus: availableParallelism(),
        node: process.version,
        loadAverageAtStart: loadAtStart,
      },
      settings,
      gatewayStartMs: startMs,
      sequential: sequential.map(summarise),
      throughput: load.runs,
      memory: [
        { point: 'idle, 2 s after start', ...idle },
        { point: 'after the one-at-a-time series', ...afterSequential },
        { point: 'right after the load', ...afterLoad },
        { point: '8 s after the load, idle', ...afterIdle },
        { point: 'after the records settled', ...afterSettle },
      ],
      records,
    };
    printResults(results);
    await mkdir(join(ROOT, 'test-results/bench'), { recursive: true });
    const file = join(ROOT, 'test-results/bench/latency.json');
    await writeFile(
      file,
      `${JSON.stringify({ ...results, loadAverageAtEnd: loadavg()[0] ?? 0 }, null, 2)}\n`,
    );

    if (flags.breakdown || flags.bundles) await optionalBenches(mockUrl);
    console.log(
      `\nfigures written to ${file}\nbench wall time ${((performance.now() - benchStarted) / 1000).toFixed(1)} s; ` +
        `node ${process.version}, ${availableParallelism()} CPUs shared by the mock, the gateway and the load ` +
        `generator; 1-min load average ${loadAtStart.toFixed(2)} at start and ${(loadavg()[0] ?? 0).toFixed(2)} at the end`,
    );
  } finally {
    await gateway.close();
    mock.child.kill('SIGTERM');
    await mock.finished().catch(() => undefined);
  }
}

/**
 * The in-process pipeline breakdown and the Lambda bundles, on request: imported only then, so the
 * process bench does not depend on modules other work is changing.
 */
async function optionalBenches(mockUrl: string): Promise<void> {
  const { printTable, ms, kib, median } = await import('./measure.ts');
  if (flags.breakdown) {
    const { measureBreakdown, breakdownTable } = await import('./breakdown.ts');
    const rows = await measureBreakdown(mockUrl, settings.n, settings.warmup);
    printTable(
      'Where the added latency goes: the pipeline called in this process (no HTTP hop into the gateway), ms',
      breakdownTable(rows, ms),
    );
  }
  if (flags.bundles) {
    const { measureBundles } = await import('./bundle.ts');
    const bundles = await measureBundles(ROOT, numberFlag('cold-runs'));
    printTable('Lambda bundles (esbuild, minified ESM, @aws-sdk/* external)', [
      ['bundle', 'size', 'gzip -9'],
      ...bundles.sizes.map((b) => [b.name, kib(b.bytes), kib(b.gzipBytes)]),
    ]);
    printTable('Cold import in a fresh node process, ms', [
      ['module', 'import median', 'process median', 'runs'],
      ...bundles.cold.map((c) => [
        c.name,
        ms(median(c.importMs)),
        ms(median(c.processMs)),
        String(c.importMs.length),
      ]),
    ]);
  }
}

await main();
