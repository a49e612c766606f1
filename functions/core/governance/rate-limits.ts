import type { RateWindow } from '../ports/rate-limits.ts';

/** Whole seconds until the window resets, at least 1: the `retry-after` a 429 carries. */
export function retryAfterSeconds(window: RateWindow, now: Date): number {
  return Math.max(1, Math.ceil((Date.parse(window.resets_at) - now.getTime()) / 1000));
}
