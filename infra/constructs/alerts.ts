import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Alias } from 'aws-cdk-lib/aws-kms';
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

/** Budget and spend threshold alerts, fanned out to email (and a Slack forwarder later). */
export class Alerts extends Construct {
  public readonly topic: Topic;

  constructor(scope: Construct, id: string, props: AlertsProps = {}) {
    super(scope, id);
    this.topic = new Topic(this, 'Topic', {
      displayName: 'Tollgate alerts',
      // The AWS managed key is free and its key policy admits in-account publishers through SNS. Swap in a
      // customer managed key if CloudWatch alarms or EventBridge ever publish here: they cannot use it.
      masterKey: Alias.fromAliasName(this, 'SnsManagedKey', 'alias/aws/sns'),
      enforceSSL: true,
    });
    if (props.email) this.topic.addSubscription(new EmailSubscription(props.email));
  }

  /**
   * `sns:Publish` on this topic and nothing else. `Topic.grantPublish` would add kms:GenerateDataKey* on
   * every key in the account, which the AWS managed key does not need.
   */
  grantPublish(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({ grantee, actions: ['sns:Publish'], resourceArns: [this.topic.topicArn] });
  }
}
