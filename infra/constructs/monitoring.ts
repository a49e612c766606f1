import { Duration, Stack } from 'aws-cdk-lib';
import { ComparisonOperator, MathExpression, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { DefaultDashboardFactory, MonitoringFacade, SnsAlarmActionStrategy } from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import { FUNCTION_DIMENSION, METRIC_NAMESPACE } from '../../functions/adapters/aws/emf-metrics.ts';
import type { MetricName } from '../../functions/core/metrics.ts';
import type { Alerts } from './alerts.ts';

export interface MonitoringProps {
  /** Alarms go to the alerts topic (email, and Slack through the forwarder). */
  readonly alerts: Alerts;
  readonly proxy: IFunction;
  readonly admin: IFunction;
  readonly rollup: IFunction;
  readonly slack: IFunction;
  /** Queues holding what failed for good: the Slack forwarder's dead letters, failed rollup runs. */
  readonly deadLetters: Record<string, IQueue>;
  /**
   * Upstream errors, in percent of a period's provider calls, past which the providers are alarmed.
   * @default 20
   */
  readonly upstreamErrorPct?: number;
}

/**
 * What an operator watches, on one CloudWatch dashboard, with alarms on what means money or records at
 * risk, sent to the alerts topic: usage records that could not be written, a spill that does not drain,
 * dead letters, function errors and proxy throttles, and a provider failing a share of its calls.
 * Built with cdk-monitoring-constructs; the gateway's own figures are its embedded metric format
 * metrics (namespace `Tollgate`, dimension `function`; see functions/core/metrics.ts).
 */
export class Monitoring extends Construct {
  public readonly facade: MonitoringFacade;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const stackName = Stack.of(this).stackName;
    this.facade = new MonitoringFacade(this, 'Facade', {
      alarmFactoryDefaults: {
        alarmNamePrefix: stackName,
        actionsEnabled: true,
        action: new SnsAlarmActionStrategy({ onAlarmTopic: props.alerts.topic }),
        datapointsToAlarm: 1,
      },
      metricFactoryDefaults: { namespace: METRIC_NAMESPACE },
      dashboardFactory: new DefaultDashboardFactory(this, 'Dashboards', {
        dashboardNamePrefix: stackName,
        createDashboard: true,
        createSummaryDashboard: false,
        createAlarmDashboard: false,
      }),
    });
    this.gatewayMetrics(props);
    this.functions(props);
    for (const [name, queue] of Object.entries(props.deadLetters))
      this.facade.monitorSqsQueue({
        queue,
        humanReadableName: name,
        alarmFriendlyName: name.replace(/(^|\s)(\w)/g, (_, _space, c: string) => c.toUpperCase()),
        // Anything here failed for good: an alert Slack never got, a rollup run that never finished.
        addQueueMaxSizeAlarm: { Critical: { maxMessageCount: 0 } },
      });
  }

  private functions(props: MonitoringProps): void {
    const each: Array<[string, string, IFunction]> = [
      ['Proxy', 'Proxy', props.proxy],
      ['AdminApi', 'Admin API', props.admin],
      ['Rollup', 'Rollup', props.rollup],
      ['SlackForwarder', 'Slack forwarder', props.slack],
    ];
    for (const [alarmFriendlyName, humanReadableName, lambdaFunction] of each)
      this.facade.monitorLambdaFunction({
        lambdaFunction,
        humanReadableName,
        alarmFriendlyName,
        // The handlers answer every failure themselves: an error here is a crash, a timeout or OOM.
        addFaultCountAlarm: { Critical: { maxErrorCount: 0 } },
        // The proxy's reserved concurrency is reached: agents get 429s from Lambda itself.
        addThrottlesCountAlarm: { Critical: { maxErrorCount: 0 } },
      });
  }

  private gatewayMetrics(props: MonitoringProps): void {
    const of = (fn: IFunction, name: MetricName, statistic: string, period = Duration.minutes(5)) =>
      new Metric({
        namespace: METRIC_NAMESPACE,
        metricName: name,
        dimensionsMap: { [FUNCTION_DIMENSION]: fn.functionName },
        statistic,
        period,
        label: name,
      });
    const proxy = (name: MetricName, statistic = 'Sum') => of(props.proxy, name, statistic);
    const upstreamErrorRate = new MathExpression({
      expression: 'IF(calls >= 10, 100 * errors / calls, 0)',
      usingMetrics: { errors: proxy('upstream_errors'), calls: proxy('upstream_requests') },
      period: Duration.minutes(5),
      label: 'upstream error rate (%)',
    });
    const atMost = (threshold: number, extra: Record<string, unknown> = {}) => ({
      threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingDataOverride: TreatMissingData.NOT_BREACHING,
      ...extra,
    });
    this.facade.monitorCustom({
      alarmFriendlyName: 'Gateway',
      humanReadableName: 'Tollgate gateway',
      metricGroups: [
        {
          title: 'Requests and refusals',
          metrics: [proxy('requests'), proxy('refusals'), proxy('upstream_requests')],
        },
        {
          title: 'Provider errors',
          metrics: [
            proxy('upstream_errors'),
            {
              metric: upstreamErrorRate,
              alarmFriendlyName: 'UpstreamErrorRate',
              // Three 5-minute periods in a row: a provider outage, not one bad answer.
              addAlarm: {
                Warning: atMost(props.upstreamErrorPct ?? 20, { datapointsToAlarm: 3, evaluationPeriods: 3 }),
              },
            },
          ],
        },
        {
          title: 'Time to first byte and gateway overhead (ms)',
          metrics: [
            proxy('ttfb_ms', 'p50'),
            proxy('ttfb_ms', 'p99'),
            proxy('gateway_overhead_ms', 'p50'),
            proxy('gateway_overhead_ms', 'p99'),
          ],
        },
        {
          title: 'Usage records at risk',
          metrics: [
            {
              // Neither Firehose nor the spill took them: records (and the spend they prove) are lost.
              metric: proxy('usage_write_failures'),
              alarmFriendlyName: 'UsageWriteFailures',
              addAlarm: { Critical: atMost(0) },
            },
            {
              // Firehose refused them; they wait in spill/ for the next rollup run.
              metric: proxy('usage_spilled'),
              alarmFriendlyName: 'UsageSpilled',
              addAlarm: { Warning: atMost(0) },
            },
            {
              // Still waiting after a replay, two runs in a row: the lake is missing records.
              metric: of(props.rollup, 'spill_backlog', 'Maximum', Duration.hours(1)),
              alarmFriendlyName: 'SpillBacklog',
              addAlarm: { Critical: atMost(0, { datapointsToAlarm: 2, evaluationPeriods: 2 }) },
            },
          ],
        },
        {
          title: 'Budget slices and rollups',
          metrics: [
            proxy('lease_renewals'),
            proxy('lease_refusals'),
            of(props.rollup, 'rollup_runs', 'Sum', Duration.hours(1)),
            of(props.slack, 'alerts_posted', 'Sum', Duration.hours(1)),
            of(props.admin, 'admin_requests', 'Sum'),
          ],
        },
      ],
    });
  }
}
