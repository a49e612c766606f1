/**
 * The ports: the narrow interfaces between the pure core and the outside world. Each has one
 * implementation in adapters/aws and one in adapters/local (DynamoDB adapters serve both, since
 * dynalite speaks the DynamoDB API). Nothing here knows about an SDK.
 */
import type { Rollup } from './analytics/rollup.ts';
import type { MetricDimension, MetricName } from './metrics.ts';
import type { RoutingRule } from './routing/rules.ts';
import type { UsageRecord } from './usage/record.ts';

/**
 * How a budget holds its limit. `strict` (the default) reserves a request's worst case, so settled
 * spend never passes the limit. `fair` reserves an expected cost, so agents asking for huge
 * `max_tokens` in parallel are not locked out near the end; the overshoot bound is in
 * governance/budgets.ts and the README.
 */
export type BudgetMode = 'strict' | 'fair';

/** A budget on a part of a key's traffic: one model (`model_max_budget`) or one provider. */
export interface ScopedBudget {
  limit_micros: number;
  /** LiteLLM-style duration, or null for a lifetime budget. */
  duration: string | null;
}

/** What a budget owner (key, user, team, org) sets on itself. Money in micro-dollars. */
export interface BudgetSettings {
  max_budget_micros: number | null;
  /** Crossing it raises an alert event; it never refuses a request. */
  soft_budget_micros: number | null;
  /** LiteLLM-style duration (`1d`, `30d`, `1mo`, `monthly`...) or null for a lifetime budget. */
  budget_duration: string | null;
  budget_mode: BudgetMode;
}

/** Per-scope rate limits; null for no limit. */
export interface RateSettings {
  /** Requests per minute, and tokens (prompt, cache and output) per minute. */
  rpm_limit: number | null;
  tpm_limit: number | null;
  /** Requests in flight at once. */
  max_parallel_requests: number | null;
}

/** A virtual key as stored: never the key itself, only its sha256. Money in micro-dollars. */
export interface VirtualKey extends BudgetSettings, RateSettings {
  /**
   * Set only on a record read back from the store that no longer reads as written (JSON that does not
   * parse): why, for people. Such a record is listed and may be deleted; it is never served or rewritten.
   */
  invalid?: string;
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
  /** Budgets on this key's use of one model (LiteLLM's `model_max_budget`), by model name. */
  model_max_budget: Record<string, ScopedBudget>;
  /** Budgets on this key's use of one provider, by provider name. */
  provider_max_budget: Record<string, ScopedBudget>;
  metadata: Record<string, unknown>;
  tags: string[];
  /** `subscription` for flat-rate plans: usage is recorded at list price but bills nothing. */
  billing_type: 'usage' | 'subscription';
  blocked: boolean;
  created_at: string;
  expires_at: string | null;
  /** A masked form of the key (`sk-...abcd`) that can be shown back to people. */
  key_name: string;
  /**
   * For a key a person issued themselves (self-service): the key_id of the admin-issued key at the root
   * of what they issued it with. It stops when that key stops, and spends from that key's budget when
   * the person has no user budget. Null for keys an admin made.
   */
  budget_parent: string | null;
}

