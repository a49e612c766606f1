import { describe, expect, it } from 'vitest';
import { createEmfMetrics } from '../../../../functions/adapters/aws/emf-metrics.ts';

function capture() {
  const lines: string[] = [];
  const metrics = createEmfMetrics({
    functionName: 'Tollgate-Proxy',
    write: (l) => lines.push(l),
    now: () => 1_700_000_000_000,
  });
  return { metrics, docs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('embedded metric format', () => {
  it('writes one document per dimension value, each with the total as well, at flush only', () => {
    // Prepare
    const { metrics, docs } = capture();

    // Act
    metrics.add('requests', 1, { outcome: 'success' });
    metrics.add('requests', 1, { outcome: 'success' });
    metrics.add('upstream_errors', 1, { provider: 'openai' });
    metrics.add('ttfb_ms', 120);
    metrics.add('ttfb_ms', 80);
    metrics.add('usage_write_failures', 3);
    const beforeFlush = docs().length;
    metrics.flush();

    // Assess
    expect(beforeFlush).toBe(0);
    expect(docs()).toEqual([
      {
        _aws: {
          Timestamp: 1_700_000_000_000,
          CloudWatchMetrics: [
            {
              Namespace: 'Tollgate',
              Dimensions: [['function'], ['function', 'outcome']],
              Metrics: [{ Name: 'requests', Unit: 'Count' }],
            },
          ],
        },
        function: 'Tollgate-Proxy',
        outcome: 'success',
        requests: 2,
      },
      expect.objectContaining({
        _aws: expect.objectContaining({
          CloudWatchMetrics: [
            expect.objectContaining({ Dimensions: [['function'], ['function', 'provider']] }),
          ],
        }),
        provider: 'openai',
        upstream_errors: 1,
      }),
      {
        _aws: {
          Timestamp: 1_700_000_000_000,
          CloudWatchMetrics: [
            {
              Namespace: 'Tollgate',
              Dimensions: [['function']],
              Metrics: [
                { Name: 'ttfb_ms', Unit: 'Milliseconds' },
                { Name: 'usage_write_failures', Unit: 'Count' },
              ],
            },
          ],
        },
        function: 'Tollgate-Proxy',
        ttfb_ms: [120, 80],
        usage_write_failures: 3,
      },
    ]);
  });

  it('writes nothing for an invocation without points, and each point once', () => {
    const { metrics, docs } = capture();
    metrics.flush();
    metrics.add('lease_renewals', 1);
    metrics.flush();
    metrics.flush();
    expect(docs().map((d) => d.lease_renewals)).toEqual([1]);
  });

  it('drops a dimension the metric does not define, so no request data becomes a series', () => {
    const { metrics, docs } = capture();
    metrics.add('usage_spilled', 2, { user: 'alice' });
    metrics.flush();
    expect(docs()[0]).not.toHaveProperty('user');
    expect(docs()[0]).toMatchObject({ usage_spilled: 2 });
  });
});
