import type { SNSEvent } from 'aws-lambda';
import { postToSlack, type SlackOptions } from '../adapters/slack.ts';
import type { Alert } from '../core/ports.ts';

/**
 * The forwarder's work, apart from its Lambda shell: an SNS alert (subject, message, and the `event`,
 * `severity` and `scope` attributes the SNS notifier sets) back into an Alert, posted to Slack.
 * Without a webhook configured it does nothing (email alone was chosen).
 */
export function createSlackForwarder(
  options: Omit<SlackOptions, 'webhookUrl'> & { webhookUrl: string | undefined },
) {
  return async (event: SNSEvent): Promise<{ posted: number }> => {
    const { webhookUrl } = options;
    if (!webhookUrl) return { posted: 0 };
    for (const record of event.Records) await postToSlack(toAlert(record.Sns), { ...options, webhookUrl });
    return { posted: event.Records.length };
  };
}

function toAlert(sns: SNSEvent['Records'][number]['Sns']): Alert {
  const attribute = (name: string) => sns.MessageAttributes?.[name]?.Value;
  const severity = attribute('severity');
  const details = attribute('event');
  return {
    severity: severity === 'critical' || severity === 'warning' ? severity : 'info',
    subject: sns.Subject ?? 'Tollgate alert',
    message: sns.Message,
    scope: attribute('scope') ?? 'unknown',
    ...(details && { details: JSON.parse(details) as Record<string, unknown> }),
  };
}
