import { Stack } from 'aws-cdk-lib';
import { Grant, type IGrantable, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface AlertsProps {
  /**
   * Address subscribed to threshold alerts; AWS mails it a confirmation link first.
   * @default - no email subscription
   */
  readonly email?: string;
}

/**
 * Budget and spend threshold alerts and the operator's CloudWatch alarms, fanned out to email and the
 * Slack forwarder.
 */
export class Alerts extends Construct {
  public readonly topic: Topic;
  public readonly key: Key;

  constructor(scope: Construct, id: string, props: AlertsProps = {}) {
    super(scope, id);
    // A customer managed key ($1 a month): CloudWatch alarms cannot publish to a topic under the AWS
    // managed key, whose policy this stack cannot change.
    // https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
    this.key = new Key(this, 'Key', {
      description: 'Tollgate alerts topic',
      enableKeyRotation: true,
    });
    this.key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.topic = new Topic(this, 'Topic', {
      displayName: 'Tollgate alerts',
      masterKey: this.key,
      enforceSSL: true,
    });
    if (props.email) this.topic.addSubscription(new EmailSubscription(props.email));
  }

  /**
   * `sns:Publish` on this topic and the use of its key, nothing else. `Topic.grantPublish` grants the
   * same key actions; spelled out so the role's statements read as what the publisher does.
   */
  grantPublish(grantee: IGrantable): Grant {
    const publish = Grant.addToPrincipal({
      grantee,
      actions: ['sns:Publish'],
      resourceArns: [this.topic.topicArn],
    });
    Grant.addToPrincipal({
      grantee,
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resourceArns: [this.key.keyArn],
    });
    return publish;
  }
}
