import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IDeliveryStream } from 'aws-cdk-lib/aws-kinesisfirehose';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ERASURE_STAGING_PREFIX } from '../../functions/adapters/aws/athena-erase.ts';
import { ERASURES_PARTITION } from '../../functions/adapters/aws/dynamo-erasure-jobs.ts';
import { INFLIGHT_INDEX } from '../../functions/adapters/aws/dynamo-inflight-journal.ts';
import { ENV, SPILL_PREFIX } from '../../functions/config.ts';
import type { Alerts } from './alerts.ts';
import { type AthenaQueryAccess, grantAthenaQueries } from './athena-access.ts';
import { acknowledge, objectWildcardFinding } from './nag.ts';
import { allow, gatewayFunction } from './node-function.ts';

/** Partitions the rollup puts items in: forecast alert claims, erasure jobs, teams, the audit log. */
export const ROLLUP_PUT_PARTITIONS = ['ALERT#*', ERASURES_PARTITION, 'TEAMS', 'AUDIT#*'];
/** Partitions it deletes in: in-flight items, and an erased person's keys and user record. */
export const ROLLUP_DELETE_PARTITIONS = ['INFLIGHT#*', 'KEYS', 'KEY#*', 'USERS'];

export interface RollupsProps extends AthenaQueryAccess {
  /** Keys, people, teams and budget counters: read for budget status and key holders. */
  readonly table: ITable;
  /** Athena database of the usage table. */
  readonly databaseName: string;
  /**
   * How often the rollup is rebuilt.
   * @default Duration.hours(1)
   */
  readonly every?: Duration;
  /**
   * How often requests whose proxy function died (timeout, out of memory) are recorded as lost and their
   * holds settled.
   * @default Duration.minutes(5)
   */
  readonly recoverEvery?: Duration;
  /** Spilled usage records are replayed into this stream before each rollup. */
  readonly usageStream: IDeliveryStream;
  /** Forecast alerts (budgets on pace to run out) are published here. */
  readonly alerts: Alerts;
  /** More environment: the governance settings (budget periods shape the budget status). */
  readonly settings?: Record<string, string>;
}

/**
 * The scheduled rollup: every report on Athena into one JSON object in the lake bucket, which the
 * admin API serves to the dashboard. Run it by hand with `aws lambda invoke --function-name <name> -`.
 */
export class Rollups extends Construct {
  public readonly function: NodejsFunction;
  /** Scheduled runs that failed after Lambda's retries: the event and the error, kept 14 days. */
  public readonly failedRuns: Queue;
  /** The object the rollup is written to. */
  public readonly key = 'rollups/latest.json';

