import { Duration, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import { CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import {
  type Column,
  Database,
  DataFormat,
  DateIntervalUnit,
  PartitionProjectionConfiguration,
  S3Table,
  S3TableStorage,
  Schema,
} from 'aws-cdk-lib/aws-glue';
import type { DeliveryStream } from 'aws-cdk-lib/aws-kinesisfirehose';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ERASURE_STAGING_PREFIX } from '../../functions/adapters/aws/athena-erase.ts';
import {
  AGGREGATE_TABLE,
  AGGREGATES_PREFIX,
  aggregateColumns,
  KINDS,
} from '../../functions/core/analytics/aggregates.ts';
import { telemetryColumns } from '../../functions/core/telemetry/record.ts';
import { usageColumns } from '../../functions/core/usage/record.ts';
import { glueColumns, type LakeTableSpec, lakeStream, lakeTable } from './lake-stream.ts';
import { acknowledge } from './nag.ts';

export interface UsageLakeProps {
  /**
   * Glue database name. Glue and Athena names are lower case with underscores.
   * @default the stack name, lower-cased, `-` replaced by `_` (`tollgate` for the default stack)
   */
  readonly databaseName?: string;
  /**
   * Athena workgroup name.
   * @default the stack name, lower-cased (`tollgate` for the default stack)
   */
  readonly workgroupName?: string;
  /**
   * Per-query scan limit; a runaway dashboard query fails instead of billing a full-lake scan.
   * @default Size.gibibytes(10)
   */
  readonly bytesScannedCutoffPerQuery?: Size;
  /**
   * How long Athena query results are kept.
   * @default Duration.days(30)
   */
  readonly queryResultsExpiration?: Duration;
  /**
   * How long usage records and their daily aggregates are kept, counted from when each object was
   * written (late and re-priced records, and rebuilt aggregates, are kept a little longer).
   * @default Duration.days(400)
   */
  readonly retention?: Duration;
  /**
   * Where the lake and query results buckets write S3 server access logs.
   * @default - none
   */
  readonly accessLogs?: IBucket;
}

/** Data columns of the Glue `usage` table, derived from the usage record schema (minus the partition key). */
export function usageGlueColumns(): Column[] {
  return glueColumns('usage', usageColumns());
}

/** Data columns of the Glue `telemetry` table, from the telemetry record schema. */
export function telemetryGlueColumns(): Column[] {
  return glueColumns('telemetry', telemetryColumns());
}

/**
 * Usage records: Firehose (DirectPut) converts JSON to Parquet against the Glue `usage` table and writes
 * `usage/dt=YYYY-MM-DD/`, partitioned by each record's own `dt`; Athena (engine v3) queries it with
 * partition projection, so no crawler and no `ADD PARTITION`.
 */
export class UsageLake extends Construct {
  public readonly bucket: Bucket;
  public readonly database: Database;
  /** The database's name as a literal, for what must be computed at synth (the views' encoding). */
  public readonly databaseName: string;
  public readonly table: S3Table;
  /** The daily aggregates (`usage_daily`), written by the rollup function with Athena's UNLOAD. */
  public readonly aggregatesTable: S3Table;
  public readonly stream: DeliveryStream;
  /** The agents' own telemetry (OTLP), its own table and stream beside the usage records. */
  public readonly telemetryTable: S3Table;
  public readonly telemetryStream: DeliveryStream;
  public readonly resultsBucket: Bucket;
  public readonly workgroup: CfnWorkGroup;

  constructor(scope: Construct, id: string, props: UsageLakeProps = {}) {
    super(scope, id);
    const stackName = Stack.of(this).stackName.toLowerCase();

    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // Usage records are the billing trail: keep deleted or overwritten objects for a while.
      versioned: true,
      ...(props.accessLogs && { serverAccessLogsBucket: props.accessLogs, serverAccessLogsPrefix: 'lake/' }),
      lifecycleRules: [
        {
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
        // Retention: records, telemetry and aggregates expire (a delete marker; the data goes 30 days
        // later with the noncurrent versions, above).
        ...['usage/', 'telemetry/', AGGREGATES_PREFIX].map((prefix) => ({
          id: `retention-${prefix.split('/')[0]}`,
          prefix,
          expiration: props.retention ?? Duration.days(400),
        })),
        // An erasure's staged rows are removed by its job; a job that failed leaves none for long.
        { id: 'erasure-staging', prefix: ERASURE_STAGING_PREFIX, expiration: Duration.days(7) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.databaseName = props.databaseName ?? stackName.replace(/-/g, '_');
    this.database = new Database(this, 'Database', { databaseName: this.databaseName });
    const lake = { bucket: this.bucket, database: this.database };
    const usage: LakeTableSpec = {
      ...lake,
      ids: { table: 'UsageTable', logs: 'DeliveryLogs', role: 'DeliveryRole', stream: 'Stream' },
      tableName: 'usage',
      description: 'One row per proxied request (functions/core/usage/record.ts)',
      roleDescription: 'Firehose delivery of usage records into the usage lake',
      prefix: 'usage/',
      columns: usageGlueColumns(),
    };
    this.table = lakeTable(this, usage);
    this.stream = lakeStream(this, usage, this.table);
    const telemetry: LakeTableSpec = {
      ...lake,
      ids: {
        table: 'TelemetryTable',
        logs: 'TelemetryDeliveryLogs',
        role: 'TelemetryDeliveryRole',
        stream: 'TelemetryStream',
      },
      tableName: 'telemetry',
      description: 'One row per metric point or event an agent exported (functions/core/telemetry/record.ts)',
      roleDescription: 'Firehose delivery of agent telemetry into the lake',
      prefix: 'telemetry/',
      columns: telemetryGlueColumns(),
    };
    this.telemetryTable = lakeTable(this, telemetry);
    this.telemetryStream = lakeStream(this, telemetry, this.telemetryTable);
    acknowledge(
      Stack.of(this),
      'The Firehose L2 always adds its CIDR-block mapping; only Redshift and Splunk destinations read it.',
      'CloudFormation-Validate::W7001',
    );
    this.aggregatesTable = this.createAggregatesTable();

    this.resultsBucket = new Bucket(this, 'QueryResults', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      lifecycleRules: [{ expiration: props.queryResultsExpiration ?? Duration.days(30) }],
      ...(props.accessLogs && {
        serverAccessLogsBucket: props.accessLogs,
        serverAccessLogsPrefix: 'query-results/',
      }),
    });
    this.workgroup = new CfnWorkGroup(this, 'Workgroup', {
      name: props.workgroupName ?? stackName,
      description: 'Tollgate usage analytics',
      // Lets `cdk destroy` remove the workgroup even when it holds saved queries.
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        bytesScannedCutoffPerQuery: (props.bytesScannedCutoffPerQuery ?? Size.gibibytes(10)).toBytes(),
        publishCloudWatchMetricsEnabled: true,
        resultConfiguration: {
          outputLocation: this.resultsBucket.s3UrlForObject('results/'),
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });

    if (!props.accessLogs)
      for (const bucket of [this.bucket, this.resultsBucket]) {
        acknowledge(
          bucket,
          'Only Firehose (writer) and Athena (reader) touch these buckets, through IAM roles that CloudTrail records; `-c accessLogs=true` adds server access logs.',
          'AwsSolutions-S1',
        );
      }
  }

  /** Partitioned by day, then by kind (projected: no partitions to add); each report reads one kind. */
  private createAggregatesTable(): S3Table {
    const columns = aggregateColumns();
    const partitions = new Set(['dt', 'kind']);
    return new S3Table(this, 'AggregatesTable', {
      tableName: AGGREGATE_TABLE,
      description:
        'Settled days of usage reduced to what the reports read (functions/core/analytics/aggregates.ts)',
      database: this.database,
      storage: S3TableStorage.fromBucket(this.bucket),
      s3Prefix: AGGREGATES_PREFIX,
      columns: columns
        .filter((c) => !partitions.has(c.name))
        .map((c) => ({ name: c.name, type: c.sqlType === 'BIGINT' ? Schema.BIG_INT : Schema.STRING })),
      partitionKeys: [
        { name: 'dt', type: Schema.STRING },
        { name: 'kind', type: Schema.STRING },
      ],
      dataFormat: DataFormat.PARQUET,
      hasEncryptedData: false,
      partitionProjection: {
        dt: PartitionProjectionConfiguration.date({
          min: '2025-01-01',
          max: 'NOW',
          format: 'yyyy-MM-dd',
          step: { interval: 1, intervalUnit: DateIntervalUnit.DAYS },
        }),
        kind: PartitionProjectionConfiguration.enum({ values: Object.keys(KINDS) }),
      },
      parameters: {
        'storage.location.template': `s3://${this.bucket.bucketName}/${AGGREGATES_PREFIX}dt=\${dt}/kind=\${kind}/`,
      },
    });
  }
}
