import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildStack, functionIdOf, idAt, logicalIdOf, type Resource } from './template.ts';

type Alarm = Resource & {
  Properties: {
    AlarmName: string;
    AlarmActions: unknown[];
    Threshold: number;
    ComparisonOperator: string;
    DatapointsToAlarm: number;
    EvaluationPeriods: number;
    Metrics: Array<{
      Expression?: string;
      MetricStat?: {
        Metric: {
          Namespace: string;
          MetricName: string;
          Dimensions: Array<{ Name: string; Value: unknown }>;
        };
        Period: number;
        Stat: string;
      };
    }>;
  };
};

let stack: Stack;
let template: Template;
let alarms: Alarm[];

beforeAll(() => {
  stack = buildStack();
  template = Template.fromStack(stack);
  alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Alarm[];
});

/** The alarms reading `metricName` (in `namespace`) for the resource whose logical id is `of`. */
function alarmsOn(namespace: string, metricName: string, of: string): Alarm[] {
  return alarms.filter((a) =>
    a.Properties.Metrics.some(
      (m) =>
        m.MetricStat?.Metric.Namespace === namespace &&
        m.MetricStat.Metric.MetricName === metricName &&
        JSON.stringify(m.MetricStat.Metric.Dimensions).includes(`"${of}"`),
    ),
  );
}

describe('alarms', () => {
  it('all go to the alerts topic', () => {
    const topic = { Ref: logicalIdOf(template, 'AWS::SNS::Topic') };
    expect(alarms.length).toBeGreaterThanOrEqual(14);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([topic]);
  });

  it('fire on the first usage record the proxy could neither deliver nor spill, and on any spill', () => {
    const proxy = functionIdOf(template, /^Tollgate proxy/);
    const [lost] = alarmsOn('Tollgate', 'usage_write_failures', proxy);
    const [spilled] = alarmsOn('Tollgate', 'usage_spilled', proxy);
    for (const alarm of [lost, spilled])
      expect(alarm?.Properties).toMatchObject({
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        DatapointsToAlarm: 1,
        Metrics: [{ MetricStat: { Stat: 'Sum', Period: 300 } }],
      });
  });

  it('fire when spilled records are still waiting after two hourly replays', () => {
    const [backlog] = alarmsOn('Tollgate', 'spill_backlog', functionIdOf(template, /^Tollgate rollup/));
    expect(backlog?.Properties).toMatchObject({
      Threshold: 0,
      DatapointsToAlarm: 2,
      EvaluationPeriods: 2,
      Metrics: [{ MetricStat: { Stat: 'Maximum', Period: 3600 } }],
    });
  });

  it('fire on any message in either dead-letter queue', () => {
    for (const path of ['Slack/DeadLetters', 'Rollups/FailedRuns']) {
      const [depth] = alarmsOn('AWS/SQS', 'ApproximateNumberOfMessagesVisible', idAt(stack, path));
      expect(depth?.Properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    }
  });

  it('fire on any error and any throttle of every function', () => {
    for (const description of [
      /^Tollgate proxy/,
      /^Tollgate admin API/,
      /^Tollgate rollup/,
      /^Tollgate Slack/,
    ]) {
      const fn = functionIdOf(template, description);
      expect(alarmsOn('AWS/Lambda', 'Errors', fn)).toHaveLength(1);
      expect(alarmsOn('AWS/Lambda', 'Throttles', fn)).toHaveLength(1);
    }
  });

  it("fire when a fifth of the proxy's provider calls fail, three periods running, past ten calls", () => {
    const proxy = functionIdOf(template, /^Tollgate proxy/);
    const [rate] = alarmsOn('Tollgate', 'upstream_errors', proxy);
    expect(rate?.Properties).toMatchObject({ Threshold: 20, DatapointsToAlarm: 3, EvaluationPeriods: 3 });
    expect(rate?.Properties.Metrics[0]?.Expression).toBe('IF(calls >= 10, 100 * errors / calls, 0)');
    expect(alarmsOn('Tollgate', 'upstream_requests', proxy)).toEqual([rate]);
  });
});

describe('the dashboard', () => {
  it("graphs the gateway's own metrics beside the functions and queues", () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as Resource[];
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]?.Properties.DashboardBody);
    for (const metric of ['requests', 'refusals', 'ttfb_ms', 'gateway_overhead_ms', 'lease_renewals'])
      expect(body).toContain(`\\"${metric}\\"`);
    expect(body).toContain('Tollgate');
    expect(body).toContain('AWS/Lambda');
    expect(body).toContain('AWS/SQS');
  });
});
