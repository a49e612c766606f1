/**
 * The same metrics for `npm start`, as a Prometheus text page (`GET /metrics`): counters since the
 * process started, timings as histograms, gauges as last set. Names are prefixed `tollgate_`; counters
 * end in `_total`. https://prometheus.io/docs/instrumenting/exposition_formats/
 */

import { METRICS, type MetricDefinition, type MetricName, type Metrics } from '../../core/ports/metrics.ts';

/** Histogram bounds in ms: a local gateway's overhead is a few ms, a first byte up to many seconds. */
const BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000];

interface Series {
  labels: string;
  value: number;
  /** Histograms: counts per bucket (cumulative when rendered), sum and count. */
  buckets?: number[];
  sum?: number;
  count?: number;
}

export function createPrometheusMetrics(): Metrics & { render(): string } {
  const byName = new Map<MetricName, Map<string, Series>>();
  return {
    add(name, value, dimension) {
      const definition: MetricDefinition = METRICS[name];
      if (!Number.isFinite(value)) return;
      const entry = dimension && definition.dimension ? Object.entries(dimension)[0] : undefined;
      const labels = entry ? `{${entry[0]}="${escapeLabel(entry[1])}"}` : '';
      const series = byName.get(name) ?? new Map<string, Series>();
      byName.set(name, series);
      const s = series.get(labels) ?? { labels, value: 0 };
      series.set(labels, s);
      if (definition.kind === 'counter') s.value += value;
      else if (definition.kind === 'gauge') s.value = value;
      else {
        s.buckets ??= BUCKETS_MS.map(() => 0);
        const i = BUCKETS_MS.findIndex((bound) => value <= bound);
        if (i >= 0) s.buckets[i] = (s.buckets[i] ?? 0) + 1;
        s.sum = (s.sum ?? 0) + value;
        s.count = (s.count ?? 0) + 1;
      }
    },
    render() {
      const lines: string[] = [];
      for (const [name, series] of byName) {
        const definition: MetricDefinition = METRICS[name];
        const metric = `tollgate_${name}${definition.kind === 'counter' ? '_total' : ''}`;
        const type = definition.kind === 'timing' ? 'histogram' : definition.kind;
        lines.push(`# HELP ${metric} ${definition.help}`, `# TYPE ${metric} ${type}`);
        for (const s of series.values()) {
          if (definition.kind !== 'timing') {
            lines.push(`${metric}${s.labels} ${s.value}`);
            continue;
          }
          let cumulative = 0;
          BUCKETS_MS.forEach((bound, i) => {
            cumulative += s.buckets?.[i] ?? 0;
            lines.push(`${metric}_bucket{le="${bound}"} ${cumulative}`);
          });
          lines.push(`${metric}_bucket{le="+Inf"} ${s.count ?? 0}`);
          lines.push(`${metric}_sum ${s.sum ?? 0}`, `${metric}_count ${s.count ?? 0}`);
        }
      }
      lines.push(...processMemory());
      return `${lines.join('\n')}\n`;
    },
  };
}

/**
 * The process's memory, named as Prometheus's Node client names it, so an operator can tell the V8 heap
 * from buffers and native memory (DuckDB, LevelDB) when RSS grows.
 */
function processMemory(): string[] {
  const m = process.memoryUsage();
  const gauges: Array<[string, string, number]> = [
    ['process_resident_memory_bytes', 'Resident memory size in bytes.', m.rss],
    ['nodejs_heap_size_total_bytes', 'V8 heap size (committed) in bytes.', m.heapTotal],
    ['nodejs_heap_size_used_bytes', 'V8 heap used in bytes.', m.heapUsed],
    [
      'nodejs_external_memory_bytes',
      'Memory of C++ objects bound to JavaScript objects, in bytes.',
      m.external,
    ],
    ['nodejs_array_buffers_bytes', 'Memory of ArrayBuffers and Buffers, in bytes.', m.arrayBuffers],
  ];
  return gauges.flatMap(([name, help, value]) => [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} gauge`,
    `${name} ${value}`,
  ]);
}

function escapeLabel(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}
