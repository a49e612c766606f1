import type { RateWindow, VirtualKey } from '../ports.ts';

const MINUTE_MS = 60_000;

/**
 * The key's rate-limit window for `now`: fixed calendar minutes (UTC). A new minute is a new counter,
 * so nothing resets them. A fixed window lets a burst straddling a minute boundary reach twice the
 * limit for a moment; that is the price of one conditional write per request.
 */
export function keyRateWindow(key: VirtualKey, now: Date): RateWindow | undefined {
  if (key.rpm_limit === null && key.tpm_limit === null) return undefined;
  const start = Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS;
  return {
    scope: `key:${key.key_id}`,
    window: new Date(start).toISOString().slice(0, 16),
    resets_at: new Date(start + MINUTE_MS).toISOString(),
    rpm: key.rpm_limit,
    tpm: key.tpm_limit,
  };
}

/** Whole seconds until the window resets, at least 1: the `retry-after` a 429 carries. */
export function retryAfterSeconds(window: RateWindow, now: Date): number {
  return Math.max(1, Math.ceil((Date.parse(window.resets_at) - now.getTime()) / 1000));
}
