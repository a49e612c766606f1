/**
 * Metrics as CloudWatch embedded metric format: JSON lines on stdout that CloudWatch Logs turns into
 * metrics, with no API call and no SDK. Points are kept in memory and written at the end of each
 * invocation (`flush`), one line per dimension value, each naming its function and carrying the total
 * too (dimension sets `[function]` and `[function, <dimension>]`), so alarms read totals and graphs
 * the breakdown.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 *
 * Not Powertools Metrics: its buffer gives every metric of a flush the same dimensions, so refusals by
 * scope and upstream errors by provider in one invocation would need a `singleMetric()` each, a line
 * per point; this is about 60 lines and groups them.
 */
import { createMetricStore, METRICS, type MetricSeries } from '../../core/metrics.ts';
import type { Metrics } from '../../core/ports.ts';

export const METRIC_NAMESPACE = 'Tollgate';
/** The dimension every point carries: the Lambda function's name, unique per stack. */
export const FUNCTION_DIMENSION = 'function';

export interface EmfMetricsOptions {
  functionName: string;
  namespace?: string;
  write?: (line: string) => void;
  now?: () => number;
}

export function createEmfMetrics(options: EmfMetricsOptions): Metrics & { flush(): void } {
  const store = createMetricStore();
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = options.now ?? Date.now;
  return {
    add: store.add,
    flush() {
      const groups = new Map<string, MetricSeries[]>();
      for (const s of store.drain()) {
        const key = s.dimension ? `${s.dimension[0]}=${s.dimension[1]}` : '';
        groups.set(key, [...(groups.get(key) ?? []), s]);
      }
      for (const series of groups.values()) write(JSON.stringify(emfDocument(series, options, now())));
    },
  };
}

function emfDocument(series: MetricSeries[], options: EmfMetricsOptions, timestamp: number) {
  const dimension = series[0]?.dimension;
  const fields: Record<string, unknown> = { [FUNCTION_DIMENSION]: options.functionName };
  if (dimension) fields[dimension[0]] = dimension[1];
  for (const s of series) fields[s.name] = METRICS[s.name].kind === 'timing' ? s.values : (s.values[0] ?? 0);
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: options.namespace ?? METRIC_NAMESPACE,
          Dimensions: dimension
            ? [[FUNCTION_DIMENSION], [FUNCTION_DIMENSION, dimension[0]]]
            : [[FUNCTION_DIMENSION]],
          Metrics: series.map((s) => ({ Name: s.name, Unit: METRICS[s.name].unit })),
        },
      ],
    },
    ...fields,
  };
}
