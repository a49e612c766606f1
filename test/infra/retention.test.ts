import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { operationsSettings } from '../../infra/context.ts';
import { buildStack } from './template.ts';

/** The lake bucket's retention rules (`-c retentionDays=<n>`), by the prefixes they expire. */
function retentionRules(template: Template) {
  const buckets = template.findResources('AWS::S3::Bucket', {
    Properties: { VersioningConfiguration: Match.anyValue() },
  });
  const rules = Object.values(buckets).flatMap(
    (b) =>
      (b as { Properties: { LifecycleConfiguration: { Rules: Array<Record<string, unknown>> } } }).Properties
        .LifecycleConfiguration.Rules,
  );
  return rules
    .filter((r) => r.Prefix !== undefined)
    .map((r) => ({ prefix: r.Prefix, days: r.ExpirationInDays, status: r.Status }));
}

describe('retention of the lake (-c retentionDays)', () => {
  it('expires usage records, telemetry and the aggregates after 400 days unless told otherwise', () => {
    const template = Template.fromStack(buildStack());
    expect(retentionRules(template)).toEqual([
      { prefix: 'usage/', days: 400, status: 'Enabled' },
      { prefix: 'telemetry/', days: 400, status: 'Enabled' },
      { prefix: 'aggregates/usage_daily/', days: 400, status: 'Enabled' },
      // An erasure's staging, emptied by its job: a failed job's rows do not stay there.
      { prefix: 'erasure/', days: 7, status: 'Enabled' },
    ]);
  });

  it('takes the number of days from context, and refuses one that is not a whole number of days', () => {
    const template = Template.fromStack(
      buildStack({ operations: operationsSettings({ retentionDays: '90' }) }),
    );
    expect(retentionRules(template).map((r) => r.days)).toEqual([90, 90, 90, 7]);
    expect(() => operationsSettings({ retentionDays: '1.5' })).toThrow(
      /retentionDays: expected a whole number/,
    );
    expect(() => operationsSettings({ retentionDays: '0' })).toThrow(/retentionDays/);
  });
});
