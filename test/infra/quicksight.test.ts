import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { operationsSettings } from '../../infra/context.ts';
import { buildStack, logicalIdOf, type Resource, statementsOf } from './template.ts';

const PRINCIPAL = 'arn:aws:quicksight:us-east-1:123456789012:user/default/analyst';
const QUICKSIGHT_TYPES = [
  'AWS::QuickSight::DataSource',
  'AWS::QuickSight::DataSet',
  'AWS::QuickSight::Analysis',
];

let template: Template;
let report: ReturnType<AwsSolutionsChecks['validateScope']>;

beforeAll(() => {
  const stack = buildStack({ operations: operationsSettings({ quicksightPrincipalArn: PRINCIPAL }) });
  report = new AwsSolutionsChecks(stack.node.scope as never).validateScope(stack);
  template = Template.fromStack(stack);
});

const principals = (type: string) =>
  Object.values(template.findResources(type) as Record<string, Resource>).map((r) =>
    (r.Properties.Permissions as Array<{ Principal: string }>).map((p) => p.Principal),
  );

describe('QuickSight (-c quicksightPrincipalArn)', () => {
  it('is absent by default: it needs a subscription', () => {
    const plain = Template.fromStack(buildStack());

    for (const type of QUICKSIGHT_TYPES) plain.resourceCountIs(type, 0);
  });

  it('adds an Athena data source on the stack’s workgroup, querying as its own role', () => {
    const workgroup = logicalIdOf(template, 'AWS::Athena::WorkGroup');

    template.hasResourceProperties('AWS::QuickSight::DataSource', {
      Type: 'ATHENA',
      DataSourceParameters: {
        AthenaParameters: {
          WorkGroup: { Ref: workgroup },
          RoleArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
        },
      },
    });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'quicksight.amazonaws.com' } })],
      },
    });
  });

  it('reads the lake’s usage objects and writes Athena results, and nothing else of the buckets', () => {
    const role = logicalIdOf(template, 'AWS::IAM::Role', {
      Description: 'QuickSight queries of the Tollgate analyst views on Athena',
    });
    const s3 = statementsOf(template, role).filter(
      (s) =>
        String(s.Action).startsWith('s3:') ||
        (Array.isArray(s.Action) && s.Action.some((a) => a.startsWith('s3:'))),
    );
    const text = JSON.stringify(s3);

    expect(text).toContain('/usage/*');
    expect(text).toContain('s3:PutObject');
    expect(text).not.toContain('s3:DeleteObject');
    expect(text).not.toContain('/rollups/');
  });

  it('makes a direct-query dataset on each view the analysis reads', () => {
    const tables = Object.values(
      template.findResources('AWS::QuickSight::DataSet') as Record<string, Resource>,
    ).map(
      (r) =>
        Object.values(
          r.Properties.PhysicalTableMap as Record<
            string,
            { RelationalTable: { Name: string; Catalog: string } }
          >,
        )[0]?.RelationalTable,
    );

    expect(tables.map((t) => t?.Name).sort()).toEqual([
      'adoption_new_lapsed',
      'adoption_weekly_active',
      'spend_daily_by_model',
      'spend_daily_by_team',
    ]);
    template.allResourcesProperties('AWS::QuickSight::DataSet', { ImportMode: 'DIRECT_QUERY' });
  });

  it('builds an analysis with spend over time, by team, by model, and adoption', () => {
    const [analysis] = Object.values(
      template.findResources('AWS::QuickSight::Analysis') as Record<string, Resource>,
    );
    const visuals = (
      (analysis as Resource).Properties.Definition as { Sheets: Array<{ Visuals: object[] }> }
    ).Sheets.flatMap((s) => s.Visuals);
    const titles = visuals.map((v) => Object.values(v)[0].Title.FormatText.PlainText);

    expect(titles).toEqual([
      'Spend per day (USD) by team',
      'Spend by team (USD)',
      'Spend by model (USD)',
      'Weekly active people by team',
      'New people by team, per week',
      'Lapsed people by team, per week',
    ]);
  });

  it('shares the data source, the datasets and the analysis with the principal alone', () => {
    for (const type of QUICKSIGHT_TYPES)
      for (const list of principals(type)) expect(list).toEqual([PRINCIPAL]);
  });

  it('refuses a principal that is not a QuickSight user or group ARN', () => {
    expect(() => operationsSettings({ quicksightPrincipalArn: 'analyst@example.com' })).toThrow(
      /quicksightPrincipalArn/,
    );
  });

  it('passes cdk-nag with QuickSight on', () => {
    expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources[0]?.constructPath}`)).toEqual(
      [],
    );
  });
});
