import { describe, expect, it } from 'vitest';
import { UsageRecordSchema, usageColumns } from '../../../../functions/core/usage/record.ts';
import { usageRecord } from '../../../support/usage-fixture.ts';

describe('UsageRecordSchema', () => {
  it('accepts a complete record', () => {
    // Prepare
    const record = usageRecord();

    // Act
    const result = UsageRecordSchema.safeParse(record);

    // Assess
    expect(result.success).toBe(true);
  });

  it.each([
    ['a fractional cost', { cost_micros: 1.5 }],
    ['a negative token count', { output_tokens: -1 }],
    ['a day that is not YYYY-MM-DD', { dt: '2026-3-1' }],
    ['a timestamp that is not ISO-8601', { ts: 'yesterday' }],
    ['an unknown outcome', { outcome: 'maybe' }],
    ['an unknown usage source', { usage_source: 'guessed' }],
  ])('rejects %s', (_, override) => {
    // Prepare
    const record = { ...usageRecord(), ...override };

    // Act
    const result = UsageRecordSchema.safeParse(record);

    // Assess
    expect(result.success).toBe(false);
  });
});

describe('usageColumns', () => {
  it('lists every schema field in order', () => {
    // Prepare
    const fields = Object.keys(usageRecord());

    // Act
    const names = usageColumns().map((c) => c.name);

    // Assess
    expect(names).toEqual(fields);
  });

  it('types the columns for Athena and DuckDB', () => {
    // Prepare
    const wanted = [
      'ts',
      'dt',
      'key_id',
      'stream',
      'status',
      'cost_micros',
      'ttfb_ms',
      'outcome',
      'tags',
    ] as const;

    // Act
    const types = Object.fromEntries(usageColumns().map((c) => [c.name, c.sqlType]));

    // Assess
    expect(Object.fromEntries(wanted.map((n) => [n, types[n]]))).toEqual({
      ts: 'TIMESTAMP',
      dt: 'STRING',
      key_id: 'STRING',
      stream: 'BOOLEAN',
      status: 'BIGINT',
      cost_micros: 'BIGINT',
      ttfb_ms: 'BIGINT',
      outcome: 'STRING',
      tags: 'ARRAY<STRING>',
    });
  });
});
