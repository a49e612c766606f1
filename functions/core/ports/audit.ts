/**
 * The admin API's audit trail (adapters/aws/dynamo-audit-log.ts).
 */

/** Who did something through the admin API. */
export type Actor =
  | { type: 'master' }
  | { type: 'user'; user_id: string; key_id: string }
  | { type: 'user'; user_id: string; via: 'session' }
  /** The organisation's IdP, deprovisioning over SCIM with its bearer token (core/scim). */
  | { type: 'scim' };

/** One admin or self-service action: who, what, when. Never a secret, never a request body. */
export interface AuditEntry {
  ts: string;
  actor: Actor;
  /** e.g. `key.generate`, `team.update`. */
  action: string;
  /** What was acted on, e.g. `key:<key_id>`, `team:<team_id>`. */
  target: string;
  /** Which fields changed (names only for keys; values for budgets and limits). */
  details?: Record<string, unknown>;
}

export interface AuditLog {
  append(entry: AuditEntry): Promise<void>;
  /** Newest first, from `since` (ISO) on. */
  list(options: { since: string; limit: number }): Promise<AuditEntry[]>;
}
