import { Duration, Stack } from 'aws-cdk-lib';
import type { CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { S3Table } from 'aws-cdk-lib/aws-glue';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type FunctionUrl, FunctionUrlAuthType, HttpMethod, InvokeMode } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ENV } from '../../functions/config.ts';
import { acknowledge, objectWildcardFinding } from './nag.ts';
import { gatewayFunction } from './node-function.ts';

export interface AdminApiProps {
  /** Keys, teams, users and budgets. */
  readonly table: ITable;
  /** Admin requests carry this key as a bearer token. */
  readonly masterKeySecret: ISecret;
  /** Usage analytics run as Athena queries in this workgroup. */
  readonly workgroup: CfnWorkGroup;
  /** Where the workgroup writes query results. */
  readonly queryResultsBucket: IBucket;
  /** The Glue `usage` table; its bucket and prefix hold the Parquet files Athena reads. */
  readonly usageTable: S3Table;
  /**
   * Browser origins allowed to call the API (the dashboard).
   * The API authenticates with a bearer token, not cookies, so an open origin grants no ambient authority.
   * @default ['*']
   */
  readonly allowedOrigins?: string[];
  /**
   * Analytics calls wait for Athena.
   * @default Duration.seconds(60)
   */
  readonly timeout?: Duration;
  /**
   * More environment: the governance settings shared with the proxy (budget periods and modes shape
   * what the API reports).
   * @default - none
   */
  readonly settings?: Record<string, string>;
}

/** Keys, teams, users, budgets and usage reports (LiteLLM-compatible routes) behind a buffered function URL. */
export class AdminApi extends Construct {
  public readonly function: NodejsFunction;
  public readonly url: FunctionUrl;

  constructor(scope: Construct, id: string, props: AdminApiProps) {
    super(scope, id);
    const workgroupName = props.workgroup.ref;
    this.function = gatewayFunction(this, 'Function', {
      entry: 'functions/handlers/admin.ts',
      description: 'Tollgate admin API: keys, teams, users, budgets, usage',
      memorySize: 512,
      timeout: props.timeout ?? Duration.seconds(60),
      environment: {
        ...props.settings,
        [ENV.table]: props.table.tableName,
        [ENV.masterKeySecretArn]: props.masterKeySecret.secretArn,
        [ENV.athenaWorkgroup]: workgroupName,
        [ENV.athenaDatabase]: props.usageTable.database.databaseName,
        [ENV.usageTable]: props.usageTable.tableName,
      },
    });
    this.url = this.function.addFunctionUrl({
      authType: FunctionUrlAuthType.NONE,
      invokeMode: InvokeMode.BUFFERED,
      // Function URLs answer preflight requests themselves; `allowedMethods` entries are at most six
      // characters, so OPTIONS is neither needed nor accepted.
      cors: {
        allowedOrigins: props.allowedOrigins ?? ['*'],
        allowedMethods: [HttpMethod.GET, HttpMethod.POST, HttpMethod.DELETE],
        allowedHeaders: ['authorization', 'content-type', 'x-api-key'],
        maxAge: Duration.hours(1),
      },
    });

    props.table.grantReadWriteData(this.function);
    props.masterKeySecret.grantRead(this.function);
    this.grantAnalytics(props, workgroupName);
  }

  /** Athena runs queries with the caller's permissions: the workgroup, the Glue table, the data, the results. */
  private grantAnalytics(props: AdminApiProps, workgroupName: string): void {
    const stack = Stack.of(this);
    this.function.addToRolePolicy(
      new PolicyStatement({
        actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults'],
        resources: [
          stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: workgroupName }),
        ],
      }),
    );
    this.function.addToRolePolicy(
      new PolicyStatement({
        actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions'],
        resources: [
          props.usageTable.database.catalog.catalogArn,
          props.usageTable.database.databaseArn,
          props.usageTable.tableArn,
        ],
      }),
    );
    // https://docs.aws.amazon.com/athena/latest/ug/s3-permissions.html
    const lake = props.usageTable.bucket;
    const usageObjects = `${props.usageTable.s3Prefix}*`;
    const results = props.queryResultsBucket;
    this.function.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:GetBucketLocation', 's3:ListBucket'],
        resources: [lake.bucketArn],
      }),
    );
    this.function.addToRolePolicy(
      new PolicyStatement({ actions: ['s3:GetObject'], resources: [lake.arnForObjects(usageObjects)] }),
    );
    this.function.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
        resources: [results.bucketArn],
      }),
    );
    this.function.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        resources: [results.arnForObjects('*')],
      }),
    );
    acknowledge(
      this.function,
      'Athena reads the usage objects of the lake and writes result files with generated names into the results bucket.',
      objectWildcardFinding(lake, usageObjects),
      objectWildcardFinding(results, '*'),
    );
  }
}
