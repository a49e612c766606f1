import { Duration, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import { CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import {
  type CfnTable,
  type Column,
  Database,
  DataFormat,
  DateIntervalUnit,
  PartitionProjectionConfiguration,
  S3Table,
  S3TableStorage,
  Schema,
  type Type,
} from 'aws-cdk-lib/aws-glue';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  DeliveryStream,
  EnableLogging,
  InputFormat,
  MetadataExtractionProcessor,
  ParquetOutputFormat,
  S3Bucket,
  SchemaConfiguration,
  StreamEncryption,
} from 'aws-cdk-lib/aws-kinesisfirehose';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  AGGREGATE_TABLE,
  AGGREGATES_PREFIX,
  aggregateColumns,
  KINDS,
} from '../../functions/core/analytics/aggregates.ts';
import { usageColumns } from '../../functions/core/usage/record.ts';
import { acknowledge, objectWildcardFinding } from './nag.ts';

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

/** The partition column; records carry it, the Parquet files do not (it lives in the S3 key). */
const PARTITION_KEY = 'dt';
const USAGE_PREFIX = 'usage/';
const ERROR_PREFIX = 'errors/';

/** Hive types that `usageColumns()` emits, mapped to Glue types; an unknown type fails the synth. */
const GLUE_TYPES: Record<string, Type> = {
  STRING: Schema.STRING,
  BIGINT: Schema.BIG_INT,
  BOOLEAN: Schema.BOOLEAN,
  TIMESTAMP: Schema.TIMESTAMP,
  'ARRAY<STRING>': Schema.array(Schema.STRING),
};

/** Data columns of the Glue `usage` table, derived from the usage record schema (minus the partition key). */
export function usageGlueColumns(): Column[] {
  return usageColumns()
    .filter((c) => c.name !== PARTITION_KEY)
    .map(({ name, sqlType }) => {
      const type = GLUE_TYPES[sqlType];
      if (!type) throw new Error(`usage column ${name}: no Glue type for ${sqlType}`);
      return { name, type };
    });
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
        // Retention: records and aggregates expire (a delete marker; the data goes 30 days later with
        // the noncurrent versions, above).
        ...[USAGE_PREFIX, AGGREGATES_PREFIX].map((prefix) => ({
          id: `retention-${prefix.split('/')[0]}`,
          prefix,
          expiration: props.retention ?? Duration.days(400),
        })),
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.databaseName = props.databaseName ?? stackName.replace(/-/g, '_');
    this.database = new Database(this, 'Database', { databaseName: this.databaseName });
    this.table = this.createTable();
    this.aggregatesTable = this.createAggregatesTable();
    this.stream = this.createStream();

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

  private createTable(): S3Table {
    const table = new S3Table(this, 'UsageTable', {
      tableName: 'usage',
      description: 'One row per proxied request (functions/core/usage/record.ts)',
      database: this.database,
      storage: S3TableStorage.fromBucket(this.bucket),
      s3Prefix: USAGE_PREFIX,
      columns: usageGlueColumns(),
      partitionKeys: [{ name: PARTITION_KEY, type: Schema.STRING }],
      dataFormat: DataFormat.PARQUET,
      // Server-side encrypted (SSE-S3); `has_encrypted_data` is only for client-side (CSE-KMS) data.
      hasEncryptedData: false,
      // https://docs.aws.amazon.com/athena/latest/ug/partition-projection-kinesis-firehose-example.html
      partitionProjection: {
        [PARTITION_KEY]: PartitionProjectionConfiguration.date({
          min: '2025-01-01',
          max: 'NOW',
          format: 'yyyy-MM-dd',
          step: { interval: 1, intervalUnit: DateIntervalUnit.DAYS },
        }),
      },
      parameters: {
        'storage.location.template': `s3://${this.bucket.bucketName}/${USAGE_PREFIX}${PARTITION_KEY}=\${${PARTITION_KEY}}/`,
      },
    });
    return table;
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

  private createStream(): DeliveryStream {
    const logGroup = new LogGroup(this, 'DeliveryLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new Role(this, 'DeliveryRole', {
      assumedBy: new ServicePrincipal('firehose.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'Firehose delivery of usage records into the usage lake',
    });
    // Written by hand so the role holds exactly what Firehose needs: the L2 destination's automatic
    // grants add object deletion, legal holds and `glue:GetSchemaVersion` on `*`.
    // https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#using-iam-s3
    role.addToPolicy(
      new PolicyStatement({
        actions: [
          's3:AbortMultipartUpload',
          's3:GetBucketLocation',
          's3:ListBucket',
          's3:ListBucketMultipartUploads',
        ],
        resources: [this.bucket.bucketArn],
      }),
    );
    const objectPatterns = [`${USAGE_PREFIX}*`, `${ERROR_PREFIX}*`];
    role.addToPolicy(
      new PolicyStatement({
        actions: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
        resources: objectPatterns.map((pattern) => this.bucket.arnForObjects(pattern)),
      }),
    );
    acknowledge(
      role,
      'Firehose writes objects with generated names under the usage and error prefixes of this one bucket.',
      ...objectPatterns.map((pattern) => objectWildcardFinding(this.bucket, pattern)),
    );
    role.addToPolicy(
      new PolicyStatement({
        actions: ['glue:GetTable', 'glue:GetTableVersion', 'glue:GetTableVersions'],
        resources: [this.database.catalog.catalogArn, this.database.databaseArn, this.table.tableArn],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );

    const destination = new S3Bucket(this.bucket, {
      role: role.withoutPolicyUpdates(),
      loggingConfig: new EnableLogging(logGroup),
      // Partition by the record's own `dt` (the UTC day of `ts`), not by arrival time, so a request
      // finishing at 23:59:59 is not filed under the next day.
      dynamicPartitioning: { enabled: true },
      processors: [MetadataExtractionProcessor.jq16({ [PARTITION_KEY]: `.${PARTITION_KEY}` })],
      dataOutputPrefix: `${USAGE_PREFIX}${PARTITION_KEY}=!{partitionKeyFromQuery:${PARTITION_KEY}}/`,
      errorOutputPrefix: `${ERROR_PREFIX}!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/`,
      // Record format conversion requires a buffer of at least 64 MiB.
      bufferingSize: Size.mebibytes(64),
      bufferingInterval: Duration.seconds(300),
      dataFormatConversion: {
        schemaConfiguration: SchemaConfiguration.fromCfnTable(this.table.node.defaultChild as CfnTable),
        // OpenX parses ISO-8601 `yyyy-MM-dd'T'HH:mm:ss[.S]'Z'` (up to 9 fraction digits) into TIMESTAMP
        // without configuration; the Hive SerDe would need explicit Joda formats.
        // https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion.html
        inputFormat: InputFormat.OPENX_JSON,
        outputFormat: new ParquetOutputFormat(),
      },
    });
    const stream = new DeliveryStream(this, 'Stream', {
      destination,
      encryption: StreamEncryption.awsOwnedKey(),
    });
    // The role above ignores grants, so the stream must wait for its policy explicitly.
    stream.node.addDependency(role);
    acknowledge(
      Stack.of(this),
      'The Firehose L2 always adds its CIDR-block mapping; only Redshift and Splunk destinations read it.',
      'CloudFormation-Validate::W7001',
    );
    return stream;
  }
}
