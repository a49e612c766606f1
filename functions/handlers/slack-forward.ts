import type { SNSEvent } from 'aws-lambda';
import { postToSlack, type SlackOptions } from '../adapters/slack.ts';
import { type TopSpendersLookup, withTopSpenders } from '../core/governance/thresholds.ts';
import { type Alert, type Notifier, systemClock } from '../core/ports.ts';

/**
 * The forwarder's work, apart from its Lambda shell: an SNS alert (subject, message, and the `event`,
 * `severity` and `scope` attributes the SNS notifier sets) back into an Alert, with the budget's top
 * spenders added when a lookup is given, posted to Slack. Without a webhook it does nothing.
 */
export function createSlackForwarder(
  options: Omit<SlackOptions, 'webhookUrl'> & {
    webhookUrl: string | undefined;
    lookup?: TopSpendersLookup;
    now?: () => Date;
  },
) {
  return async (event: SNSEvent): Promise<{ posted: number }> => {
    const { webhookUrl } = options;
    if (!webhookUrl) return { posted: 0 };
    const slack: Notifier = { notify: (alert) => postToSlack(alert, { ...options, webhookUrl }) };
    const notifier = options.lookup
      ? withTopSpenders(options.lookup, slack, options.now ?? (() => systemClock.now()))
      : slack;
    for (const record of event.Records) await notifier.notify(toAlert(record.Sns));
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
