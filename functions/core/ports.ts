/**
 * The ports: the narrow interfaces between the pure core and the outside world. Each has one
 * implementation in adapters/aws and one in adapters/local (DynamoDB adapters serve both, since
 * dynalite speaks the DynamoDB API). Nothing here knows about an SDK.
 */
import type { UsageRecord } from './usage/record.ts';

/** A virtual key as stored: never the key itself, only its sha256. Money in micro-dollars. */
export interface VirtualKey {
  /** hex sha256 of the current secret; a regenerated key gets a new one. */
  hash: string;
  /**
   * The key's stable, non-secret identity (the first 12 hex chars of its first hash): what records,
   * logs and budget counters use, so a regenerated key keeps its history and spend.
   */
  key_id: string;
  key_alias: string | null;
  user_id: string | null;
  team_id: string | null;
  /** Model names this key may call; empty means any model. */
  models: string[];
  max_budget_micros: number | null;
  /** LiteLLM-style duration (`1d`, `30d`, `1mo`, `monthly`...) or null for a lifetime budget. */
  budget_duration: string | null;
  metadata: Record<string, unknown>;
  tags: string[];
  /** `subscription` for flat-rate plans: usage is recorded at list price but bills nothing. */
  billing_type: 'usage' | 'subscription';
  /** Requests per minute, and tokens (prompt, cache and output) per minute; null for no limit. */
  rpm_limit: number | null;
  tpm_limit: number | null;
  blocked: boolean;
  created_at: string;
  expires_at: string | null;
  /** A masked form of the key (`sk-...abcd`) that can be shown back to people. */
  key_name: string;
}

export interface KeyStore {
  /** The key whose secret hashes to `hash`; undefined once that secret was regenerated or deleted. */
  get(hash: string): Promise<VirtualKey | undefined>;
  /** Creates the key; throws ConflictError if its hash or its key_id already exists. */
  create(key: VirtualKey): Promise<void>;
  /**
   * Replaces the key with `key.key_id`. With `previousHash` (a regenerated secret) it moves the key to
   * `key.hash`, and `previousHash` stops resolving in the same write. Throws NotFoundError if there is
   * no such key, ConflictError if its secret changed meanwhile (its hash is not the one expected).
   */
  update(key: VirtualKey, previousHash?: string): Promise<void>;
  /** Deletes the key with this key_id, whatever its current secret; throws NotFoundError if there is none. */
  delete(key_id: string): Promise<void>;
  /** Every key, in no particular order (a deployment has hundreds or thousands, not millions). */
  list(): Promise<VirtualKey[]>;
}

/** One budget counter: a scope (key, user, team, org) in one budget period. */
export interface BudgetCounter {
  scope: 'key' | 'user' | 'team' | 'org';
  scope_id: string;
  /** How people know the scope (key alias, team alias...), for messages; never a secret. */
  label: string;
  /** Period identity, e.g. `2026-11` or `lifetime`; part of the counter's key. */
  period: string;
  /** When the counter's period ends (ISO, UTC) or null for lifetime. */
  resets_at: string | null;
  /** Hard limit, or null when the scope is only metered. */
  limit_micros: number | null;
}

export interface CounterState {
  /** Settled spend in the period. */
  spent_micros: number;
  /** Settled spend plus outstanding reservations: what the limit is compared with. */
  committed_micros: number;
}

export interface Reservation {
  counters: BudgetCounter[];
  amount_micros: number;
  /**
   * The limited counter with the least left once this reservation was taken, and what it has left:
   * the budget that binds the request. Null when no counter has a limit.
   */
  binding: { counter: BudgetCounter; remaining_micros: number } | null;
}

export interface BudgetLedger {
  /**
   * Atomically adds `amount_micros` to every counter's committed total, each only if it stays within
   * its limit. All or nothing: on failure what was taken is given back and BudgetExceededError thrown.
   */
  reserve(counters: BudgetCounter[], amount_micros: number): Promise<Reservation>;
  /** Replaces the reservation by the actual cost (which may be zero, or more than reserved). */
  settle(reservation: Reservation, actual_micros: number): Promise<void>;
  read(counter: BudgetCounter): Promise<CounterState>;
}

export interface UsageSink {
  /** Resolves once the records are durably accepted (file written, Firehose acknowledged). */
  write(records: UsageRecord[]): Promise<void>;
}

export type SqlValue = string | number | boolean | null;
export type Row = Record<string, SqlValue>;

export interface QueryEngine {
  /**
   * Runs one SQL text written in the subset Athena (Trino) and DuckDB share, over the table `usage`.
   * Positional `?` parameters.
   */
  query(sql: string, params?: SqlValue[]): Promise<Row[]>;
}

export interface Alert {
  severity: 'info' | 'warning' | 'critical';
  subject: string;
  message: string;
  scope: string;
}

export interface Notifier {
  notify(alert: Alert): Promise<void>;
}

/** The web-standard fetch, narrowed: the upstream call is injectable for tests and fault injection. */
export type UpstreamFetch = (input: string, init: RequestInit) => Promise<Response>;

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export type LogFields = Record<string, unknown>;

/** Structured logging. Never pass request or response bodies, keys or credentials. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export interface TeamMember {
  user_id: string;
  role: 'admin' | 'user';
}

/** A team: a shared budget and model allow-list for the keys that carry its id. Money in micro-dollars. */
export interface Team {
  team_id: string;
  team_alias: string | null;
  /** Model names the team's keys may use; empty means any. Intersected with each key's own list. */
  models: string[];
  max_budget_micros: number | null;
  budget_duration: string | null;
  members: TeamMember[];
  metadata: Record<string, unknown>;
  blocked: boolean;
  created_at: string;
}

export interface TeamStore {
  get(team_id: string): Promise<Team | undefined>;
  /** Creates the team; throws ConflictError if the id is taken. */
  create(team: Team): Promise<void>;
  /** Replaces a team that exists; throws NotFoundError otherwise. */
  update(team: Team): Promise<void>;
  delete(team_id: string): Promise<void>;
  list(): Promise<Team[]>;
}

/** One minute of one scope's rate limits. */
export interface RateWindow {
  /** e.g. `key:<key_id>` */
  scope: string;
  /** The window's start, `YYYY-MM-DDTHH:MM` (UTC); part of the counter's key. */
  window: string;
  resets_at: string;
  rpm: number | null;
  tpm: number | null;
}

export interface RateLimiter {
  /** Counts a request into its window; throws a 429 GatewayError when the window is full. */
  admit(window: RateWindow): Promise<void>;
  /** Adds a finished request's tokens to the window it was admitted in. */
  addTokens(window: RateWindow, tokens: number): Promise<void>;
}
