/**
 * Period-over-period change for the org page's headline figures: this range against the one just
 * before it, of the same length. Money and counts are integers, so the change is computed exactly and
 * rounded only for display. No earlier figure (nothing spent then, or the rollup does not reach back
 * that far) reads as no comparison rather than as an infinite rise.
 */
export interface Change {
  /** `up`, `down` or `flat` (within half a percent). */
  trend: 'up' | 'down' | 'flat';
  /** `+12%`, `−8%`, `±0%`. */
  text: string;
}

export function periodChange(current: number, previous: number | null): Change | null {
  if (previous === null || previous <= 0) return null;
  const pct = Math.round(((current - previous) / previous) * 100);
  if (pct === 0) return { trend: 'flat', text: '±0%' };
  return pct > 0 ? { trend: 'up', text: `+${pct}%` } : { trend: 'down', text: `−${-pct}%` };
}

/** The first day of the range of `days` days that ends the day before `from` (all UTC, `YYYY-MM-DD`). */
export function previousFrom(from: string, days: number): string {
  return new Date(Date.parse(`${from}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);
}
