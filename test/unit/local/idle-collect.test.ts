import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { collectWhenIdle } from '../../../functions/local/idle-collect.ts';

describe('collectWhenIdle', () => {
  let clock = 0;
  let heap = 40;
  let collections = 0;
  const server = new EventEmitter();
  const options = {
    idleMs: 1_000,
    now: () => clock,
    heapUsed: () => heap,
    collect: () => {
      collections += 1;
      heap = 40;
    },
  };
  const pass = (ms: number) => {
    clock += ms;
    vi.advanceTimersByTime(ms);
  };
  beforeEach(() => {
    vi.useFakeTimers();
    clock = 0;
    heap = 40;
    collections = 0;
  });
  afterEach(() => vi.useRealTimers());

  it('collects once after a burst, when no request has come for the idle time', () => {
    const collector = collectWhenIdle(server, options);
    for (let i = 0; i < 10; i++) {
      server.emit('request');
      heap += 20;
      pass(100);
    }
    expect(collections).toBe(0);
    pass(1_500);
    expect(collections).toBe(1);
    pass(10_000);
    expect(collections).toBe(1);
    collector.stop();
  });

  it('leaves a heap that did not grow alone, however long it idles (a monitor polling /metrics)', () => {
    const collector = collectWhenIdle(server, options);
    for (let i = 0; i < 20; i++) {
      server.emit('request');
      heap += 0.5;
      pass(2_000);
    }
    expect(collections).toBe(0);
    collector.stop();
  });

  it('never collects while requests keep coming', () => {
    const collector = collectWhenIdle(server, options);
    for (let i = 0; i < 50; i++) {
      server.emit('request');
      heap += 20;
      pass(400);
    }
    expect(collections).toBe(0);
    collector.stop();
  });
});
