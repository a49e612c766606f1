/**
 * Time, injected: nothing in the core reads the system clock by itself.
 */

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
