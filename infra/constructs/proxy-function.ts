import { Duration, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IDeliveryStream } from 'aws-cdk-lib/aws-kinesisfirehose';
import { type CfnFunction, type FunctionUrl, FunctionUrlAuthType, InvokeMode } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ENV, SPILL_PREFIX } from '../../functions/config.ts';
import { BEDROCK_DEFAULT_IDS } from '../../functions/core/pricing/catalog.ts';
import type { Alerts } from './alerts.ts';
import { PROXY_LAZY_MODULES } from './bundling.ts';
import { acknowledge, objectWildcardFinding } from './nag.ts';
import { allow, gatewayFunction } from './node-function.ts';

export interface ProxyFunctionProps {
  /** Keys and budget counters; read and conditionally updated on every request. */
  readonly table: ITable;
  /** One usage record per request goes here. */
  readonly usageStream: IDeliveryStream;
  /** The agents' telemetry the OTLP receiver keeps (`/v1/logs`, `/v1/metrics`) goes here. */
  readonly telemetryStream: IDeliveryStream;
  /** Records Firehose would not take are spilled here (under `spill/`) for the rollup function to replay. */
  readonly spillBucket: IBucket;
  readonly providerKeysSecret: ISecret;
  /** Threshold crossings are published here. */
  readonly alerts: Alerts;
  /**
   * More environment: the governance settings shared with the admin API.
   * @default - none
   */
  readonly settings?: Record<string, string>;
  /**
   * Memory size; CPU scales with it, and the proxy parses SSE while streaming.
   * @default 1024
   */
  readonly memorySize?: number;
  /**
   * Long agent turns stream for minutes; the function URL's own limit is 15 minutes.
   * @default Duration.minutes(15)
   */
  readonly timeout?: Duration;
  /**
   * Concurrent executions reserved for (and capped at) the proxy: a stuck upstream or a runaway agent
   * loop cannot take the account's whole concurrency, and other functions cannot starve the proxy.
   * `undefined` reserves none.
   * @default - none
   */
  readonly reservedConcurrency?: number;
  /**
   * The Bedrock model ids and inference profiles the proxy may invoke (`global.anthropic.…`,
   * `us.anthropic.…`, `anthropic.…`); the role is granted these and nothing else on Bedrock.
   * @default BEDROCK_DEFAULT_IDS: the ids the catalog's short names stand for
   */
  readonly bedrockModelIds?: readonly string[];
}

/**
 * What the proxy does to the table, by the partitions it touches (the adapters compose/aws.ts wires:
 * key store, team and user stores, budget ledger and slice store, rate limiter, in-flight journal,
 * alert claims, routing rules). No Scan, BatchWriteItem, BatchGetItem, transaction or index: the
 * in-flight index is read only by the rollup function's recovery. `test/infra/least-privilege.test.ts`
 * checks this list against the template and against the SDK commands bundled into the proxy.
 */
export const PROXY_TABLE_ACCESS: ReadonlyArray<{ action: string; partitions: readonly string[] }> = [
  // Key lookups by hash and by id, teams, people, budget counters, rate windows, parallel slots.
  {
    action: 'dynamodb:GetItem',
    partitions: ['KEY#*', 'KEYS', 'TEAMS', 'USERS', 'BUDGET#*', 'RATE#*', 'PARALLEL#*'],
  },
  // The routing rules saved through the admin API: one partition.
  { action: 'dynamodb:Query', partitions: ['ROUTES'] },
  // Reserve and settle budgets (slices and per-request holds), count rate windows, take parallel slots.
  { action: 'dynamodb:UpdateItem', partitions: ['BUDGET#*', 'RATE#*', 'PARALLEL#*'] },
  // Requests in flight (for recovery), and threshold alerts claimed once.
  { action: 'dynamodb:PutItem', partitions: ['INFLIGHT#*', 'ALERT#*'] },
  // A request that recorded and settled itself forgets its in-flight item.
  { action: 'dynamodb:DeleteItem', partitions: ['INFLIGHT#*'] },
];

