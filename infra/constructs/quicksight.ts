import { Stack } from 'aws-cdk-lib';
import type { CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import type { CfnTable, S3Table } from 'aws-cdk-lib/aws-glue';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnAnalysis, CfnDataSet, CfnDataSource } from 'aws-cdk-lib/aws-quicksight';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { AnalystView } from '../../functions/core/analytics/views.ts';
import { grantAthenaQueries } from './athena-access.ts';

export interface QuickSightProps {
  /** The QuickSight user or group (`arn:aws:quicksight:<region>:<account>:user/<namespace>/<name>`) everything is shared with. */
  readonly principalArn: string;
  readonly workgroup: CfnWorkGroup;
  readonly databaseName: string;
  readonly usageTable: S3Table;
  readonly queryResultsBucket: IBucket;
  /** The analyst views (AthenaViews.tables), by name; the datasets read four of them. */
  readonly views: Record<string, { table: CfnTable; view: AnalystView }>;
}

/** The views the analysis reads, as datasets. */
const DATASETS = [
  'spend_daily_by_team',
  'spend_daily_by_model',
  'adoption_weekly_active',
  'adoption_new_lapsed',
];

const COLUMN_TYPES: Record<string, string> = { varchar: 'STRING', bigint: 'INTEGER', double: 'DECIMAL' };

// What the principal may do, per resource type, as the QuickSight console grants an owner.
// https://docs.aws.amazon.com/quicksight/latest/developerguide/controlling-access.html
const DATA_SOURCE_ACTIONS = [
  'quicksight:DescribeDataSource',
  'quicksight:DescribeDataSourcePermissions',
  'quicksight:PassDataSource',
  'quicksight:UpdateDataSource',
  'quicksight:DeleteDataSource',
  'quicksight:UpdateDataSourcePermissions',
];
const DATA_SET_ACTIONS = [
  'quicksight:DescribeDataSet',
  'quicksight:DescribeDataSetPermissions',
  'quicksight:PassDataSet',
  'quicksight:DescribeIngestion',
  'quicksight:ListIngestions',
  'quicksight:UpdateDataSet',
  'quicksight:DeleteDataSet',
  'quicksight:CreateIngestion',
  'quicksight:CancelIngestion',
  'quicksight:UpdateDataSetPermissions',
];
const ANALYSIS_ACTIONS = [
  'quicksight:RestoreAnalysis',
  'quicksight:UpdateAnalysisPermissions',
  'quicksight:DeleteAnalysis',
  'quicksight:DescribeAnalysisPermissions',
  'quicksight:QueryAnalysis',
  'quicksight:DescribeAnalysis',
  'quicksight:UpdateAnalysis',
];

/**
 * QuickSight on the analyst views (optional: it needs a QuickSight subscription): an Athena data
 * source on the stack's workgroup that queries as its own role (not the account-wide QuickSight
 * service role), a direct-query dataset per view the analysis reads, and an analysis — spend over
 * time, spend by team and by model, weekly active people and new/lapsed people per team — shared with
 * one principal. Budget status has no view (it lives in the DynamoDB table), so it is not here.
 */
export class QuickSight extends Construct {
  public readonly role: Role;
  public readonly dataSource: CfnDataSource;
  public readonly dataSets: Record<string, CfnDataSet> = {};
  public readonly analysis: CfnAnalysis;

  constructor(scope: Construct, id: string, props: QuickSightProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const prefix = stack.stackName.toLowerCase();
    const permissions = (actions: string[]) => [{ principal: props.principalArn, actions }];

    // QuickSight's Athena data source runs queries with this role: Athena acts with the caller's
    // permissions, so it needs the workgroup, the catalog entries and the buckets, as the functions do.
    // https://docs.aws.amazon.com/quicksight/latest/user/athena.html
    this.role = new Role(this, 'DataSourceRole', {
      assumedBy: new ServicePrincipal('quicksight.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'QuickSight queries of the Tollgate analyst views on Athena',
    });
    grantAthenaQueries(this.role, {
      workgroupName: props.workgroup.ref,
      usageTable: props.usageTable,
      queryResultsBucket: props.queryResultsBucket,
    });
    this.role.addToPolicy(
      new PolicyStatement({
        // What QuickSight asks Athena beyond running a query: the workgroup, and the views' metadata.
        actions: ['athena:GetWorkGroup', 'athena:StopQueryExecution', 'athena:GetTableMetadata'],
        resources: [
          stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: props.workgroup.ref }),
          stack.formatArn({ service: 'athena', resource: 'datacatalog', resourceName: 'AwsDataCatalog' }),
        ],
      }),
    );
    this.role.addToPolicy(
      new PolicyStatement({
        actions: ['glue:GetTable', 'glue:GetTables'],
        resources: Object.keys(props.views).map((name) =>
          stack.formatArn({
            service: 'glue',
            resource: 'table',
            resourceName: `${props.databaseName}/${name}`,
          }),
        ),
      }),
    );

    this.dataSource = new CfnDataSource(this, 'DataSource', {
      awsAccountId: stack.account,
      dataSourceId: `${prefix}-athena`,
      name: `${stack.stackName} usage (Athena)`,
      type: 'ATHENA',
      dataSourceParameters: {
        athenaParameters: { workGroup: props.workgroup.ref, roleArn: this.role.roleArn },
      },
      permissions: permissions(DATA_SOURCE_ACTIONS),
    });
    // QuickSight checks the role when the data source is created.
    this.dataSource.node.addDependency(this.role);

