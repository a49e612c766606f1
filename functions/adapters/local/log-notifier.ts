import type { Notifier } from '../../core/ports/alerts.ts';
import type { Logger } from '../../core/ports/logging.ts';

/** Alerts as log lines: what `npm start` does until a Slack webhook is configured. */
export function createLogNotifier(log: Logger): Notifier {
  return {
    async notify(alert) {
      const fields = {
        severity: alert.severity,
        scope: alert.scope,
        message: alert.message,
        ...alert.details,
      };
      if (alert.severity === 'critical') log.warn('alert', fields);
      else log.info('alert', fields);
    },
  };
}
