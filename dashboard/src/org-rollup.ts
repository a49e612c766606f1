/**
 * What the org view's panels share: the rollup as the page reads it (older rollups lack some parts),
 * the filters, and the few formatters every panel uses.
 */
import type { Rollup } from '../../functions/core/analytics/rollup-document.ts';
import { formatUsd } from './format.ts';

/** A rollup built before routing existed has no `routing`: read as none. */
export type OrgRollup = Omit<Rollup, 'spend' | 'routing'> & {
  spend: Partial<Rollup['spend']> & Pick<Rollup['spend'], 'team'>;
  routing?: Rollup['routing'];
};

export const pct = (ratio: number | null) => (ratio === null ? '—' : `${(ratio * 100).toFixed(0)}%`);
export const money = (micros: number) => formatUsd(micros);
export const day = (iso: string | null) => (iso ? iso.slice(0, 10) : '—');

export interface OrgFilters {
  /** Days back from the rollup's last day. */
  days: number;
  /** A team id, or '' for every team. */
  team: string;
}

/** The latest ISO week (`YYYY-MM-DD` Mondays sort as text) among the rows, or '' for none. */
export function latestWeek(rows: Array<{ week: string }>): string {
  return (
    rows
      .map((r) => r.week)
      .sort()
      .at(-1) ?? ''
  );
}
