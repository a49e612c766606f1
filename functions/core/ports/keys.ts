/**
 * Virtual keys as stored, and their store (adapters/aws/dynamo-key-store.ts).
 */
import type { BudgetSettings, ScopedBudget } from './budgets.ts';
import type { RateSettings } from './rate-limits.ts';

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
