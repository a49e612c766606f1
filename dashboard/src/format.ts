/**
 * Display formatting for the dashboard. Money arrives as integer micro-dollars and is formatted with
 * integer arithmetic only, so $0.29 never shows as $0.28999999.
 */

const MICROS_PER_TEN_THOUSANDTH = 100n;

/**
 * `1234567` → `$1.2346`, `1500000` → `$1.50`: dollars with thousands separators and 2 to 4 decimals,
 * rounded half away from zero to $0.0001. A non-zero amount too small to show reads `<$0.0001`.
 * With `fixed`, always 4 decimals, so a column of amounts lines up on the decimal point.
 */
export function formatMicros(micros: number | bigint, options: { fixed?: boolean } = {}): string {
  if (typeof micros === 'number' && !Number.isSafeInteger(micros)) {
    throw new RangeError(`Expected integer micro-dollars, got ${micros}`);
  }
  const value = BigInt(micros);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const units = (abs + MICROS_PER_TEN_THOUSANDTH / 2n) / MICROS_PER_TEN_THOUSANDTH;
  if (units === 0n && abs > 0n) return negative ? '>-$0.0001' : '<$0.0001';
  const dollars = groupThousands((units / 10_000n).toString());
  const decimals = (units % 10_000n)
    .toString()
    .padStart(4, '0')
    .replace(options.fixed ? /$^/ : /0{1,2}$/, '');
  return `${negative && units > 0n ? '-' : ''}$${dollars}.${decimals}`;
}

/** Token and request counts: `1234567` → `1,234,567`. */
export function formatCount(n: number | bigint): string {
  return groupThousands(BigInt(n).toString());
}

function groupThousands(digits: string): string {
  const sign = digits.startsWith('-') ? '-' : '';
  return sign + digits.slice(sign.length).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** The UTC calendar day of `now`, as `<input type="date">` and the API expect it. */
export function utcDay(now: Date): string {
  return now.toISOString().slice(0, 10);
}
