import { Duration } from 'aws-cdk-lib';
import type { CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { S3Table } from 'aws-cdk-lib/aws-glue';
import { type FunctionUrl, FunctionUrlAuthType, HttpMethod, InvokeMode } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ENV } from '../../functions/config.ts';
import { grantAthenaQueries } from './athena-access.ts';
import { allow, gatewayFunction } from './node-function.ts';

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
  /** The Glue `telemetry` table the outcome reports join to usage. */
  readonly telemetryTable?: S3Table;
  /**
   * Browser origins allowed to call the API (the dashboard).
   * The API authenticates with a bearer token, not cookies, so an open origin grants no ambient authority.
   * @default ['*']
   */
  readonly allowedOrigins?: string[];
  /**
   * Served from the dashboard's origin only (behind its CloudFront distribution, `DashboardSite.serveApi`):
   * the function URL answers no CORS, and the environment carries sign-in's settings.
   * @default false
   */
  readonly sameOrigin?: boolean;
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
  /**
   * Where the rollup function stores the dashboard's rollup; the API may read that one object.
   * @default - no rollup: `GET /api/rollup` answers 404
   */
  readonly rollup?: { bucket: IBucket; key: string };
  /**
   * The secret holding the org IdP's SCIM bearer token, read at cold start: `/scim/v2/` is on.
   * @default - SCIM off
   */
  readonly scimTokenSecretArn?: string;
}

/** Keys, teams, users, budgets and usage reports (LiteLLM-compatible routes) behind a buffered function URL. */
export class AdminApi extends Construct {
  public readonly function: NodejsFunction;
  public readonly url: FunctionUrl;

  constructor(scope: Construct, id: string, props: AdminApiProps) {
    super(scope, id);
    const workgroupName = props.workgroup.ref;
    this.function = gatewayFunction(this, 'Function', {
      entry: 'functions/lambda/admin.ts',
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
        ...(props.rollup && {
          [ENV.rollupBucket]: props.rollup.bucket.bucketName,
          [ENV.rollupKey]: props.rollup.key,
        }),
        ...(props.scimTokenSecretArn && { [ENV.scimTokenSecretArn]: props.scimTokenSecretArn }),
      },
    });
    this.url = this.function.addFunctionUrl({
      authType: FunctionUrlAuthType.NONE,
      invokeMode: InvokeMode.BUFFERED,
      // Function URLs answer preflight requests themselves; `allowedMethods` entries are at most six
      // characters, so OPTIONS is neither needed nor accepted.
      ...(!props.sameOrigin && {
        cors: {
          allowedOrigins: props.allowedOrigins ?? ['*'],
          allowedMethods: [HttpMethod.GET, HttpMethod.POST, HttpMethod.DELETE],
          allowedHeaders: ['authorization', 'content-type', 'x-api-key'],
          maxAge: Duration.hours(1),
        },
      }),
    });

    // Keys, teams, people, routing rules and the audit log: read, listed (one partition each), written
    // whole and deleted; budget counters read. Never an update in place, a scan, a batch or the index.
    allow(
      this.function,
      ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
      [props.table.tableArn],
    );
    // Read once at cold start; `grantRead` would add DescribeSecret, which nothing calls.
    allow(this.function, ['secretsmanager:GetSecretValue'], [props.masterKeySecret.secretArn]);
    if (props.scimTokenSecretArn)
      allow(this.function, ['secretsmanager:GetSecretValue'], [props.scimTokenSecretArn]);
    grantAthenaQueries(this.function, {
      workgroupName,
      usageTable: props.usageTable,
      telemetryTable: props.telemetryTable,
      queryResultsBucket: props.queryResultsBucket,
    });
    // The dashboard's rollup, written hourly by the rollup function.
    if (props.rollup)
      allow(this.function, ['s3:GetObject'], [props.rollup.bucket.arnForObjects(props.rollup.key)]);
  }
}
