import { GatewayError } from '../errors.ts';
import { counterOrReason } from '../governance/budgets.ts';
import type { BudgetCounter, BudgetLedger } from '../ports/budgets.ts';
import type { Logger } from '../ports/logging.ts';
import { microsToUsd } from './fields.ts';

/** An owner's spend in its current budget period, or why it has none. */
export type PeriodSpend =
  | { counter: BudgetCounter; spent_micros: number; committed_micros: number; invalid?: undefined }
  | { counter: null; spent_micros: null; committed_micros: null; invalid: string };

/**
 * What a description (key, team, person) shows of the owner's budget period. A record that cannot
 * be read or whose period cannot be computed is described with `invalid` and no spend, and logged as
 * a warning, never a failure of the listing it is in.
 */
export async function periodSpend(
  ledger: BudgetLedger,
  owner: { invalid?: string },
  counterOf: () => BudgetCounter,
  about: { kind: string; id: string; log: Logger },
): Promise<PeriodSpend> {
  const counter = counterOrReason(owner, counterOf);
  if (typeof counter === 'string') {
    about.log.warn('admin.invalid_record', { kind: about.kind, id: about.id, reason: counter });
    return { counter: null, spent_micros: null, committed_micros: null, invalid: counter };
  }
  const { spent_micros, committed_micros } = await ledger.read(counter);
  return { counter, spent_micros, committed_micros };
}

/** The spend fields of a description, in USD and micro-dollars; `invalid` only when there are none. */
export function describeSpend(read: PeriodSpend) {
  return {
    spend: read.spent_micros === null ? null : microsToUsd(read.spent_micros),
    spend_micros: read.spent_micros,
    budget_reset_at: read.counter?.resets_at ?? null,
    ...(read.invalid !== undefined && { invalid: read.invalid }),
  };
}

export const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A change to a record that cannot be read would overwrite what is left of it: it is refused. */
export function unreadable(what: string, invalid: string): GatewayError {
  return new GatewayError(
    'invalid_request',
    `${what} cannot be read back from the store (${invalid}): delete it and create it again.`,
  );
}
