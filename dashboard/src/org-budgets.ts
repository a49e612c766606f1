/** The org view's budgets, most at risk first: the dozen nearest their limits, or every one. */
import type { BudgetStatusRow } from '../../functions/core/analytics/rollup-document.ts';
import { byId, type Column, renderTable, setCsv } from './dom.ts';
import { day, money } from './org-rollup.ts';

export const BUDGET_COLUMNS: Column<BudgetStatusRow>[] = [
  { label: 'Budget', value: (b) => b.label },
  { label: 'Scope', value: (b) => b.scope },
  { label: 'Spent', value: (b) => money(b.spent_micros), raw: (b) => b.spent_micros, numeric: true },
  { label: 'Limit', value: (b) => money(b.limit_micros), raw: (b) => b.limit_micros, numeric: true },
  { label: 'Used', value: (b) => `${b.used_pct.toFixed(1)}%`, raw: (b) => b.used_pct, numeric: true },
  {
    label: 'Forecast',
    value: (b) => (b.forecast_micros === null ? '—' : money(b.forecast_micros)),
    raw: (b) => b.forecast_micros ?? '',
    numeric: true,
  },
  { label: 'Runs out', value: (b) => day(b.runs_out_at) },
  { label: 'Resets', value: (b) => day(b.resets_at) },
  { label: 'Mode', value: (b) => b.mode },
];

/** The budgets most at risk; the CSV has them all. */
const BUDGETS_SHOWN = 12;

let showEveryBudget = false;

/** The "show all" button's toggle: every budget, or the most at risk. */
export function toggleEveryBudget(): void {
  showEveryBudget = !showEveryBudget;
}

export function renderBudgets(all: BudgetStatusRow[]): void {
  const budgets = showEveryBudget ? all : all.slice(0, BUDGETS_SHOWN);
  const toggle = byId<HTMLButtonElement>('budgets-all');
  toggle.hidden = all.length <= BUDGETS_SHOWN;
  toggle.textContent = showEveryBudget ? `Show the ${BUDGETS_SHOWN} most at risk` : `Show all ${all.length}`;
  toggle.setAttribute('aria-expanded', String(showEveryBudget));
  byId('budgets-note').textContent =
    all.length > budgets.length
      ? `The ${budgets.length} most at risk of ${all.length}; the CSV has them all.`
      : '';
  renderTable(byId<HTMLTableElement>('budgets-table'), BUDGET_COLUMNS, budgets, 'No budget has a limit.');
  setCsv(byId<HTMLTableElement>('budgets-table'), BUDGET_COLUMNS, all);
  for (const [i, row] of [...byId<HTMLTableElement>('budgets-table').tBodies[0]!.rows].entries()) {
    const b = budgets[i];
    if (!b) continue;
    row.dataset.risk = b.runs_out_at || b.used_pct >= 100 ? 'high' : b.used_pct >= 80 ? 'medium' : 'low';
  }
}
