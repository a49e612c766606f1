import { Stack } from 'aws-cdk-lib';
import type { S3Table } from 'aws-cdk-lib/aws-glue';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { AGGREGATE_TABLE, AGGREGATES_PREFIX } from '../../functions/core/analytics/aggregates.ts';
import { acknowledge, objectWildcardFinding } from './nag.ts';

export interface AthenaQueryAccess {
  workgroupName: string;
  /** The Glue `usage` table; its bucket and prefix hold the Parquet files Athena reads. */
  usageTable: S3Table;
  /** The Glue `telemetry` table in the same bucket and database, for the outcome reports. */
  telemetryTable?: S3Table;
  queryResultsBucket: IBucket;
}

/**
 * What running the analytics SQL on Athena needs, scoped: Athena runs a query with the caller's
 * permissions, so the caller needs the workgroup, the Glue table, read on the usage objects only, and
 * the results bucket. https://docs.aws.amazon.com/athena/latest/ug/s3-permissions.html
 */
export function grantAthenaQueries(fn: IGrantable & IConstruct, access: AthenaQueryAccess): void {
  const stack = Stack.of(fn);
  const { usageTable, queryResultsBucket: results } = access;
  const lake = usageTable.bucket;
  const tables = [usageTable, ...(access.telemetryTable ? [access.telemetryTable] : [])];
  // The reports read the daily aggregates beside the raw records (core/analytics/aggregates.ts).
  const objects = [...tables.map((t) => `${t.s3Prefix}*`), `${AGGREGATES_PREFIX}*`];
  const aggregatesTable = stack.formatArn({
    service: 'glue',
    resource: 'table',
    resourceName: `${usageTable.database.databaseName}/${AGGREGATE_TABLE}`,
  });
  const statements = [
    new PolicyStatement({
      actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults'],
      resources: [
        stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: access.workgroupName }),
      ],
    }),
    new PolicyStatement({
      actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions'],
      resources: [
        usageTable.database.catalog.catalogArn,
        usageTable.database.databaseArn,
        ...tables.map((t) => t.tableArn),
        aggregatesTable,
      ],
    }),
    new PolicyStatement({ actions: ['s3:GetBucketLocation', 's3:ListBucket'], resources: [lake.bucketArn] }),
    new PolicyStatement({ actions: ['s3:GetObject'], resources: objects.map((o) => lake.arnForObjects(o)) }),
    new PolicyStatement({
      actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
      resources: [results.bucketArn],
    }),
    new PolicyStatement({
      actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      resources: [results.arnForObjects('*')],
    }),
  ];
  for (const statement of statements) fn.grantPrincipal.addToPrincipalPolicy(statement);
  acknowledge(
    fn,
    'Athena reads the usage objects of the lake and writes result files with generated names into the results bucket.',
    ...objects.map((o) => objectWildcardFinding(lake, o)),
    objectWildcardFinding(results, '*'),
  );
}
