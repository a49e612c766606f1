/**
 * A fixed-window request count per key, in memory: telemetry's own limit, apart from the key's rpm
 * (an agent exporting on exit never costs its user a model call). Per gateway instance: on Lambda each
 * execution environment counts on its own, which bounds a runaway exporter without a store round trip.
 */
import type { Clock } from '../ports/clock.ts';

export interface WindowLimiter {
  /** 0 when the request may go now; otherwise the milliseconds until the key's window ends. */
  take(id: string): number;
}

export function createWindowLimiter(clock: Clock, limit: number, windowMs: number): WindowLimiter {
  const windows = new Map<string, { start: number; count: number }>();
  return {
    take(id) {
      const now = clock.now().getTime();
      const start = now - (now % windowMs);
      if (windows.size > 10_000) for (const [k, w] of windows) if (w.start < start) windows.delete(k);
      const window = windows.get(id);
      if (!window || window.start !== start) {
        windows.set(id, { start, count: 1 });
        return 0;
      }
      if (window.count >= limit) return start + windowMs - now;
      window.count += 1;
      return 0;
    },
  };
}
