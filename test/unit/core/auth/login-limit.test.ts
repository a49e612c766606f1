import { describe, expect, it } from 'vitest';
import { createLoginLimiter } from '../../../../functions/core/auth/login-limit.ts';

describe('the sign-in limit per address', () => {
  it('refuses the 21st sign-in within a minute, saying when the oldest leaves the window', () => {
    // Prepare
    const limiter = createLoginLimiter({ perMinute: 20 });
    for (let i = 0; i < 20; i++) expect(limiter.take('198.51.100.7', 1_000 + i * 1_000).allowed).toBe(true);

    // Act
    const refused = limiter.take('198.51.100.7', 30_000);

    // Assess: the first, at 1 s, leaves the window at 61 s.
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 31 });
  });

  it('allows sign-ins again as earlier ones leave the sliding window, and counts other addresses apart', () => {
    // Prepare
    const limiter = createLoginLimiter({ perMinute: 2 });
    limiter.take('a', 0);
    limiter.take('a', 10_000);

    // Act
    const during = limiter.take('a', 59_999);
    const other = limiter.take('b', 59_999);
    const after = limiter.take('a', 60_001);

    // Assess
    expect(during.allowed).toBe(false);
    expect(other.allowed).toBe(true);
    expect(after.allowed).toBe(true);
  });

  it('forgets addresses once it holds its maximum, so its memory stays bounded', () => {
    // Prepare
    const limiter = createLoginLimiter({ perMinute: 1, maxAddresses: 2 });
    limiter.take('a', 0);
    limiter.take('b', 0);

    // Act: a third address pushes out the least recent, whose limit then starts afresh.
    limiter.take('c', 1);
    const a = limiter.take('a', 2);

    // Assess
    expect(a.allowed).toBe(true);
  });
});
