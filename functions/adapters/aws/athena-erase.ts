import { CopyObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ErasureLake, ErasurePart } from '../../core/ports/erasure.ts';
import type { QueryEngine } from '../../core/ports/lake.ts';
import { ERASABLE_TABLES, keptRowsSql, personDaysSql } from '../../core/usage/erasure-sql.ts';
import { deleteObjects, listObjects } from './s3-objects.ts';

/** Where UNLOAD writes a day's remaining rows before they are copied into the partition. */
export const ERASURE_STAGING_PREFIX = 'erasure/';

/**
 * The lake's side of an erasure on AWS. Athena finds the days, and `UNLOAD` writes the rows that stay
 * (zstd Parquet, as the aggregates are written) under `erasure/<job>/<table>/dt=<day>/`: UNLOAD writes
 * only into an empty location and never into the table's own prefix while reading it. S3 copies them
 * into the partition and deletes the objects listed before. https://docs.aws.amazon.com/athena/latest/ug/unload.html
 */
export function createAthenaEraser(options: {
  s3: Pick<S3Client, 'send'>;
  bucket: string;
  engine: QueryEngine;
}): ErasureLake {
  const { s3, bucket, engine } = options;
  const partition = (part: ErasurePart) => `${part.table}/dt=${part.day}/`;
  const staging = (jobId: string, part: ErasurePart) =>
    `${ERASURE_STAGING_PREFIX}${jobId}/${part.table}/dt=${part.day}/`;
  const list = async (prefix: string) => (await listObjects(s3, bucket, prefix)).map((o) => o.key).sort();
  const remove = (keys: string[]) => deleteObjects(s3, bucket, keys);

  return {
    async findParts(userId) {
      const rows = await engine.query(personDaysSql(userId));
      return rows.map((row) => {
        const table = ERASABLE_TABLES.find((t) => t === row.lake_table);
        if (!table || typeof row.dt !== 'string')
          throw new Error(`Unexpected row from the erasure search: ${JSON.stringify(row)}`);
        return { table, day: row.dt, records: Number(row.records) };
      });
    },
    list: (part) => list(partition(part)),
    async stage(jobId, part, userId, listed) {
      const target = staging(jobId, part);
      await remove(await list(target));
      const select = keptRowsSql(
        part.table,
        part.day,
        userId,
        listed.map((key) => `s3://${bucket}/${key}`),
      );
      await engine.query(
        `UNLOAD (${select})\nTO 's3://${bucket}/${target}'\nWITH (format = 'PARQUET', compression = 'ZSTD')`,
      );
    },
    async publish(jobId, part, tag) {
      const copied: string[] = [];
      for (const [i, key] of (await list(staging(jobId, part))).entries()) {
        const to = `${partition(part)}${tag}${i}.parquet`;
        await s3.send(
          new CopyObjectCommand({
            Bucket: bucket,
            Key: to,
            CopySource: `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`,
          }),
        );
        copied.push(to);
      }
      return copied;
    },
    remove,
    async clearStaging(jobId, part) {
      await remove(await list(staging(jobId, part)));
    },
  };
}
