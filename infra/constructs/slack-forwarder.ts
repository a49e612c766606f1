import { Duration, RemovalPolicy, SecretValue } from 'aws-cdk-lib';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import { LambdaSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../functions/config.ts';
import { acknowledge } from './nag.ts';
import { allow, gatewayFunction } from './node-function.ts';

export interface SlackForwarderProps {
  /** The alerts topic it is subscribed to. */
  readonly topic: Topic;
  /** The stored rollup, whose `top_spenders` name each budget's top spenders in the message. */
  readonly rollup: { bucket: IBucket; key: string };
  /**
   * Linked from every message.
   * @default - no link
   */
  readonly dashboardUrl?: string;
}

/**
 * Alerts to Slack: a function subscribed to the alerts topic posts each one to the incoming webhook
 * whose URL is kept in its own secret (set it with `aws secretsmanager put-secret-value`; until then
 * it holds `none` and the function posts nothing). A post that fails is retried by Lambda (twice) and then kept in a
 * dead-letter queue for 14 days, not lost. AWS Chatbot is the no-code alternative (see the README).
 */
export class SlackForwarder extends Construct {
  public readonly function: NodejsFunction;
  public readonly webhookSecret: Secret;
  public readonly deadLetters: Queue;

  constructor(scope: Construct, id: string, props: SlackForwarderProps) {
    super(scope, id);
    this.webhookSecret = new Secret(this, 'WebhookUrl', {
      description: 'Slack incoming webhook URL for Tollgate alerts (`none`: no Slack)',
      // A placeholder the operator replaces; not a secret until they do.
      secretStringValue: SecretValue.unsafePlainText('none'),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(
      this.webhookSecret,
      'A webhook URL is issued by Slack and cannot be rotated by AWS.',
      'AwsSolutions-SMG4',
    );
    this.deadLetters = new Queue(this, 'DeadLetters', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    acknowledge(
      this.deadLetters,
      'This is itself the dead-letter queue of the forwarder.',
      'AwsSolutions-SQS3',
    );
    this.function = gatewayFunction(this, 'Function', {
      entry: 'functions/lambda/slack-forwarder.ts',
      description: 'Tollgate Slack forwarder: alerts topic to the Slack webhook',
      memorySize: 256,
      timeout: Duration.seconds(60),
      environment: {
        [ENV.slackWebhookSecretArn]: this.webhookSecret.secretArn,
        [ENV.rollupBucket]: props.rollup.bucket.bucketName,
        [ENV.rollupKey]: props.rollup.key,
        ...(props.dashboardUrl && { [ENV.dashboardUrl]: props.dashboardUrl }),
      },
    });
    this.function.configureAsyncInvoke({ retryAttempts: 2 });
    // Lambda's own dead-letter queue catches what still fails after the async retries.
    (this.function.node.defaultChild as { deadLetterConfig?: unknown }).deadLetterConfig = {
      targetArn: this.deadLetters.queueArn,
    };
    // Lambda sends the failed event with the function's role; it needs SendMessage alone.
    allow(this.function, ['sqs:SendMessage'], [this.deadLetters.queueArn]);
    allow(this.function, ['secretsmanager:GetSecretValue'], [this.webhookSecret.secretArn]);
    allow(this.function, ['s3:GetObject'], [props.rollup.bucket.arnForObjects(props.rollup.key)]);
    props.topic.addSubscription(new LambdaSubscription(this.function));
  }
}
