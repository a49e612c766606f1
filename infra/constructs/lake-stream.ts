/**
 * One table of the lake and the Firehose stream that fills it: a Glue table (Parquet, partitioned by
 * the record's own `dt`, read with partition projection) and a DirectPut stream converting JSON lines
 * against that table. Parquet conversion takes one schema per stream, so each record type (usage,
 * telemetry) gets its own pair, with its own delivery role scoped to its prefix and its table.
 */
import { Duration, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import {
  type CfnTable,
  type Column,
  type Database,
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
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { acknowledge, objectWildcardFinding } from './nag.ts';

/** The partition column; records carry it, the Parquet files do not (it lives in the S3 key). */
export const PARTITION_KEY = 'dt';
const ERROR_PREFIX = 'errors/';

/** Hive types the record schemas emit, mapped to Glue types; an unknown type fails the synth. */
const GLUE_TYPES: Record<string, Type> = {
  STRING: Schema.STRING,
  BIGINT: Schema.BIG_INT,
  DOUBLE: Schema.DOUBLE,
  BOOLEAN: Schema.BOOLEAN,
  TIMESTAMP: Schema.TIMESTAMP,
  'ARRAY<STRING>': Schema.array(Schema.STRING),
};

/** A record schema's columns as Glue data columns (minus the partition key). */
export function glueColumns(table: string, columns: Array<{ name: string; sqlType: string }>): Column[] {
  return columns
    .filter((c) => c.name !== PARTITION_KEY)
    .map(({ name, sqlType }) => {
      const type = GLUE_TYPES[sqlType];
      if (!type) throw new Error(`${table} column ${name}: no Glue type for ${sqlType}`);
      return { name, type };
    });
}

export interface LakeTableSpec {
  /** Construct ids: the usage pair keeps the ids it was first deployed with. */
  ids: { table: string; logs: string; role: string; stream: string };
  tableName: string;
  description: string;
  roleDescription: string;
  /** `usage/`, `telemetry/`: where the stream writes and the table reads. */
  prefix: string;
  columns: Column[];
  bucket: Bucket;
  database: Database;
}

export function lakeTable(scope: Construct, spec: LakeTableSpec): S3Table {
  const { bucket, prefix } = spec;
  return new S3Table(scope, spec.ids.table, {
    tableName: spec.tableName,
    description: spec.description,
    database: spec.database,
    storage: S3TableStorage.fromBucket(bucket),
    s3Prefix: prefix,
    columns: spec.columns,
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
      'storage.location.template': `s3://${bucket.bucketName}/${prefix}${PARTITION_KEY}=\${${PARTITION_KEY}}/`,
    },
  });
}

export function lakeStream(scope: Construct, spec: LakeTableSpec, table: S3Table): DeliveryStream {
  const { bucket, database, prefix, ids } = spec;
  const logGroup = new LogGroup(scope, ids.logs, {
    retention: RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new Role(scope, ids.role, {
    assumedBy: new ServicePrincipal('firehose.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
    }),
    description: spec.roleDescription,
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
      resources: [bucket.bucketArn],
    }),
  );
  const errorPrefix = spec.tableName === 'usage' ? ERROR_PREFIX : `${ERROR_PREFIX}${prefix}`;
  const objectPatterns = [`${prefix}*`, `${errorPrefix}*`];
  role.addToPolicy(
    new PolicyStatement({
      actions: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
      resources: objectPatterns.map((pattern) => bucket.arnForObjects(pattern)),
    }),
  );
  acknowledge(
    role,
    `Firehose writes objects with generated names under the ${spec.tableName} and error prefixes of this one bucket.`,
    ...objectPatterns.map((pattern) => objectWildcardFinding(bucket, pattern)),
  );
  role.addToPolicy(
    new PolicyStatement({
      actions: ['glue:GetTable', 'glue:GetTableVersion', 'glue:GetTableVersions'],
      resources: [database.catalog.catalogArn, database.databaseArn, table.tableArn],
    }),
  );
  role.addToPolicy(
    new PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );

  const destination = new S3Bucket(bucket, {
    role: role.withoutPolicyUpdates(),
    loggingConfig: new EnableLogging(logGroup),
    // Partition by the record's own `dt` (the UTC day of `ts`), not by arrival time, so a request
    // finishing at 23:59:59 is not filed under the next day.
    dynamicPartitioning: { enabled: true },
    processors: [MetadataExtractionProcessor.jq16({ [PARTITION_KEY]: `.${PARTITION_KEY}` })],
    dataOutputPrefix: `${prefix}${PARTITION_KEY}=!{partitionKeyFromQuery:${PARTITION_KEY}}/`,
    errorOutputPrefix: `${errorPrefix}!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/`,
    // Record format conversion requires a buffer of at least 64 MiB.
    bufferingSize: Size.mebibytes(64),
    bufferingInterval: Duration.seconds(300),
    dataFormatConversion: {
      schemaConfiguration: SchemaConfiguration.fromCfnTable(table.node.defaultChild as CfnTable),
      // OpenX parses ISO-8601 `yyyy-MM-dd'T'HH:mm:ss[.S]'Z'` (up to 9 fraction digits) into TIMESTAMP
      // without configuration; the Hive SerDe would need explicit Joda formats.
      // https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion.html
      inputFormat: InputFormat.OPENX_JSON,
      outputFormat: new ParquetOutputFormat(),
    },
  });
  const stream = new DeliveryStream(scope, ids.stream, {
    destination,
    encryption: StreamEncryption.awsOwnedKey(),
  });
  // The role above ignores grants, so the stream must wait for its policy explicitly.
  stream.node.addDependency(role);
  return stream;
}
