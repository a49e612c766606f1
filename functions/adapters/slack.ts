import { appendFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatUsd } from '../core/money.ts';
import type { Alert, Notifier } from '../core/ports/alerts.ts';
import type { Logger } from '../core/ports/logging.ts';

/**
 * Alerts to a Slack incoming webhook (https://api.slack.com/messaging/webhooks): the readable text,
 * the budget's numbers as fields, and a link to the dashboard. Used by the local runtime directly and,
 * on AWS, by the forwarder function subscribed to the alerts topic.
 */
export function slackPayload(alert: Alert, dashboardUrl?: string): Record<string, unknown> {
  const d = alert.details ?? {};
  const money = (micros: unknown) => (typeof micros === 'number' ? formatUsd(micros) : '—');
  const emoji =
    alert.severity === 'critical'
      ? ':red_circle:'
      : alert.severity === 'warning'
        ? ':large_orange_circle:'
        : ':large_blue_circle:';
  const fields = [
    ['Budget', `${d.scope ?? ''} ${d.label ?? alert.scope}`],
    ['Spent', money(d.spent_micros)],
    ['Limit', money(d.limit_micros)],
    ['Resets', typeof d.resets_at === 'string' ? d.resets_at.slice(0, 10) : '—'],
  ];
  return {
    text: `${alert.subject}: ${alert.message}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${emoji} *${alert.subject}*\n${alert.message}` } },
      { type: 'section', fields: fields.map(([k, v]) => ({ type: 'mrkdwn', text: `*${k}*\n${v}` })) },
      ...(dashboardUrl
        ? [
            {
              type: 'context',
              elements: [{ type: 'mrkdwn', text: `<${dashboardUrl}|Open the Tollgate dashboard>` }],
            },
          ]
        : []),
    ],
  };
}

export interface SlackOptions {
  webhookUrl: string;
  dashboardUrl?: string;
  /** Attempts in all; 5xx, 429, timeouts and connection failures are retried. */
  attempts?: number;
  /** First backoff in ms, doubling, with full jitter. */
  backoffMs?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Posts one alert, retrying what Slack may accept later; throws once every attempt has failed. */
export async function postToSlack(alert: Alert, options: SlackOptions): Promise<void> {
  const { attempts = 4, backoffMs = 500, timeoutMs = 5_000 } = options;
  const send = options.fetch ?? fetch;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await sleep(Math.random() * backoffMs * 2 ** (attempt - 2));
    try {
      const response = await send(options.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(slackPayload(alert, options.dashboardUrl)),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.text();
      if (response.ok) return;
      last = `HTTP ${response.status}`;
      // Anything but a 429 or a 5xx is a payload or webhook problem that retrying will not fix.
      if (response.status !== 429 && response.status < 500) break;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
  }
  throw new Error(`Slack did not take the alert '${alert.subject}': ${last}`);
}

/**
 * The local notifier for Slack: retries, then writes what could not be delivered to a dead-letter
 * file (JSON lines) rather than losing it. Never throws: a proxied request never waits on Slack.
 */
export function createSlackNotifier(
  options: SlackOptions & { deadLetterFile: string; log: Logger },
): Notifier {
  return {
    async notify(alert) {
      try {
        await postToSlack(alert, options);
      } catch (err) {
        options.log.error('alert.slack_dead_letter', { scope: alert.scope, error: String(err) });
        await appendFile(
          options.deadLetterFile,
          `${JSON.stringify({ alert, error: String(err) })}\n`,
          'utf8',
        );
      }
    },
  };
}

/** Every notifier hears every alert; one failing does not stop the others. */
export function fanOut(...notifiers: Notifier[]): Notifier {
  return {
    async notify(alert) {
      const results = await Promise.allSettled(notifiers.map((n) => n.notify(alert)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}
