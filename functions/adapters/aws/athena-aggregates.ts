import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { AGGREGATES_PREFIX, aggregateColumns } from '../../core/analytics/aggregates.ts';
import type { LakeAggregates, QueryEngine } from '../../core/ports/lake.ts';
import { toSqlLiteral } from './athena-query.ts';
import { deleteObjects, listObjects } from './s3-objects.ts';

const USAGE_PREFIX = 'usage/';
/** Athena skips objects whose names begin with `_` or `.`, so markers sit beside the data unread. */
const MARKER = /\/_built-(\d+)$/;
const STARTED_PREFIX = 'aggregates/started/';

/**
 * The aggregates on AWS: Athena writes each day with `UNLOAD ... TO s3://<lake>/aggregates/usage_daily/
 * dt=<day>/` as zstd Parquet partitioned by `kind` (the Glue table `usage_daily` reads it with
 * partition projection); a marker `_built-<ms>` names when the build started, by S3's own clock, the
 * one that dates the raw objects Firehose writes. https://docs.aws.amazon.com/athena/latest/ug/unload.html
 */
export function createAthenaAggregates(options: {
  s3: Pick<S3Client, 'send'>;
  bucket: string;
  engine: QueryEngine;
}): LakeAggregates {
  const { s3, bucket } = options;
  const list = (prefix: string) => listObjects(s3, bucket, prefix);
  const removeAll = async (prefix: string) =>
    deleteObjects(
      s3,
      bucket,
      (await list(prefix)).map((o) => o.key),
    );
  const dayPrefix = (day: string) => `${AGGREGATES_PREFIX}dt=${day}/`;

  return {
    async built() {
      const days = new Map<string, Date>();
      for (const { key } of await list(AGGREGATES_PREFIX)) {
        const day = /dt=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1];
        const ms = MARKER.exec(key)?.[1];
        if (day && ms) days.set(day, new Date(Number(ms)));
      }
      return days;
    },
    async rawChangedAt(day) {
      const objects = await list(`${USAGE_PREFIX}dt=${day}/`);
      return objects.length === 0 ? null : new Date(Math.max(...objects.map((o) => o.modified.getTime())));
    },
    async rebuild(day, sql) {
      // S3's time at the start: an object written to the day later is newer than this.
      const startedKey = `${STARTED_PREFIX}${day}`;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: startedKey, Body: '' }));
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: startedKey }));
      const started = head.LastModified ?? new Date();
      // UNLOAD writes only into an empty location, and a day is replaced whole.
      await removeAll(dayPrefix(day));
      const columns = aggregateColumns()
        .map((c) => c.name)
        .filter((name) => name !== 'dt');
      const select = sql.replace('dt = ?', `dt = ${toSqlLiteral(checkedDay(day))}`);
      await options.engine.query(
        `UNLOAD (SELECT ${columns.join(', ')} FROM (${select}))
TO 's3://${bucket}/${dayPrefix(day)}'
WITH (format = 'PARQUET', compression = 'ZSTD', partitioned_by = ARRAY['kind'])`,
      );
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `${dayPrefix(day)}_built-${started.getTime()}`,
          Body: '',
        }),
      );
    },
    async remove(day) {
      await removeAll(dayPrefix(day));
    },
  };
}

function checkedDay(day: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new RangeError(`Expected a day as YYYY-MM-DD, got '${day}'`);
  return day;
}
