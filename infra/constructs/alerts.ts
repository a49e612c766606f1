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
      // The AWS managed key costs nothing and needs no key policy for in-account publishers. Swap in a
      // customer managed key if CloudWatch alarms or EventBridge ever publish here: they cannot use it.
      masterKey: Alias.fromAliasName(this, 'SnsManagedKey', 'alias/aws/sns'),
      enforceSSL: true,
    });
    if (props.email) this.topic.addSubscription(new EmailSubscription(props.email));
  }
}
