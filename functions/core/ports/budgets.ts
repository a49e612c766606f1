/**
 * Budget counters and the ledger that reserves and settles them (core/governance/budgets.ts
 * and leased-ledger.ts use it; adapters/aws/dynamo-budget-ledger.ts implements it on DynamoDB and
 * dynalite alike). Money in integer micro-dollars.
 */

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
