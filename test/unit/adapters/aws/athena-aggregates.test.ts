import { describe, expect, it } from 'vitest';
import { createAthenaAggregates } from '../../../../functions/adapters/aws/athena-aggregates.ts';
import { buildDaySql } from '../../../../functions/core/analytics/aggregates.ts';

/** An S3 that holds keys with their times, pages its listings two at a time, and records every call. */
function fakeS3(objects: Record<string, Date>) {
  const calls: string[] = [];
  const s3 = {
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      const name = command.constructor.name;
      const input = command.input;
      calls.push(`${name} ${String(input.Key ?? input.Prefix ?? '')}`);
      if (name === 'ListObjectsV2Command') {
        const keys = Object.keys(objects)
          .filter((k) => k.startsWith(String(input.Prefix)))
          .sort();
        const start = Number(input.ContinuationToken ?? 0);
        const page = keys.slice(start, start + 2);
        const more = start + 2 < keys.length;
        return {
          Contents: page.map((Key) => ({ Key, LastModified: objects[Key] })),
          IsTruncated: more,
          NextContinuationToken: more ? String(start + 2) : undefined,
        };
      }
      if (name === 'PutObjectCommand') objects[String(input.Key)] = new Date('2026-12-01T00:10:00Z');
      if (name === 'HeadObjectCommand') return { LastModified: objects[String(input.Key)] };
      if (name === 'DeleteObjectCommand') delete objects[String(input.Key)];
      return {};
    },
  };
  return { s3: s3 as never, calls, objects };
}

describe('the aggregates on S3, written by Athena', () => {
  it('know a day as built from its marker, and a raw partition by its newest object, across pages', async () => {
    // Prepare
    const { s3 } = fakeS3({
      'aggregates/usage_daily/dt=2026-11-29/kind=spend/a': new Date('2026-11-30T01:00:00Z'),
      'aggregates/usage_daily/dt=2026-11-29/_built-1764464400000': new Date('2026-11-30T01:01:00Z'),
      'aggregates/usage_daily/dt=2026-11-28/kind=spend/a': new Date('2026-11-29T01:00:00Z'),
      'usage/dt=2026-11-29/a': new Date('2026-11-29T10:00:00Z'),
      'usage/dt=2026-11-29/b': new Date('2026-11-30T02:00:00Z'),
      'usage/dt=2026-11-29/c': new Date('2026-11-29T23:00:00Z'),
    });
    const aggregates = createAthenaAggregates({ s3, bucket: 'lake', engine: { query: async () => [] } });

    // Act
    const built = await aggregates.built();
    const changed = await aggregates.rawChangedAt('2026-11-29');

    // Assess: 11-28 has files but no marker (a build that did not finish), so it is not built.
    expect([...built]).toEqual([['2026-11-29', new Date(1764464400000)]]);
    expect(changed).toEqual(new Date('2026-11-30T02:00:00Z'));
    expect(await aggregates.rawChangedAt('2026-11-27')).toBeNull();
  });

  it('replace a day whole: the old files go, UNLOAD writes the day by kind, then the marker of its start', async () => {
    // Prepare
    const { s3, calls, objects } = fakeS3({
      'aggregates/usage_daily/dt=2026-11-29/kind=spend/old': new Date('2026-11-30T01:00:00Z'),
      'aggregates/usage_daily/dt=2026-11-29/_built-1764464400000': new Date('2026-11-30T01:01:00Z'),
    });
    const queries: string[] = [];
    const aggregates = createAthenaAggregates({
      s3,
      bucket: 'lake',
      engine: {
        async query(sql) {
          queries.push(sql);
          return [];
        },
      },
    });

    // Act
    await aggregates.rebuild('2026-11-29', buildDaySql());

    // Assess
    expect(queries).toHaveLength(1);
    expect(queries[0]).toContain("WHERE dt = '2026-11-29'");
    expect(queries[0]).toMatch(/^UNLOAD \(SELECT team_id, .*, kind FROM \(/);
    expect(queries[0]).toContain(
      "TO 's3://lake/aggregates/usage_daily/dt=2026-11-29/'\nWITH (format = 'PARQUET', compression = 'ZSTD', partitioned_by = ARRAY['kind'])",
    );
    expect(
      calls.indexOf('DeleteObjectCommand aggregates/usage_daily/dt=2026-11-29/kind=spend/old'),
    ).toBeGreaterThan(calls.indexOf('HeadObjectCommand aggregates/started/2026-11-29'));
    expect(Object.keys(objects).filter((k) => k.includes('dt=2026-11-29'))).toEqual([
      `aggregates/usage_daily/dt=2026-11-29/_built-${Date.parse('2026-12-01T00:10:00Z')}`,
    ]);
  });
});
