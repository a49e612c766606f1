import { Duration, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IDeliveryStream } from 'aws-cdk-lib/aws-kinesisfirehose';
import { type FunctionUrl, FunctionUrlAuthType, InvokeMode } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ENV, SPILL_PREFIX } from '../../functions/config.ts';
import type { Alerts } from './alerts.ts';
import { PROXY_LAZY_MODULES } from './bundling.ts';
import { acknowledge, objectWildcardFinding, tableIndexFinding } from './nag.ts';
import { gatewayFunction } from './node-function.ts';

export interface ProxyFunctionProps {
  /** Keys and budget counters; read and conditionally updated on every request. */
  readonly table: ITable;
  /** One usage record per request goes here. */
  readonly usageStream: IDeliveryStream;
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
}

/** The gateway itself: a streaming function URL in front of every provider. */
export class ProxyFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly url: FunctionUrl;

  constructor(scope: Construct, id: string, props: ProxyFunctionProps) {
    super(scope, id);
    this.function = gatewayFunction(this, 'Function', {
      entry: 'functions/handlers/proxy.ts',
      description: 'Tollgate proxy: authenticate, budget, forward (streaming), meter, record',
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.minutes(15),
      environment: {
        ...props.settings,
        [ENV.table]: props.table.tableName,
        [ENV.firehoseStream]: props.usageStream.deliveryStreamName,
        [ENV.spillBucket]: props.spillBucket.bucketName,
        [ENV.providerKeysSecretArn]: props.providerKeysSecret.secretArn,
        [ENV.snsTopicArn]: props.alerts.topic.topicArn,
      },
      lazyModules: PROXY_LAZY_MODULES,
    });
    // Agents authenticate with their virtual key inside the request, so the URL itself is public.
    // RESPONSE_STREAM is what lets SSE reach the client as it is produced.
    this.url = this.function.addFunctionUrl({
      authType: FunctionUrlAuthType.NONE,
      invokeMode: InvokeMode.RESPONSE_STREAM,
    });

    props.table.grantReadWriteData(this.function);
    acknowledge(
      this.function,
      "The table's one index holds requests in flight (the proxy writes them through the table itself).",
      tableIndexFinding(props.table),
    );
    props.usageStream.grantPutRecords(this.function);
    this.function.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [props.spillBucket.arnForObjects(`${SPILL_PREFIX}*`)],
      }),
    );
    acknowledge(
      this.function,
      'A spilled batch of usage records gets a generated name under spill/; the proxy may only put there.',
      objectWildcardFinding(props.spillBucket, `${SPILL_PREFIX}*`),
    );
    props.providerKeysSecret.grantRead(this.function);
    props.alerts.grantPublish(this.function);
    this.grantBedrock();
  }

  /**
   * Claude on Amazon Bedrock, signed with this function's role: no provider key. A cross-region inference
   * profile (`us.anthropic.…`, `global.anthropic.…`) needs the profile in the calling region and the model
   * in every region it may route to (`*`, which also matches the empty region of global profiles).
   * https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html
   */
  private grantBedrock(): void {
    const stack = Stack.of(this);
    const models = stack.formatArn({
      service: 'bedrock',
      region: '*',
      account: '',
      resource: 'foundation-model',
      resourceName: 'anthropic.*',
    });
    const profiles = stack.formatArn({
      service: 'bedrock',
      region: '*',
      resource: 'inference-profile',
      resourceName: '*.anthropic.*',
    });
    this.function.addToRolePolicy(
      new PolicyStatement({
        actions: ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'],
        resources: [models, profiles],
      }),
    );
    acknowledge(
      this.function,
      'Agents pick the Claude model per request, and an inference profile routes it to any region of its geography; the grant is limited to Anthropic models and their profiles in this account.',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/anthropic.*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:*:<AWS::AccountId>:inference-profile/*.anthropic.*]',
    );
  }
}
