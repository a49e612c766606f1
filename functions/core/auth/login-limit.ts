/**
 * A limit on sign-ins started per client address: each `/auth/login` writes a pending sign-in record,
 * so without one anyone could fill the table. In memory, per instance (a local process, a Lambda
 * execution environment): a flood spread over many instances gets each instance's allowance, which
 * still bounds the writes; the pending records expire in ten minutes either way.
 */

export interface LoginLimiter {
  /** Counts one sign-in from `address`; when over the limit, the seconds until one is allowed again. */
  take(address: string, nowMs: number): { allowed: true } | { allowed: false; retryAfterSeconds: number };
}

const WINDOW_MS = 60_000;

/**
 * A sliding window: at most `perMinute` sign-ins in any 60 seconds from one address. At most
 * `maxAddresses` are remembered; past that, addresses quiet for a minute are forgotten, then the
 * oldest — so the limiter's own memory is bounded too.
 */
export function createLoginLimiter(options: { perMinute: number; maxAddresses?: number }): LoginLimiter {
  const { perMinute, maxAddresses = 10_000 } = options;
  const seen = new Map<string, number[]>();

  const forget = (nowMs: number) => {
    for (const [address, times] of seen) if ((times.at(-1) ?? 0) <= nowMs - WINDOW_MS) seen.delete(address);
    for (const address of seen.keys()) {
      if (seen.size < maxAddresses) break;
      seen.delete(address);
    }
  };

  return {
    take(address, nowMs) {
      const times = (seen.get(address) ?? []).filter((t) => t > nowMs - WINDOW_MS);
      if (times.length >= perMinute) {
        seen.set(address, times);
        const oldest = times[0] ?? nowMs;
        return {
          allowed: false,
          retryAfterSeconds: Math.max(1, Math.ceil((oldest + WINDOW_MS - nowMs) / 1000)),
        };
      }
      if (!seen.has(address) && seen.size >= maxAddresses) forget(nowMs);
      // Re-inserted, so the Map's order is least recently used first.
      seen.delete(address);
      seen.set(address, [...times, nowMs]);
      return { allowed: true };
    },
  };
}
