/** The figures of `latency.ts`: summarised from raw timings, printed as text tables. */
import type { BundleReport } from './bundle.ts';
import type { SeriesTimings } from './client.ts';
import { mib, ms, type Percentiles, percentiles, printTable, type Timing } from './measure.ts';
import type { Series } from './requests.ts';

/** Percentiles straight to the mock, through the gateway, and the difference at each percentile. */
export interface Compared {
  direct: Percentiles;
  gateway: Percentiles;
  added: Percentiles;
}

export interface SeriesSummary extends Series {
  n: number;
  /** JSON: request sent to the last byte. SSE: to the last byte of the stream. */
  total: Compared;
  /** SSE only: request sent to the first byte of the body. */
  firstByte?: Compared;
}

export interface LoadRun {
  target: 'direct' | 'gateway';
  connections: number;
  seconds: number;
  completed: number;
  /** Completed plus those in flight when autocannon stopped (the gateway still records those). */
  sent: number;
  perSecond: number;
  /** autocannon's, in whole ms. */
  latencyMs: Percentiles;
  failures: number;
  /** CPU time per wall second of the run (1 = one core busy). */
  cpu: { gateway: number; mock: number };
}

export interface MemoryPoint {
  point: string;
  /** VmRSS and VmHWM of the gateway process, bytes. */
  rss: number;
  peak: number;
}

export interface RecordCheck {
  alive: boolean;
  sent: number;
  records: number;
  settleMs: number;
  byTag: Array<{ tag: string; sent: number; records: number }>;
  spendLogs: { limit: number; returned: number; expected: number; outcomes: Record<string, number> };
}

export interface Results {
  date: string;
  machine: { cpus: number; node: string; loadAverageAtStart: number };
  settings: {
    n: number;
    warmup: number;
    /** Untimed rounds of every series through both targets before any is measured. */
    prime: number;
    connections: number;
    seconds: number;
    chunkDelayMs: number;
    settleSeconds: number;
  };
  gatewayStartMs: number;
  sequential: SeriesSummary[];
  throughput: LoadRun[];
  memory: MemoryPoint[];
  records: RecordCheck;
}

function compare(direct: number[], gateway: number[]): Compared {
  const d = percentiles(direct);
  const g = percentiles(gateway);
  return {
    direct: d,
    gateway: g,
    added: { p50: g.p50 - d.p50, p90: g.p90 - d.p90, p99: g.p99 - d.p99 },
  };
}

export function summarise({
  direct,
  gateway,
  sentToGateway: _sent,
  ...series
}: SeriesTimings): SeriesSummary {
  const pick = (timings: Timing[], field: keyof Timing) => timings.map((t) => t[field]);
  return {
    ...series,
    n: direct.length,
    total: compare(pick(direct, 'totalMs'), pick(gateway, 'totalMs')),
    ...(series.stream && { firstByte: compare(pick(direct, 'firstByteMs'), pick(gateway, 'firstByteMs')) }),
  };
}

const size = (bytes: number) => `${Math.round(bytes / 1024)} KB`;

export function printResults(results: Results): void {
  const { settings, records } = results;
  const latency: string[][] = [
    ['api', 'body', 'measure', 'direct p50', 'p99', 'gateway p50', 'p99', 'added p50', 'added p99'],
  ];
  for (const s of results.sequential) {
    const rows: Array<[string, Compared]> = s.firstByte
      ? [
          ['SSE first byte', s.firstByte],
          ['SSE whole stream', s.total],
        ]
      : [['JSON', s.total]];
    for (const [measure, c] of rows) {
      latency.push([
        s.api,
        size(s.bodyBytes),
        measure,
        ms(c.direct.p50),
        ms(c.direct.p99),
        ms(c.gateway.p50),
        ms(c.gateway.p99),
        ms(c.added.p50),
        ms(c.added.p99),
      ]);
    }
  }
  printTable(
    `Latency added, one request at a time, ms: ${settings.n} requests per row and target after ${settings.prime} ` +
      `rounds of every series and ${settings.warmup} warm-up, direct and gateway alternating; added = gateway pXX - direct pXX; SSE events ${settings.chunkDelayMs} ms apart`,
    latency,
  );

  printTable(
    `Throughput, anthropic JSON ${size(2048)} body, autocannon (own process), ${settings.connections} connections; ` +
      'CPU in cores busy (2 cores shared by load generator, mock and gateway)',
    [
      ['target', 'seconds', 'completed', 'req/s', 'p50 ms', 'p99 ms', 'failures', 'gateway CPU', 'mock CPU'],
      ...results.throughput.map((r) => [
        r.target,
        r.seconds.toFixed(1),
        String(r.completed),
        r.perSecond.toFixed(0),
        String(r.latencyMs.p50),
        String(r.latencyMs.p99),
        String(r.failures),
        r.cpu.gateway.toFixed(2),
        r.cpu.mock.toFixed(2),
      ]),
    ],
  );

  printTable(
    `Gateway process memory (/proc/<pid>/status); start to listening ${results.gatewayStartMs.toFixed(0)} ms`,
    [['point', 'VmRSS', 'VmHWM (peak)'], ...results.memory.map((m) => [m.point, mib(m.rss), mib(m.peak)])],
  );

  const outcomes = Object.entries(records.spendLogs.outcomes)
    .map(([outcome, n]) => `${outcome} ${n}`)
    .join(', ');
  printTable(
    `After the load: gateway ${records.alive ? 'alive' : 'NOT ALIVE'}; records ${records.records} of ` +
      `${records.sent} requests sent (${records.records === records.sent ? 'OK' : 'MISMATCH'}) after ` +
      `${(records.settleMs / 1000).toFixed(1)} s; /spend/logs?limit=${records.spendLogs.limit} returned ` +
      `${records.spendLogs.returned} of ${records.spendLogs.expected} (outcomes: ${outcomes})`,
    [
      ['tag', 'sent', 'records', 'check'],
      ...records.byTag.map((t) => [
        t.tag,
        String(t.sent),
        String(t.records),
        t.records === t.sent ? 'OK' : 'MISMATCH',
      ]),
    ],
  );
}

/** One row per cold import: the median `import()` time, and the whole child process's. */
export function coldImportRows(bundles: BundleReport): string[][] {
  return bundles.cold.map((c) => [
    `cold import, ${c.name}, median of ${c.importMs.length}`,
    `${ms(medianOf(c.importMs))} ms (process ${ms(medianOf(c.processMs))} ms)`,
  ]);
}

export function printBundleSizes(bundles: BundleReport): void {
  printTable(
    'Lambda bundles (esbuild, minified ESM, @aws-sdk/* external; "lazy" files ship beside index.mjs, read on first import)',
    [['bundle', 'size', 'gzip -9'], ...bundles.sizes.map((b) => [b.name, kib(b.bytes), kib(b.gzipBytes)])],
  );
}

const medianOf = (values: number[]) => percentiles(values).p50;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
