import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { operationsSettings } from '../../infra/context.ts';
import { buildStack, functionIdOf, getAtt, idAt, logicalIdOf, type Resource } from './template.ts';

let stack: Stack;
let template: Template;

beforeAll(() => {
  stack = buildStack();
  template = Template.fromStack(stack);
});

describe('the proxy', () => {
  it('has 100 concurrent executions reserved by default, sized or dropped by context, and a typo fails', () => {
    // Prepare
    const reserved = (t: Template) =>
      (t.toJSON().Resources[functionIdOf(t, /^Tollgate proxy/)] as Resource).Properties
        .ReservedConcurrentExecutions;

    // Act
    const sized = Template.fromStack(
      buildStack({ operations: operationsSettings({ proxyReservedConcurrency: '300' }) }),
    );
    const none = Template.fromStack(
      buildStack({ operations: operationsSettings({ proxyReservedConcurrency: 'none' }) }),
    );

    // Assess
    expect(reserved(template)).toBe(100);
    expect(reserved(sized)).toBe(300);
    expect(reserved(none)).toBeUndefined();
    expect(() => operationsSettings({ proxyReservedConcurrency: '0' })).toThrow(/proxyReservedConcurrency/);
    expect(() => operationsSettings({ proxyReservedConcurrency: 'lots' })).toThrow(
      /proxyReservedConcurrency/,
    );
  });
});

describe('the admin API', () => {
  it("answers CORS for the dashboard's origin only", () => {
    const adminId = functionIdOf(template, /^Tollgate admin API/);
    const distributionId = logicalIdOf(template, 'AWS::CloudFront::Distribution');
    const url = Object.values(template.findResources('AWS::Lambda::Url') as Record<string, Resource>).find(
      (u) => JSON.stringify(u.Properties.TargetFunctionArn) === JSON.stringify(getAtt(adminId)),
    );
    expect((url?.Properties.Cors as { AllowOrigins?: unknown } | undefined)?.AllowOrigins).toEqual([
      { 'Fn::Join': ['', ['https://', getAtt(distributionId, 'DomainName')]] },
    ]);
  });
});

describe('what outlives a mistaken delete', () => {
  it('the table is retained and protected from deletion', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ DeletionProtectionEnabled: true }),
    });
  });

  it('every secret is retained', () => {
    const secrets = Object.values(
      template.findResources('AWS::SecretsManager::Secret') as Record<string, Resource>,
    );
    expect(secrets).toHaveLength(3);
    expect(secrets.map((s) => s.DeletionPolicy)).toEqual(['Retain', 'Retain', 'Retain']);
  });
});

describe('the rollup function', () => {
  it('sends a scheduled run that failed after its retries to its own queue', () => {
    const rollupId = functionIdOf(template, /^Tollgate rollup/);
    const queueId = idAt(stack, 'Rollups/FailedRuns');
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: rollupId },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: getAtt(queueId) } },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      MessageRetentionPeriod: 14 * 86_400,
      SqsManagedSseEnabled: true,
    });
  });
});

describe('access logs', () => {
  it('are off by default', () => {
    expect(JSON.stringify(template.toJSON())).not.toMatch(/"LoggingConfiguration"|"Logging":/);
  });

  it('with -c accessLogs=true, every bucket and the distribution log to one bucket, and cdk-nag still passes', () => {
    // Prepare
    const logged = buildStack({ operations: operationsSettings({ accessLogs: 'true' }) });

    // Act
    const t = Template.fromStack(logged);
    const report = new AwsSolutionsChecks(logged.node.root).validateScope(logged);

    // Assess
    const logsId = idAt(logged, 'AccessLogs/Bucket');
    const buckets = Object.entries(t.findResources('AWS::S3::Bucket') as Record<string, Resource>).filter(
      ([id]) => id !== logsId,
    );
    expect(buckets).toHaveLength(3);
    for (const [, bucket] of buckets)
      expect(bucket.Properties.LoggingConfiguration).toMatchObject({
        DestinationBucketName: { Ref: logsId },
      });
    t.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        Logging: Match.objectLike({ Bucket: getAtt(logsId, 'RegionalDomainName'), Prefix: 'cloudfront/' }),
      }),
    });
    expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources[0]?.constructPath}`)).toEqual(
      [],
    );
    expect(() => operationsSettings({ accessLogs: 'yes' })).toThrow(/accessLogs/);
  });
});