  constructor(scope: Construct, id: string, props: RollupsProps) {
    super(scope, id);
    const bucket = props.usageTable.bucket;
    this.function = gatewayFunction(this, 'Function', {
      entry: 'functions/lambda/rollup.ts',
      description: 'Tollgate rollup: the analytics SQL on Athena into the dashboard document',
      memorySize: 512,
      // Erasure jobs (up to 90 s of starting days, an UNLOAD each), then replay and aggregates (up to
      // 3 min), then the reports.
      timeout: Duration.minutes(10),
      environment: {
        ...props.settings,
        [ENV.table]: props.table.tableName,
        [ENV.athenaWorkgroup]: props.workgroupName,
        [ENV.athenaDatabase]: props.databaseName,
        [ENV.usageTable]: props.usageTable.tableName,
        [ENV.rollupBucket]: bucket.bucketName,
        [ENV.rollupKey]: this.key,
        [ENV.spillBucket]: bucket.bucketName,
        [ENV.lakeBucket]: bucket.bucketName,
        [ENV.firehoseStream]: props.usageStream.deliveryStreamName,
        [ENV.snsTopicArn]: props.alerts.topic.topicArn,
      },
    });
    // Reads: keys, people, teams and budget counters for budget status (GetItem, Query of a partition),
    // and recovery's Query of the `inflight` index for requests whose function died.
    allow(
      this.function,
      ['dynamodb:GetItem', 'dynamodb:Query'],
      [props.table.tableArn, `${props.table.tableArn}/index/${INFLIGHT_INDEX}`],
    );
    // Its writes to the table: claiming a forecast alert (`ALERT#...` items), so each is sent once;
    // and for erasure jobs, the job item, the person's team memberships and the audit entry.
    allow(this.function, ['dynamodb:PutItem'], [props.table.tableArn], {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ROLLUP_PUT_PARTITIONS },
    });
    // Recovery of requests whose proxy function died: settle what they held on their budget counters,
    // give back their parallel slots, and forget their in-flight items.
    allow(this.function, ['dynamodb:UpdateItem'], [props.table.tableArn], {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['BUDGET#*', 'PARALLEL#*'] },
    });
    // Deletes: in-flight items of recovered requests; an erased person's keys (record and lookup)
    // and their user record.
    allow(this.function, ['dynamodb:DeleteItem'], [props.table.tableArn], {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ROLLUP_DELETE_PARTITIONS },
    });
    props.alerts.grantPublish(this.function);
    grantAthenaQueries(this.function, props);
    allow(this.function, ['s3:PutObject'], [bucket.arnForObjects(this.key)]);
    // The daily aggregates: Athena's UNLOAD writes them with this role, which replaces a day whole
    // (list, delete, write) and leaves a start marker under aggregates/started/.
    allow(
      this.function,
      ['s3:PutObject', 's3:DeleteObject', 's3:GetObject', 's3:AbortMultipartUpload'],
      [bucket.arnForObjects('aggregates/*')],
    );
    acknowledge(
      this.function,
      'Athena UNLOAD writes aggregate files with generated names under aggregates/; the function replaces a day whole.',
      objectWildcardFinding(bucket, 'aggregates/*'),
    );
    // Erasure: Athena's UNLOAD writes the rows that stay under erasure/ with this role; they are copied
    // into the partition (read there, written here), and the objects listed before deleted.
    allow(
      this.function,
      ['s3:PutObject', 's3:DeleteObject', 's3:GetObject', 's3:AbortMultipartUpload'],
      [bucket.arnForObjects(`${ERASURE_STAGING_PREFIX}*`)],
    );
    const lakeTables = [props.usageTable, ...(props.telemetryTable ? [props.telemetryTable] : [])];
    allow(
      this.function,
      ['s3:PutObject', 's3:DeleteObject'],
      lakeTables.map((t) => bucket.arnForObjects(`${t.s3Prefix}*`)),
    );
    acknowledge(
      this.function,
      "An erasure rewrites the day partitions holding a person's records: UNLOAD and copies write generated names.",
      objectWildcardFinding(bucket, `${ERASURE_STAGING_PREFIX}*`),
      ...lakeTables.map((t) => objectWildcardFinding(bucket, `${t.s3Prefix}*`)),
    );
    // Replay of spilled records: read and remove them under spill/ (listing comes with the Athena
    // grant on the bucket), and put them to Firehose.
    allow(this.function, ['firehose:PutRecordBatch'], [props.usageStream.deliveryStreamArn]);
    allow(this.function, ['s3:GetObject', 's3:DeleteObject'], [bucket.arnForObjects(`${SPILL_PREFIX}*`)]);
    acknowledge(
      this.function,
      'Spilled usage batches have generated names under spill/; the function reads and removes them after replay.',
      objectWildcardFinding(bucket, `${SPILL_PREFIX}*`),
    );
    // EventBridge invokes asynchronously: a run that still fails after Lambda's two retries is kept
    // here (its event and error) instead of vanishing, and its depth is alarmed (see Monitoring).
    this.failedRuns = new Queue(this, 'FailedRuns', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    acknowledge(
      this.failedRuns,
      'This is itself the on-failure destination of the rollup runs.',
      'AwsSolutions-SQS3',
    );
    this.function.configureAsyncInvoke({
      retryAttempts: 2,
      onFailure: new SqsDestination(this.failedRuns),
    });
    new Rule(this, 'Schedule', {
      description: 'Rebuild the Tollgate dashboard rollup',
      schedule: Schedule.rate(props.every ?? Duration.hours(1)),
      targets: [new LambdaFunction(this.function, { retryAttempts: 2 })],
    });
    new Rule(this, 'Recovery', {
      description: 'Record and settle Tollgate requests whose proxy function died mid-request',
      schedule: Schedule.rate(props.recoverEvery ?? Duration.minutes(5)),
      targets: [
        new LambdaFunction(this.function, {
          retryAttempts: 2,
          event: RuleTargetInput.fromObject({ recover: true }),
        }),
      ],
    });
  }
}
