import type { SNSClient } from '@aws-sdk/client-sns';
import type { Notifier } from '../../core/ports.ts';

/** SNS subjects are at most 100 printable ASCII characters. */
const MAX_SUBJECT = 100;

/**
 * Alerts to the SNS topic: the readable text as the message (what an email subscription shows), the
 * event as JSON in a message attribute, and `severity` and `scope` as attributes that subscriptions
 * can filter on.
 */
export function createSnsNotifier(
  client: () => Promise<SNSClient>,
  topicArn: string,
  dashboardUrl?: string,
): Notifier {
  return {
    async notify(alert) {
      // Loaded on the first alert, not at cold start (on-first-use.ts).
      const [{ PublishCommand }, sns] = await Promise.all([import('@aws-sdk/client-sns'), client()]);
      await sns.send(
        new PublishCommand({
          TopicArn: topicArn,
          Subject: alert.subject.replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_SUBJECT),
          Message: dashboardUrl ? `${alert.message}\n\nDashboard: ${dashboardUrl}` : alert.message,
          MessageAttributes: {
            severity: { DataType: 'String', StringValue: alert.severity },
            scope: { DataType: 'String', StringValue: alert.scope },
            ...(alert.details && {
              event: { DataType: 'String', StringValue: JSON.stringify(alert.details) },
            }),
          },
        }),
      );
    },
  };
}
