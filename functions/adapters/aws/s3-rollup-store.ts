import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Rollup } from '../../core/analytics/rollup-document.ts';
import type { RollupStore } from '../../core/ports/rollups.ts';

/**
 * The rollup as one JSON object in S3: the scheduled rollup function writes it, the admin API reads
 * it. It is usage data (spend per person included), so it lives in the private lake bucket and only
 * the admin API serves it, to callers whose role allows.
 */
export function createS3RollupStore(
  client: S3Client,
  bucket: string,
  key: string,
): RollupStore & {
  save(rollup: Rollup): Promise<void>;
} {
  return {
    async latest() {
      try {
        const { Body } = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return Body ? (JSON.parse(await Body.transformToString()) as Rollup) : undefined;
      } catch (err) {
        if (err instanceof NoSuchKey) return undefined;
        throw err;
      }
    },
    async save(rollup) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: JSON.stringify(rollup),
          ContentType: 'application/json',
        }),
      );
    },
  };
}
