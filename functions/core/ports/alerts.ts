/**
 * Alerts: what is sent, who may send it once, and where it goes (log, SNS, Slack).
 */

export interface Alert {
  severity: 'info' | 'warning' | 'critical';
  subject: string;
  message: string;
  /** `<scope>:<id>`, e.g. `team:backend`: what subscribers filter on. */
  scope: string;
  /** The structured event behind the alert, for forwarders that format their own message. */
  details?: Record<string, unknown>;
  /** Alerts with the same key are sent once (`team:web|2026-11|80`); see AlertClaims. */
  once_key?: string;
  /** When the claim on `once_key` may be forgotten (the period's end), ISO. */
  once_until?: string | null;
}

/** Who sends an alert: the first to claim its key, with one conditional write, of however many try. */
export interface AlertClaims {
  /** True for exactly one caller per key. */
  claim(key: string, until: string | null): Promise<boolean>;
}

export interface Notifier {
  notify(alert: Alert): Promise<void>;
}
