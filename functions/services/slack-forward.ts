import type { SNSEvent } from 'aws-lambda';
import { postToSlack, type SlackOptions } from '../adapters/slack.ts';
import { type TopSpendersLookup, withTopSpenders } from '../core/governance/thresholds.ts';
import type { Alert, Notifier } from '../core/ports/alerts.ts';
import { systemClock } from '../core/ports/clock.ts';

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
  const alarm = cloudWatchAlarm(sns.Message);
  if (alarm) return alarm;
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

/**
 * A CloudWatch alarm's own notification (the operator's alarms share the topic), as an alert people
 * can read rather than its JSON: its name, new state and reason. Names end in `-Critical` or `-Warning`.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
 */
function cloudWatchAlarm(message: string): Alert | undefined {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(message) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const { AlarmName: name, NewStateValue: state, NewStateReason: reason } = body;
  if (typeof name !== 'string' || typeof state !== 'string') return undefined;
  const severity = state !== 'ALARM' ? 'info' : name.endsWith('-Critical') ? 'critical' : 'warning';
  return {
    severity,
    subject: `${state}: ${name}`,
    message: typeof reason === 'string' ? reason : `${name} is ${state}`,
    scope: 'operations',
  };
}
