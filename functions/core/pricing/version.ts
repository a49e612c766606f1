/**
 * Which of two price versions is newer, wherever the newest wins (a request's copies in the lake, a
 * re-pricing deciding whether a record is already priced). Compared as text they sort wrong:
 * `genai-prices@0.1.10` < `genai-prices@0.1.9`. The order:
 * - a day, `YYYY-MM-DD` — a re-pricing's version (and the hand-kept catalog's before the package) —
 *   is newer than any catalog version, since a correction is made over what the catalog priced; days
 *   compare as days;
 * - a catalog version, `<name>@<major>.<minor>.<patch>`, compares by its numbers;
 * - anything else, then none, is oldest.
 * A suffix (` default:<model>`, a stand-in price) does not change the order.
 * The SQL of the reports uses the same key (analytics/sql.ts), so both agree.
 */

const DAY = /^\d{4}-\d{2}-\d{2}/;
const SEMVER = /@(\d+)\.(\d+)\.(\d+)/;

/** A text that sorts as the versions do (greater is newer). */
export function priceVersionKey(version: string | null): string {
  if (version === null) return '0';
  const day = DAY.exec(version)?.[0];
  if (day) return `2${day}`;
  const semver = SEMVER.exec(version);
  if (semver)
    return `1${semver
      .slice(1, 4)
      .map((n) => n.padStart(6, '0'))
      .join('')}`;
  return `0${version}`;
}

/** Negative when `a` is older than `b`, positive when newer, 0 when they rank the same. */
export function comparePriceVersions(a: string | null, b: string | null): number {
  const [ka, kb] = [priceVersionKey(a), priceVersionKey(b)];
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
