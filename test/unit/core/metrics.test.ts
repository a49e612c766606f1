import { describe, expect, it } from 'vitest';
import { BudgetExceededError, GatewayError } from '../../../functions/core/errors.ts';
import type { MetricDimension, MetricName } from '../../../functions/core/metrics.ts';
import {
  meteredSink,
  meteredSliceStore,
  meteredSpill,
  refusalScope,
} from '../../../functions/core/metrics.ts';
import type { Metrics, SliceStore } from '../../../functions/core/ports.ts';
import type { UsageRecord } from '../../../functions/core/usage/record.ts';

function recorder() {
  const points: Array<[MetricName, number, MetricDimension?]> = [];
  const metrics: Metrics = { add: (name, value, dimension) => points.push([name, value, dimension]) };
  return { metrics, points };
}

const record = (over: Partial<UsageRecord>) =>
  ({
    outcome: 'success',
    provider: 'anthropic',
    attempts: 1,
    ttfb_ms: 40,
    overhead_ms: 3,
    ...over,
  }) as UsageRecord;

describe('metrics of the usage pipeline', () => {
  it('counts each record written by outcome and provider, with its first byte and overhead', async () => {
    // Prepare
    const { metrics, points } = recorder();
    const sink = meteredSink({ write: async () => {} }, metrics);

    // Act
    await sink.write([
      record({}),
      record({ outcome: 'upstream_error', ttfb_ms: null }),
      record({ outcome: 'denied', provider: null, attempts: 0, ttfb_ms: null, overhead_ms: 1 }),
    ]);

    // Assess
    expect(points).toEqual([
      ['requests', 1, { outcome: 'success' }],
      ['upstream_requests', 1, { provider: 'anthropic' }],
      ['ttfb_ms', 40, undefined],
      ['gateway_overhead_ms', 3, undefined],
      ['requests', 1, { outcome: 'upstream_error' }],
      ['upstream_requests', 1, { provider: 'anthropic' }],
      ['upstream_errors', 1, { provider: 'anthropic' }],
      ['gateway_overhead_ms', 3, undefined],
      ['requests', 1, { outcome: 'denied' }],
      ['gateway_overhead_ms', 1, undefined],
    ]);
  });

  it('counts the records a failed write leaves, and still fails the write', async () => {
    const { metrics, points } = recorder();
    const sink = meteredSink({ write: async () => Promise.reject(new Error('lake full')) }, metrics);
    await expect(sink.write([record({}), record({})])).rejects.toThrow('lake full');
    expect(points.filter(([name]) => name === 'usage_write_failures')).toEqual([
      ['usage_write_failures', 2, undefined],
    ]);
  });

  it('counts spilled records once they are in the spill', async () => {
    const { metrics, points } = recorder();
    const spill = meteredSpill({ put: async (_lines: string[]) => {}, list: async () => [] }, metrics);
    await spill.put(['{}', '{}', '{}']);
    expect(points).toEqual([['usage_spilled', 3, undefined]]);
  });

  it('counts each slice grow as a lease renewal, and each refused one', async () => {
    // Prepare
    const { metrics, points } = recorder();
    let refuse = false;
    const store = meteredSliceStore(
      { grow: async () => ({ refused: refuse }) } as unknown as SliceStore,
      metrics,
    );
    const grow = () => store.grow({} as never, 'h', { a: 1, w: 1 }, null, new Date(), 0);

    // Act
    await grow();
    refuse = true;
    await grow();

    // Assess
    expect(points.map(([name]) => name)).toEqual(['lease_renewals', 'lease_renewals', 'lease_refusals']);
  });

  it('names a refusal by the budget scope that refused, else by the kind of limit', () => {
    expect(refusalScope(new BudgetExceededError('team', 'web', 1, 1, null))).toBe('team');
    expect(refusalScope(new GatewayError('rate_limited', 'slow down'))).toBe('rate_limit');
    expect(refusalScope(new GatewayError('permission', 'no'))).toBe('permission');
  });
});
