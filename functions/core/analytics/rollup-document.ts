/**
 * The rollup document: every report over a range of days and the status of every budget, as the
 * dashboard, the Slack forwarder and the weekly digest read it. Built by rollup.ts, kept by a
 * RollupStore (ports/rollups.ts).
 */
import type { BudgetCounter } from '../ports/budgets.ts';
import type { NewLapsedRow, RepeatUsageRow, ToolsRow } from './adoption.ts';
import type { RoutingRow } from './routing.ts';
import type {
  LatencyRow,
  OutcomeRow,
  SpendDimension,
  SpendRow,
  SpendTotalRow,
  TopSpenders,
} from './spend.ts';
import type { DayRange } from './sql.ts';

export const ROLLUP_VERSION = 1;

export interface WeeklyActiveRateRow {
  week: string;
  team_id: string;
  active_people: number;
  /** People holding an active key in the team now (the key store's view, not the lake's). */
  key_holders: number;
  /** active_people ÷ key_holders, 0–1 (null for a team without key holders). */
  weekly_active_rate: number | null;
}

export interface BudgetStatusRow {
  scope: BudgetCounter['scope'];
  scope_id: string;
  label: string;
  mode: BudgetCounter['mode'];
  period: string;
  starts_at: string | null;
  resets_at: string | null;
  limit_micros: number;
  spent_micros: number;
  /** Held by requests in flight. */
  reserved_micros: number;
  /** spent ÷ limit, in percent. */
  used_pct: number;
  /** Spend projected to the end of the period at its period-to-date rate; null for lifetime budgets. */
  forecast_micros: number | null;
  /** When the limit is reached at that rate, if before the period ends. */
  runs_out_at: string | null;
}

/** Dimensions the rollup keeps per day; people and keys are summed over the range (see below). */
type DailyDimension = Exclude<SpendDimension, 'user' | 'key'>;

export interface Rollup {
  version: number;
  generated_at: string;
  range: DayRange;
  /** The last day read from the daily aggregates (later days from raw records); null or absent: none. */
  aggregated_through?: string | null;
  /**
   * Per day by team, model, provider, agent and tag; by user and by key over the whole range, which
   * keeps the document small for hundreds of people (a person's own days come from their own page).
   */
  spend: Record<DailyDimension, SpendRow[]> & Record<'user' | 'key', SpendTotalRow[]>;
  latency: LatencyRow[];
  outcomes: OutcomeRow[];
  adoption: {
    weekly_active: WeeklyActiveRateRow[];
    repeat_usage: RepeatUsageRow[];
    tools_per_person: ToolsRow[];
    new_and_lapsed: NewLapsedRow[];
  };
  budgets: BudgetStatusRow[];
  /** Per day: what cache reads saved against fresh input, at catalog prices (all teams). */
  cache_savings: Array<{ day: string; savings_micros: number }>;
  /** Per day and routing rule: what it served instead, and the spend it moved. */
  routing: RoutingRow[];
  /**
   * Who and what spent most of the budgets nearest an alert, in their current period (AWS: the rollup
   * function adds it, so the Slack forwarder names top spenders without querying Athena itself).
   * Per person, so admins only.
   */
  top_spenders?: BudgetTopSpenders[];
}

/** One budget's top spenders by person, model and agent, in the period that began at `starts_at`. */
export interface BudgetTopSpenders extends TopSpenders {
  scope: BudgetCounter['scope'];
  scope_id: string;
  starts_at: string | null;
}