/** The gateway itself: a streaming function URL in front of every provider. */
export class ProxyFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly url: FunctionUrl;

  constructor(scope: Construct, id: string, props: ProxyFunctionProps) {
    super(scope, id);
    this.function = gatewayFunction(this, 'Function', {
      entry: 'functions/lambda/proxy.ts',
      description: 'Tollgate proxy: authenticate, budget, forward (streaming), meter, record',
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.minutes(15),
      environment: {
        ...props.settings,
        [ENV.table]: props.table.tableName,
        [ENV.firehoseStream]: props.usageStream.deliveryStreamName,
        [ENV.telemetryStream]: props.telemetryStream.deliveryStreamName,
        [ENV.spillBucket]: props.spillBucket.bucketName,
        [ENV.providerKeysSecretArn]: props.providerKeysSecret.secretArn,
        [ENV.snsTopicArn]: props.alerts.topic.topicArn,
      },
      lazyModules: PROXY_LAZY_MODULES,
    });
    if (props.reservedConcurrency !== undefined)
      (this.function.node.defaultChild as CfnFunction).reservedConcurrentExecutions =
        props.reservedConcurrency;
    // Agents authenticate with their virtual key inside the request, so the URL itself is public.
    // RESPONSE_STREAM is what lets SSE reach the client as it is produced.
    this.url = this.function.addFunctionUrl({
      authType: FunctionUrlAuthType.NONE,
      invokeMode: InvokeMode.RESPONSE_STREAM,
    });

    for (const { action, partitions } of PROXY_TABLE_ACCESS)
      allow(this.function, [action], [props.table.tableArn], {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...partitions] },
      });
    // The firehose sink sends batches only (PutRecordBatch), never PutRecord.
    allow(
      this.function,
      ['firehose:PutRecordBatch'],
      [props.usageStream.deliveryStreamArn, props.telemetryStream.deliveryStreamArn],
    );
    allow(this.function, ['s3:PutObject'], [props.spillBucket.arnForObjects(`${SPILL_PREFIX}*`)]);
    acknowledge(
      this.function,
      'A spilled batch of usage records gets a generated name under spill/; the proxy may only put there.',
      objectWildcardFinding(props.spillBucket, `${SPILL_PREFIX}*`),
    );
    // Read once at cold start; `grantRead` would add DescribeSecret, which nothing calls.
    allow(this.function, ['secretsmanager:GetSecretValue'], [props.providerKeysSecret.secretArn]);
    props.alerts.grantPublish(this.function);
    this.grantBedrock(props.bedrockModelIds ?? [...BEDROCK_DEFAULT_IDS.values()]);
  }

  /**
   * Claude on Amazon Bedrock, signed with this function's role: no provider key. Invoking through a
   * cross-region inference profile is allowed on the profile in the calling region and on the model in
   * every region the profile may route to; see `bedrockResources`.
   * https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html
   */
  private grantBedrock(modelIds: readonly string[]): void {
    const resources = bedrockResources(Stack.of(this), modelIds);
    allow(
      this.function,
      ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'],
      resources.map((r) => r.arn),
    );
    const wildcards = resources.filter((r) => r.finding).map((r) => r.finding as string);
    if (wildcards.length > 0)
      acknowledge(
        this.function,
        "A cross-region inference profile routes a request to the model in any region of its geography (every region for `global.`), so the model's ARN names the geography's regions by wildcard; the model and the profile are exact.",
        ...wildcards,
      );
  }
}

/**
 * Regions a geographic inference profile may route to, as an ARN region pattern. `global.` profiles
 * route to any commercial region and are authorised on the model with an empty region too, which `*`
 * also matches. https://docs.aws.amazon.com/bedrock/latest/userguide/global-cross-region-inference.html
 */
const PROFILE_REGIONS: Record<string, string> = {
  global: '*',
  us: 'us-*',
  'us-gov': 'us-gov-*',
  eu: 'eu-*',
  apac: 'ap-*',
  jp: 'ap-northeast-*',
  au: 'ap-southeast-*',
  ca: 'ca-*',
};

/** `[<geography>.]<vendor>.<model>`: a profile carries its geography before the vendor. */
const BEDROCK_ID = /^(?:([a-z]+(?:-[a-z]+)?)\.)?([a-z0-9-]+\.[A-Za-z0-9:_-]+)$/;

/**
 * The resources `bedrock:InvokeModel*` needs for each id: an inference profile (`us.anthropic.…`) in
 * this account and region plus its model in the profile's regions; a model id (`anthropic.…`) in this
 * region only. Each carries the cdk-nag finding its wildcard raises, if it has one.
 */
export function bedrockResources(
  stack: Stack,
  modelIds: readonly string[],
): Array<{ arn: string; finding?: string }> {
  const out = new Map<string, { arn: string; finding?: string }>();
  for (const id of modelIds) {
    const match = BEDROCK_ID.exec(id);
    if (!match) throw new Error(`bedrockModels: '${id}' is not a Bedrock model id or inference profile`);
    const [, geography, model] = match as unknown as [string, string | undefined, string];
    if (geography === undefined) {
      const arn = stack.formatArn({
        service: 'bedrock',
        account: '',
        resource: 'foundation-model',
        resourceName: model,
      });
      out.set(`m:${model}@`, { arn });
      continue;
    }
    const regions = PROFILE_REGIONS[geography];
    if (!regions)
      throw new Error(
        `bedrockModels: '${id}': unknown inference profile geography '${geography}' (known: ${Object.keys(PROFILE_REGIONS).join(', ')})`,
      );
    out.set(`p:${id}`, {
      arn: stack.formatArn({ service: 'bedrock', resource: 'inference-profile', resourceName: id }),
    });
    out.set(`m:${model}@${regions}`, {
      arn: stack.formatArn({
        service: 'bedrock',
        region: regions,
        account: '',
        resource: 'foundation-model',
        resourceName: model,
      }),
      finding: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:${regions}::foundation-model/${model}]`,
    });
  }
  return [...out.values()];
}
