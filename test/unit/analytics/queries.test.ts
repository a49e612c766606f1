import { describe, expect, it } from 'vitest';
import { costByUser, recentUsage } from '../../../functions/core/analytics/queries.ts';
import type { QueryEngine, Row, SqlValue } from '../../../functions/core/ports/lake.ts';
import { usageRecord } from '../../support/usage-fixture.ts';

// The SQL itself runs on DuckDB in test/integration/lake.test.ts; these check what the functions ask
// for and how they shape the answer, with a QueryEngine that records its calls.
function recordingEngine(rows: Row[] = []) {
  const calls: Array<{ sql: string; params: SqlValue[] }> = [];
  const engine: QueryEngine = {
    async query(sql, params = []) {
      calls.push({ sql, params });
      return rows;
    },
  };
  return { engine, calls };
}

describe('costByUser', () => {
  it('binds the day to the dt partition column so Athena reads one partition', async () => {
    // Prepare
    const { engine, calls } = recordingEngine();

    // Act
    await costByUser(engine, '2026-03-01');

    // Assess
    expect(calls).toHaveLength(1);
    expect(calls[0]?.params).toEqual(['2026-03-01']);
    expect(calls[0]?.sql).toMatch(/WHERE dt = \?/);
  });

  it('dedupes on request_id before summing', async () => {
    // Prepare
    const { engine, calls } = recordingEngine();

    // Act
    await costByUser(engine, '2026-03-01');

    // Assess
    expect(calls[0]?.sql).toMatch(
      /PARTITION BY dt, request_id\s+ORDER BY CASE WHEN outcome = 'lost' THEN 1 ELSE 0 END, CASE[\s\S]+regexp_extract\(price_version[\s\S]+END DESC, ts/,
    );
    expect(calls[0]?.sql).toMatch(/WHERE copy_number = 1/);
  });

  it('returns integer columns as numbers even when the engine hands them over as text', async () => {
    // Prepare
    const { engine } = recordingEngine([
      {
        user_id: 'alice',
        team_id: null,
        requests: '3',
        input_tokens: 10,
        output_tokens: '20',
        cost_micros: '123456',
      },
    ]);

    // Act
    const rows = await costByUser(engine, '2026-03-01');

    // Assess
    expect(rows).toEqual([
      {
        user_id: 'alice',
        team_id: null,
        requests: 3,
        input_tokens: 10,
        output_tokens: 20,
        cost_micros: 123_456,
      },
    ]);
  });

  it.each(['2026-3-1', '03/01/2026', '2026-02-30', "2026-03-01' OR 1=1 --"])(
    'rejects %s as a day without querying',
    async (day) => {
      // Prepare
      const { engine, calls } = recordingEngine();

      // Act
      const result = costByUser(engine, day);

      // Assess
      await expect(result).rejects.toThrow(RangeError);
      expect(calls).toHaveLength(0);
    },
  );
});

describe('recentUsage', () => {
  it('puts the checked limit in the SQL and binds the first day', async () => {
    // Prepare
    const { engine, calls } = recordingEngine();

    // Act
    await recentUsage(engine, { limit: 25, sinceDay: '2026-02-20' });

    // Assess
    expect(calls[0]?.params).toEqual(['2026-02-20']);
    expect(calls[0]?.sql).toMatch(/WHERE dt >= \?/);
    expect(calls[0]?.sql).toMatch(/ORDER BY ts DESC, request_id DESC\s+LIMIT 25$/);
  });

  it('binds nothing when no first day is given', async () => {
    // Prepare
    const { engine, calls } = recordingEngine();

    // Act
    await recentUsage(engine, { limit: 5 });

    // Assess
    expect(calls[0]?.params).toEqual([]);
    expect(calls[0]?.sql).not.toContain('?');
  });

  it.each([0, -1, 2.5, 10_001, Number.NaN])('rejects a limit of %s without querying', async (limit) => {
    // Prepare
    const { engine, calls } = recordingEngine();

    // Act
    const result = recentUsage(engine, { limit });

    // Assess
    await expect(result).rejects.toThrow(RangeError);
    expect(calls).toHaveLength(0);
  });

  it('turns rows back into usage records, tags decoded from JSON text', async () => {
    // Prepare
    const record = usageRecord({ request_id: 'r-9', tags: ['ci', 'nightly'] });
    const { engine } = recordingEngine([
      { ...record, tags: '["ci","nightly"]', attempt_log: JSON.stringify(record.attempt_log) },
    ]);

    // Act
    const records = await recentUsage(engine, { limit: 1 });

    // Assess
    expect(records).toEqual([record]);
  });

  it('fails loudly on a row that is not a usage record', async () => {
    // Prepare
    const { engine } = recordingEngine([{ request_id: 'r-1', tags: '[]' }]);

    // Act
    const result = recentUsage(engine, { limit: 1 });

    // Assess
    await expect(result).rejects.toThrow();
  });
});
