/**
 * Operational metrics: their names, units and the one dimension each may carry, and the port that
 * takes their points (adapters/aws/emf-metrics.ts, adapters/local/prometheus-metrics.ts). How records
 * become points, and the wrappers that count what passes through a port, are in core/metrics.ts.
 */

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

/**
 * Operational metrics: what an operator alarms and graphs on (METRICS above names them all). A
 * dimension names one of a few fixed values (an outcome, a budget scope, a provider), never a key, a
 * person, a model or anything from a request body. Adding a point never fails and never waits.
 */
export interface Metrics {
  add(name: MetricName, value: number, dimension?: MetricDimension): void;
}