export interface KeyStore {
  /** The key whose secret hashes to `hash`; undefined once that secret was regenerated or deleted. */
  get(hash: string): Promise<VirtualKey | undefined>;
  /** The key with this stable key_id, whatever its current secret; undefined when there is none. */
  getById(key_id: string): Promise<VirtualKey | undefined>;
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

export type BudgetScope = 'org' | 'team' | 'user' | 'key' | 'key_model' | 'key_provider';

/** One budget counter: a scope in one budget period. */
export interface BudgetCounter {
  scope: BudgetScope;
  /** The owner's id; `<key_id>/<model>` and `<key_id>/<provider>` for the key×model and key×provider scopes. */
  scope_id: string;
  /** How people know the scope (key alias, team alias...), for messages; never a secret. */
  label: string;
  /** Period identity, e.g. `2026-11` or `lifetime`; part of the counter's key. */
  period: string;
  /** When the counter's period began (ISO, UTC) or null for lifetime. */
  starts_at: string | null;
  /** When the counter's period ends (ISO, UTC) or null for lifetime. */
  resets_at: string | null;
  /** Hard limit, or null when the scope is only metered. */
  limit_micros: number | null;
  mode: BudgetMode;
  /** The owner's soft budget: crossing it is an alert event, never a refusal. */
  soft_limit_micros: number | null;
}

export interface CounterState {
  /** Settled spend in the period. */
  spent_micros: number;
  /** Settled spend plus outstanding reservations: what the limit is compared with. */
  committed_micros: number;
  /** Fair counters: settled spend plus outstanding worst cases, what the ceiling is compared with. */
  worst_committed_micros: number;
}

/** What one request reserves on one counter (strict and fair counters reserve different amounts). */
export interface Claim {
  counter: BudgetCounter;
  /** Counted against the limit: the worst case on a strict counter, the expected cost on a fair one. */
  amount_micros: number;
  /**
   * The request's worst case, counted on every counter — so a budget switched to `fair` mid-period
   * knows the worst cases already in flight — and held under `ceiling_micros` where that is set.
   */
  worst_micros: number;
  /** Fair counters: the most that settled spend plus worst cases in flight may reach. */
  ceiling_micros: number | null;
}

/**
 * A reservation's identity and deadline. A request that never settles (its invocation crashed or was
 * frozen) leaves its reservation behind; past `expires_at` the ledger releases it by itself, so it
 * cannot become phantom spend.
 */
export interface Lease {
  id: string;
  expires_at: Date;
}

export interface Reservation {
  lease_id: string;
  claims: Claim[];
  /**
   * The limited counter with the least left once this reservation was taken, and what it has left:
   * the budget that binds the request. Null when no counter has a limit.
   */
  binding: { counter: BudgetCounter; remaining_micros: number } | null;
  /**
   * Where it is held: `lease` — a conditional write per counter under `lease_id` (the per-request
   * ledger); `slice` — taken in memory from the slices of `holder` (the leased ledger), settled in the
   * holder's batch `batch` once it settles. Absent means `lease`.
   */
  via?: 'lease' | 'slice';
  holder?: string;
  batch?: number;
}

/** A counter's settled spend just before and just after one settlement: where thresholds are crossed. */
export interface Settlement {
  counter: BudgetCounter;
  spent_before_micros: number;
  spent_after_micros: number;
}

export interface BudgetLedger {
  /**
   * Atomically adds each claim's amount to its counter's committed total, each only if it stays within
   * the counter's limit, under `lease`. All or nothing: on failure what was taken is given back and
   * BudgetExceededError thrown. A counter held full by expired leases releases them and is tried again.
   */
  reserve(claims: Claim[], lease: Lease): Promise<Reservation>;
  /**
   * Replaces the reservation by the actual cost (which may be zero, or more than reserved) on every
   * counter, also when its lease has already expired and been released. Nothing reaches a counter
   * before `after` resolves (the request's outcome is journaled by then), while what the call fixes —
   * a slice-held settlement's `batch` — is fixed at once, so the journal can name it.
   */
  settle(reservation: Reservation, actual_micros: number, after?: Promise<void>): Promise<Settlement[]>;
  /**
   * Recovery, for a request that died holding `lease_id`: the worst case it holds when every counter
   * holds the lease (it finished reserving, so it may have called the provider), else null.
   */
  leaseHeld(counters: BudgetCounter[], lease_id: string): Promise<number | null>;
  /**
   * Recovery's settle of a dead request's lease, amounts read from the counters: to `actual_micros` on
   * each counter holding it, or — with null — what any counter holds is given back. Idempotent.
   */
  settleLease(counters: BudgetCounter[], lease_id: string, actual_micros: number | null): Promise<void>;
  read(counter: BudgetCounter): Promise<CounterState>;
}

/** What a holder holds on a counter: against its limit (`a`) and, on a fair counter, its ceiling (`w`). */
export interface Amounts {
  a: number;
  w: number;
}

/** A counter as a slice holder last saw it. */
export interface SliceState {
  spent_micros: number;
  committed_micros: number;
  worst_micros: number;
  /** This holder's slice on it, or null when it has none (never had, given back, or reclaimed). */
  held: Amounts | null;
  /** The last batch of this holder's settlements the counter applied (0: none). */
  batch: number;
  /** Holders with a live slice on the counter, this one included (holder ids start with `h-`). */
  holders: number;
  /** Set by a grow the limit refused. */
  refused?: boolean;
  /** Set by a grow that made the slice anew (none was there, or it had been reclaimed). */
  created?: boolean;
}

/** Settlements a holder applies to one counter at once: their cost, and what its slice gives back. */
export interface FlushBatch {
  /** Increasing per holder; a batch applies once, however often its write is retried. */
  id: number;
  cost: number;
  requests: number;
  /** Taken off the holder's slice (and off the counter's committed total with the cost added). */
  release: Amounts;
}

/**
 * Budget slices (core/governance/leased-ledger.ts): a holder — a process, a Lambda execution
 * environment — takes part of a counter with one conditional write and admits requests against it in
 * memory. Every write keeps settled spend plus everything held within the limit.
 */
export interface SliceStore {
  /**
   * Grows the holder's slice by `by` if the counter can afford it (else `refused`), until `expiresAt`.
   * A slice made anew records `lastBatch`, the holder's last flushed batch.
   */
  grow(
    counter: BudgetCounter,
    holder: string,
    by: Amounts,
    ceiling: number | null,
    expiresAt: Date,
    lastBatch: number,
  ): Promise<SliceState>;
  /** Applies a batch of settlements; a batch that landed already is a no-op. */
  flush(
    counter: BudgetCounter,
    holder: string,
    batch: FlushBatch,
    expiresAt: Date,
  ): Promise<{ state: SliceState; settlement: Settlement }>;
  /** Gives the holder's whole slice back (`amounts` is what it holds). */
  release(counter: BudgetCounter, holder: string, amounts: Amounts): Promise<void>;
  read(counter: BudgetCounter, holder: string): Promise<SliceState>;
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

/** Where the dashboard's rollup is kept: S3 on AWS (built hourly), memory locally (built on demand). */
export interface RollupStore {
  /** The newest rollup, or undefined when none has been built yet. */
  latest(): Promise<Rollup | undefined>;
}

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

/** The web-standard fetch, narrowed: the upstream call is injectable for tests and fault injection. */
export type UpstreamFetch = (input: string, init: RequestInit) => Promise<Response>;

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * Operational metrics: what an operator alarms and graphs on (core/metrics.ts names them all). A
 * dimension names one of a few fixed values (an outcome, a budget scope, a provider), never a key, a
 * person, a model or anything from a request body. Adding a point never fails and never waits.
 */
export interface Metrics {
  add(name: MetricName, value: number, dimension?: MetricDimension): void;
}

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

/** Who did something through the admin API. */
export type Actor = { type: 'master' } | { type: 'user'; user_id: string; key_id: string };

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

/** A scope's limit on requests in flight at once. */
export interface ParallelSlot {
  /** e.g. `key:<key_id>` */
  scope: string;
  max: number;
}

/** A rate window as its item last said: requests counted in it, and tokens of requests finished. */
export interface WindowState {
  requests: number;
  tokens: number;
}

/**
 * Rate windows taken in chunks (core/governance/leased-limiter.ts): a holder counts `n` requests into a
 * window at once, if the window's limits allow them all, and admits them in memory.
 */
export interface RateQuotaStore {
  /** Counts `n` requests into the window if it stays within its rpm and under its tpm; null if not. */
  takeRequests(window: RateWindow, n: number): Promise<WindowState | null>;
}

/**
 * A scope's parallel slots as its item last said: every slot taken, those the asking holder's lease
 * holds, and how many instances hold some.
 */
export interface SlotState {
  inflight: number;
  held: number;
  holders: number;
}

/**
 * Parallel slots held by an instance (`holder`) rather than per request: one lease on the scope's item
 * holding `n` slots, counted in the same `inflight` total as per-request slots, so the sum of all slots
 * taken never passes the scope's max.
 */
export interface SlotStore {
  /** Adds `n` slots to the holder's lease if the scope stays within its max; null if it would not. */
  takeSlots(slot: ParallelSlot, holder: string, n: number, expiresAt: Date): Promise<SlotState | null>;
  /** Gives back every slot the holder holds (a dead holder's, on recovery). */
  dropSlots(slot: ParallelSlot, holder: string): Promise<void>;
  /** Gives `n` of the holder's slots back (0 renews its lease); false when its lease is gone. */
  returnSlots(slot: ParallelSlot, holder: string, n: number, expiresAt: Date): Promise<boolean>;
}

export interface RateLimiter {
  /** Counts a request into its window; throws a 429 GatewayError when the window is full. */
  admit(window: RateWindow): Promise<void>;
  /** Adds a finished request's tokens to the window it was admitted in. */
  addTokens(window: RateWindow, tokens: number): Promise<void>;
  /**
   * Takes one of the scope's parallel slots under `lease`; throws a 429 GatewayError when all are
   * taken (slots held by expired leases are released first).
   */
  acquire(slot: ParallelSlot, lease: Lease): Promise<void>;
  /** Gives the slot back; a no-op when its lease had already expired and been released. */
  release(slot: ParallelSlot, lease_id: string): Promise<void>;
}

/** What one attempt of a request may hold on budget counters: its lease, on each of these counters. */
export interface InflightHold {
  lease_id: string;
  counters: BudgetCounter[];
}

/**
 * A request in flight, made durable before it reserves budget and while its provider call starts, so
 * that a process killed mid-request (kill -9 locally; a Lambda timeout or OOM on AWS) still leaves its
 * record and frees what it held. See core/usage/recover.ts for how each moment of death is finished.
 */
export interface InflightEntry {
  request_id: string;
  /** The process or execution environment that serves it. */
  holder: string;
  /** After this the request cannot still be running: its upstream deadline, plus a grace. ISO. */
  expires_at: string;
  /** The record it leaves if it never finished: outcome `lost`, usage estimated, cost its worst case. */
  lost: UsageRecord;
  /** Each attempt's lease and counters, the latest last (a failed attempt gave its hold back). */
  holds: InflightHold[];
  /** The latest attempt's reservation, once it holds one. */
  reservation?: Reservation;
  /** Parallel slots held under the lease `request_id`. */
  slots: ParallelSlot[];
  /** Set as it finishes, before it settles and records: its own record and reservation. */
  final?: { record: UsageRecord; reservation: Reservation | null };
}

export interface InflightJournal {
  /**
   * Resolves once the entry is durable; a second begin for the same request replaces the first. The
   * journal stamps its own holder.
   */
  begin(entry: Omit<InflightEntry, 'holder' | 'final'>): Promise<void>;
  /** The request holds its reservation (per request, or from the holder's slices). */
  reserved(request_id: string, reservation: Reservation): Promise<void>;
  /** The request knows its record and is about to settle and write it. */
  finishing(request_id: string, final: NonNullable<InflightEntry['final']>): Promise<void>;
  /** The holder is about to take its first slice of this counter. */
  slice(counter: BudgetCounter): Promise<void>;
  /** The holder is about to hold its first parallel slots of this scope. */
  slots(slot: ParallelSlot): Promise<void>;
  /** Resolves once everything written so far is durable. */
  flushed(): Promise<void>;
  /** The request recorded and settled itself: forget it. */
  end(request_id: string): Promise<void>;
  /** Entries whose holder died (locally) or whose time is up (AWS), for recovery to finish. */
  orphans(now: Date): Promise<InflightEntry[]>;
  /**
   * The counters dead holders took slices of, to give back. Empty where slices are not journaled (AWS:
   * a Lambda environment's slice is short-lived, and others reclaim it once it expires).
   */
  orphanSlices(
    now: Date,
  ): Promise<Array<{ holder: string; counters: BudgetCounter[]; slots?: ParallelSlot[] }>>;
  /** Forgets entries recovery has finished. */
  forget(entries: InflightEntry[]): Promise<void>;
  /** Writes what is buffered; called on a clean shutdown. */
  close(): Promise<void>;
}
