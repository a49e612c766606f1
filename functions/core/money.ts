/**
 * Money for people to read, one rule everywhere (dashboard, CLI, alerts, digests, Slack, error messages):
 * from $1 up, dollars and cents with thousands grouped (`$1,391.30`); below $1, up to four decimals, so
 * a request's cost still says something (`$0.0473`, `$0.29`). Integer arithmetic only: amounts are
 * integer micro-dollars, and `bigint` carries sums past 2^53.
 */

const MICROS_PER_CENT = 10_000n;
const MICROS_PER_TEN_THOUSANDTH = 100n;
const ONE_DOLLAR_IN_TEN_THOUSANDTHS = 10_000n;

/** `1_391_301_500` → `$1,391.30`; `47_280` → `$0.0473`; `290_000` → `$0.29`; `49` → `<$0.0001`. */
export function formatUsd(micros: number | bigint): string {
  if (typeof micros === 'number' && !Number.isSafeInteger(micros)) {
    throw new RangeError(`Expected integer micro-dollars, got ${micros}`);
  }
  const value = BigInt(micros);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const sign = (shown: bigint) => (negative && shown > 0n ? '-' : '');

  const tenThousandths = roundHalfUp(abs, MICROS_PER_TEN_THOUSANDTH);
  if (tenThousandths < ONE_DOLLAR_IN_TEN_THOUSANDTHS) {
    if (tenThousandths === 0n && abs > 0n) return negative ? '>-$0.0001' : '<$0.0001';
    const decimals = tenThousandths
      .toString()
      .padStart(4, '0')
      .replace(/0{1,2}$/, '');
    return `${sign(tenThousandths)}$0.${decimals}`;
  }
  const cents = roundHalfUp(abs, MICROS_PER_CENT);
  const dollars = groupThousands((cents / 100n).toString());
  return `${sign(cents)}$${dollars}.${(cents % 100n).toString().padStart(2, '0')}`;
}

/** Dollars as a float (the LiteLLM admin API's `max_budget`) for display; `null`/absent reads `none`. */
export function formatDollars(usd: unknown): string {
  return typeof usd === 'number' && Number.isFinite(usd) ? formatUsd(Math.round(usd * 1e6)) : 'none';
}

/** Token and request counts: `1234567` → `1,234,567`. */
export function formatCount(n: number | bigint): string {
  return groupThousands(BigInt(n).toString());
}

function roundHalfUp(abs: bigint, unit: bigint): bigint {
  return (abs + unit / 2n) / unit;
}

function groupThousands(digits: string): string {
  const sign = digits.startsWith('-') ? '-' : '';
  return sign + digits.slice(sign.length).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
