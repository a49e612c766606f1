/**
 * Small documents the admin API keeps: teams, users and routing rules, each in a DocumentStore
 * (adapters/aws/dynamo-document-store.ts).
 */
import type { RoutingRule } from '../routing/rules.ts';
import type { BudgetSettings } from './budgets.ts';
import type { RateSettings } from './rate-limits.ts';

export interface TeamMember {
  user_id: string;
  role: 'admin' | 'user';
}

/** A team: a shared budget and model allow-list for the keys that carry its id. Money in micro-dollars. */
export interface Team extends BudgetSettings, RateSettings {
  /**
   * Set only on a record read back from the store that no longer reads as written (JSON that does not
   * parse): why, for people. Such a record is listed and may be deleted; it is never served or rewritten.
   */
  invalid?: string;
  team_id: string;
  team_alias: string | null;
  /** Model names the team's keys may use; empty means any. Intersected with each key's own list. */
  models: string[];
  members: TeamMember[];
  /**
   * The user budget a person gets when their first sign-in (OIDC) creates them in this team; absent
   * or null: none, and they may not issue keys until an admin sets one.
   */
  member_max_budget_micros?: number | null;
  member_budget_duration?: string | null;
  metadata: Record<string, unknown>;
  blocked: boolean;
  created_at: string;
}

/** Small documents with an id, all in one partition: teams, users. */
export interface DocumentStore<T> {
  /** The id a document is stored under (`team_id`, `user_id`). */
  idOf(doc: T): string;
  get(id: string): Promise<T | undefined>;
  /** Creates the document; throws ConflictError if the id is taken. */
  create(doc: T): Promise<void>;
  /** Replaces a document that exists; throws NotFoundError otherwise. */
  update(doc: T): Promise<void>;
  delete(id: string): Promise<void>;
  list(): Promise<T[]>;
}

export type TeamStore = DocumentStore<Team>;

/** LiteLLM's roles: admins manage everything, viewers read the org's reports, users their own. */
export type UserRole = 'proxy_admin' | 'proxy_admin_viewer' | 'internal_user' | 'internal_user_viewer';

/** A person: every key carrying their `user_id` also draws on their budget and obeys their models. */
export interface User extends BudgetSettings, RateSettings {
  /**
   * Set only on a record read back from the store that no longer reads as written (JSON that does not
   * parse): why, for people. Such a record is listed and may be deleted; it is never served or rewritten.
   */
  invalid?: string;
  user_id: string;
  user_alias: string | null;
  user_email: string | null;
  user_role: UserRole;
  /** Model names the person's keys may use; empty means any. Intersected with key and team lists. */
  models: string[];
  metadata: Record<string, unknown>;
  blocked: boolean;
  created_at: string;
}

export type UserStore = DocumentStore<User>;

/** Routing rules saved through the admin API (rules from config are not stored). */
export type RuleStore = DocumentStore<RoutingRule>;
