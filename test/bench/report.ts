/** Prints the figures of `latency.ts` as text tables. */
import { type BreakdownRow, breakdownTable } from './breakdown.ts';
import type { BundleReport } from './bundle.ts';
import { kib, median, mib, ms, percentiles, printTable, type Timing } from './measure.ts';

export interface MemoryPoint {
  label: string;
  usage: NodeJS.MemoryUsage;
}

export interface LatencyRow {
  scenario: string;
  concurrency: number;
  direct: Timing[];
  gateway: Timing[];
  streaming: boolean;
}

export interface Results {
  settings: { n: number; warmup: number; seconds: number; chunkDelayMs: number };
  rows: LatencyRow[];
  upstreamRequests: number;
  breakdown: BreakdownRow[];
  throughput: string[][];
  drainMs: number;
  memory: MemoryPoint[];
  initMs: number;
  bundles: BundleReport;
}

export function printResults({
  settings,
  rows,
  upstreamRequests,
  breakdown,
  throughput,
  drainMs,
  memory,
  initMs,
  bundles,
}: Results): void {
  printLatency(rows, upstreamRequests, settings);
  printTable(
    'Where the added latency goes: the pipeline called in-process (no HTTP hop into the gateway), ms',
    breakdownTable(breakdown, ms),
  );
  printTable(
    `Throughput, anthropic JSON, ${settings.seconds} s per row. Process CPU counts libuv threads too (LevelDB, fs), ` +
      `so it passes 100 %; the event loop is one thread. Largest record backlog drain after a gateway row: ${ms(drainMs)} ms`,
    throughput,
  );
  printTable('Memory of this process (mock upstream + gateway + dynalite + DuckDB in one process)', [
    ['point', 'rss', 'heap used', 'heap total', 'external'],
    ...memory.map(({ label, usage }) => [
      label,
      mib(usage.rss),
      mib(usage.heapUsed),
      mib(usage.heapTotal),
      mib(usage.external),
    ]),
  ]);
  printTable('Start-up', [
    ['what', 'value'],
    [
      'gateway init: startTestGateway() to listening (dynalite, table, DuckDB, dashboard build)',
      `${ms(initMs)} ms`,
    ],
    ...coldImportRows(bundles),
  ]);
  printBundleSizes(bundles);
}

/** One row per cold import: the median `import()` time, and the whole child process's. */
export function coldImportRows(bundles: BundleReport): string[][] {
  return bundles.cold.map((c) => [
    `cold import, ${c.name}, median of ${c.importMs.length}`,
    `${ms(median(c.importMs))} ms (process ${ms(median(c.processMs))} ms)`,
  ]);
}

export function printBundleSizes(bundles: BundleReport): void {
  printTable(
    'Lambda bundles (esbuild, minified ESM, @aws-sdk/* external; "lazy" files ship beside index.mjs, read on first import)',
    [['bundle', 'size', 'gzip -9'], ...bundles.sizes.map((b) => [b.name, kib(b.bytes), kib(b.gzipBytes)])],
  );
}

function printLatency(rows: LatencyRow[], upstreamRequests: number, settings: Results['settings']): void {
  const table: string[][] = [
    [
      'scenario',
      'conc',
      'metric',
      'direct p50',
      'p90',
      'p99',
      'gateway p50',
      'p90',
      'p99',
      'added p50',
      'p90',
      'p99',
    ],
  ];
  for (const row of rows) {
    const metrics: Array<[string, (t: Timing) => number]> = row.streaming
      ? [
          ['first byte', (t) => t.firstByteMs],
          ['total', (t) => t.totalMs],
        ]
      : [['total', (t) => t.totalMs]];
    for (const [metric, pick] of metrics) {
      const d = percentiles(row.direct.map(pick));
      const g = percentiles(row.gateway.map(pick));
      table.push([
        row.scenario,
        String(row.concurrency),
        metric,
        ms(d.p50),
        ms(d.p90),
        ms(d.p99),
        ms(g.p50),
        ms(g.p90),
        ms(g.p99),
        ms(g.p50 - d.p50),
        ms(g.p90 - d.p90),
        ms(g.p99 - d.p99),
      ]);
    }
  }
  printTable(
    `Latency in ms: ${settings.n} requests per series after ${settings.warmup} warm-up; SSE chunk delay ${settings.chunkDelayMs} ms; ` +
      `"added" is gateway minus direct at the same percentile (${upstreamRequests} upstream requests in all)`,
    table,
  );
}
