/**
 * The gateway's operational metrics: their names, units and the one dimension each may carry, how a
 * usage record becomes metric points, and wrappers that count what passes through a port. On AWS the
 * points leave as CloudWatch embedded metric format (adapters/aws/emf-metrics.ts), locally as a
 * Prometheus text page at `/metrics` (adapters/local/prometheus-metrics.ts): the same names in both.
 */
import { BudgetExceededError, type GatewayError } from './errors.ts';
import type { Metrics, SliceStore, UsageSink } from './ports.ts';
import type { UsageRecord } from './usage/record.ts';

export interface MetricDefinition {
  /** `counter`: summed; `timing`: each value kept (percentiles); `gauge`: the last value. */
  kind: 'counter' | 'timing' | 'gauge';
  unit: 'Count' | 'Milliseconds';
  /** The dimension it may be broken down by; its total is always there too. */
  dimension?: 'outcome' | 'scope' | 'provider' | 'status';
  help: string;
}

export const METRICS = {
  requests: {
    kind: 'counter',
    unit: 'Count',
    dimension: 'outcome',
    help: 'Requests finished (one per usage record), by outcome',
  },
  refusals: {
    kind: 'counter',
    unit: 'Count',
    dimension: 'scope',
    help: 'Requests refused before any provider call, by the scope that refused (a budget scope, rate_limit, authentication, permission)',
  },
  upstream_requests: {
    kind: 'counter',
    unit: 'Count',
    dimension: 'provider',
    help: 'Requests that reached a provider, by provider',
  },
  upstream_errors: {
    kind: 'counter',
    unit: 'Count',
    dimension: 'provider',
    help: 'Requests that failed at the provider (5xx, timeout, unreachable, broken answer), by provider',
  },
  gateway_overhead_ms: {
    kind: 'timing',
    unit: 'Milliseconds',
    help: "Time the gateway added to a request (its latency less the provider's)",
  },
  ttfb_ms: { kind: 'timing', unit: 'Milliseconds', help: 'Time to the first byte of the answer' },
  usage_write_failures: {
    kind: 'counter',
    unit: 'Count',
    help: 'Usage records neither the record sink nor its spill took: records at risk',
  },
  usage_spilled: {
    kind: 'counter',
    unit: 'Count',
    help: 'Usage records Firehose would not take, kept in the spill for replay',
  },
  spill_backlog: {
    kind: 'gauge',
    unit: 'Count',
    help: 'Spilled batches still waiting after a replay (rollup function)',
  },
  lease_renewals: {
    kind: 'counter',
    unit: 'Count',
    help: 'Budget slice grows and renewals (one conditional write each)',
  },
  lease_refusals: {
    kind: 'counter',
    unit: 'Count',
    help: 'Budget slice grows the counter refused (near or at its limit)',
  },
  admin_requests: {
    kind: 'counter',
    unit: 'Count',
    dimension: 'status',
    help: 'Admin API requests, by status class (2xx, 4xx, 5xx)',
  },
  alerts_posted: { kind: 'counter', unit: 'Count', help: 'Alerts the Slack forwarder posted' },
  rollup_runs: {
    kind: 'counter',
    unit: 'Count',
    dimension: 'outcome',
    help: 'Rollup function runs, by outcome',
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricName = keyof typeof METRICS;
export type MetricDimension = Readonly<Record<string, string>>;

export const noMetrics: Metrics = { add() {} };

/** What a finished request adds: its outcome, its provider's answer, and the gateway's own time. */
export function recordMetrics(metrics: Metrics, record: UsageRecord): void {
  metrics.add('requests', 1, { outcome: record.outcome });
  if (record.provider && (record.attempts ?? 0) > 0) {
    metrics.add('upstream_requests', 1, { provider: record.provider });
    if (record.outcome === 'upstream_error') metrics.add('upstream_errors', 1, { provider: record.provider });
  }
  if (record.ttfb_ms !== null) metrics.add('ttfb_ms', record.ttfb_ms);
  if (record.overhead_ms !== null) metrics.add('gateway_overhead_ms', record.overhead_ms);
}

/** The scope a refusal names: the budget's scope, else what kind of limit it was. */
export function refusalScope(error: GatewayError): string {
  if (error instanceof BudgetExceededError) return error.scope;
  return error.kind === 'rate_limited' ? 'rate_limit' : error.kind;
}

/** Counts every record written and every record that could not be (the write's error is kept). */
export function meteredSink(sink: UsageSink, metrics: Metrics): UsageSink {
  return {
    async write(records) {
      for (const record of records) recordMetrics(metrics, record);
      try {
        await sink.write(records);
      } catch (err) {
        metrics.add('usage_write_failures', records.length);
        throw err;
      }
    },
  };
}

/** Counts the lines put into a spill (records Firehose would not take). */
export function meteredSpill<S extends { put(lines: string[]): Promise<void> }>(
  spill: S,
  metrics: Metrics,
): S {
  return {
    ...spill,
    async put(lines: string[]) {
      await spill.put(lines);
      metrics.add('usage_spilled', lines.length);
    },
  };
}

/** Counts each slice grow (a lease renewal: one conditional write) and each the counter refused. */
export function meteredSliceStore(store: SliceStore, metrics: Metrics): SliceStore {
  return {
    ...store,
    grow: async (...args) => {
      metrics.add('lease_renewals', 1);
      const state = await store.grow(...args);
      if (state.refused) metrics.add('lease_refusals', 1);
      return state;
    },
  };
}

/**
 * Points kept in memory, by metric and dimension value, for an adapter to publish: counters summed,
 * timings listed (at most `maxValues` each, then summarised by what was kept), gauges as last set.
 */
export function createMetricStore(maxValues = 100) {
  const series = new Map<string, { name: MetricName; dimension?: [string, string]; values: number[] }>();
  const add: Metrics['add'] = (name, value, dimension) => {
    const definition: MetricDefinition = METRICS[name];
    if (!Number.isFinite(value)) return;
    const entry = dimension && definition.dimension ? Object.entries(dimension)[0] : undefined;
    const key = entry ? `${name}|${entry[0]}=${entry[1]}` : name;
    let s = series.get(key);
    if (!s) {
      s = { name, ...(entry && { dimension: entry }), values: [] };
      series.set(key, s);
    }
    if (definition.kind === 'counter') s.values[0] = (s.values[0] ?? 0) + value;
    else if (definition.kind === 'gauge') s.values[0] = value;
    else if (s.values.length < maxValues) s.values.push(value);
  };
  return {
    add,
    /** Every series, and forgets them. */
    drain() {
      const out = [...series.values()];
      series.clear();
      return out;
    },
  };
}
export type MetricSeries = ReturnType<ReturnType<typeof createMetricStore>['drain']>[number];