    for (const name of DATASETS) {
      const entry = props.views[name];
      if (!entry) throw new Error(`QuickSight: no analyst view ${name}`);
      const dataSet = new CfnDataSet(this, name, {
        awsAccountId: stack.account,
        dataSetId: `${prefix}-${name.replace(/_/g, '-')}`,
        name: `${stack.stackName} ${name}`,
        // Direct query: every visual asks Athena, so no SPICE capacity and nothing to refresh.
        importMode: 'DIRECT_QUERY',
        // Map keys are letters, digits and hyphens (the CloudFormation schema's pattern).
        physicalTableMap: {
          [name.replace(/_/g, '-')]: {
            relationalTable: {
              dataSourceArn: this.dataSource.attrArn,
              catalog: 'AwsDataCatalog',
              schema: props.databaseName,
              name,
              inputColumns: entry.view.columns.map((c) => ({ name: c.name, type: columnType(c.type) })),
            },
          },
        },
        permissions: permissions(DATA_SET_ACTIONS),
      });
      dataSet.node.addDependency(entry.table);
      this.dataSets[name] = dataSet;
    }

    this.analysis = new CfnAnalysis(this, 'Analysis', {
      awsAccountId: stack.account,
      analysisId: `${prefix}-usage`,
      name: `${stack.stackName} spend and adoption`,
      definition: analysisDefinition(this.dataSets),
      permissions: permissions(ANALYSIS_ACTIONS),
    });
  }
}

function columnType(type: string): string {
  const quicksight = COLUMN_TYPES[type];
  if (!quicksight) throw new Error(`No QuickSight column type for ${type}`);
  return quicksight;
}

const column = (dataSet: string, columnName: string) => ({ dataSetIdentifier: dataSet, columnName });
const dimension = (fieldId: string, dataSet: string, columnName: string) => ({
  categoricalDimensionField: { fieldId, column: column(dataSet, columnName) },
});
const sum = (fieldId: string, dataSet: string, columnName: string) => ({
  numericalMeasureField: {
    fieldId,
    column: column(dataSet, columnName),
    aggregationFunction: { simpleNumericalAggregation: 'SUM' },
  },
});
const title = (plainText: string) => ({ visibility: 'VISIBLE', formatText: { plainText } });
const ascending = (fieldId: string) => ({ categorySort: [{ fieldSort: { fieldId, direction: 'ASC' } }] });

/** One sheet: the spend views in dollars (cost_micros ÷ 10⁶, a calculated field), then adoption. */
function analysisDefinition(dataSets: Record<string, CfnDataSet>): CfnAnalysis.AnalysisDefinitionProperty {
  const spend = ['spend_daily_by_team', 'spend_daily_by_model'];
  const lineChart = (visualId: string, text: string, ds: string, x: string, y: string, color: string) => ({
    lineChartVisual: {
      visualId,
      title: title(text),
      chartConfiguration: {
        fieldWells: {
          lineChartAggregatedFieldWells: {
            category: [dimension(`${visualId}-x`, ds, x)],
            values: [sum(`${visualId}-y`, ds, y)],
            colors: [dimension(`${visualId}-color`, ds, color)],
          },
        },
        sortConfiguration: ascending(`${visualId}-x`),
      },
    },
  });
  const barChart = (visualId: string, text: string, ds: string, x: string, y: string) => ({
    barChartVisual: {
      visualId,
      title: title(text),
      chartConfiguration: {
        orientation: 'HORIZONTAL',
        fieldWells: {
          barChartAggregatedFieldWells: {
            category: [dimension(`${visualId}-x`, ds, x)],
            values: [sum(`${visualId}-y`, ds, y)],
          },
        },
      },
    },
  });
  return {
    dataSetIdentifierDeclarations: Object.entries(dataSets).map(([identifier, dataSet]) => ({
      identifier,
      dataSetArn: dataSet.attrArn,
    })),
    calculatedFields: spend.map((dataSetIdentifier) => ({
      dataSetIdentifier,
      name: 'cost_usd',
      expression: '{cost_micros} / 1000000',
    })),
    sheets: [
      {
        sheetId: 'spend-and-adoption',
        name: 'Spend and adoption',
        visuals: [
          lineChart(
            'spend-over-time',
            'Spend per day (USD) by team',
            'spend_daily_by_team',
            'day',
            'cost_usd',
            'team_id',
          ),
          barChart('spend-by-team', 'Spend by team (USD)', 'spend_daily_by_team', 'team_id', 'cost_usd'),
          barChart('spend-by-model', 'Spend by model (USD)', 'spend_daily_by_model', 'model', 'cost_usd'),
          lineChart(
            'weekly-active',
            'Weekly active people by team',
            'adoption_weekly_active',
            'week',
            'active_people',
            'team_id',
          ),
          lineChart(
            'new-people',
            'New people by team, per week',
            'adoption_new_lapsed',
            'week',
            'new_people',
            'team_id',
          ),
          lineChart(
            'lapsed-people',
            'Lapsed people by team, per week',
            'adoption_new_lapsed',
            'week',
            'lapsed_people',
            'team_id',
          ),
        ],
      },
    ],
  };
}
