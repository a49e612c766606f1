import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Clock } from '../../core/ports.ts';
import type { UsageSpill } from './firehose-sink.ts';

/**
 * Undelivered usage records as JSON-lines objects under `<prefix>dt=YYYY-MM-DD/<time>-<uuid>.jsonl` in
 * the lake bucket — outside the `usage/` prefix the Glue table reads, so Athena never counts them
 * before they are replayed through Firehose. Keys sort by time, so replay goes oldest first.
 */
export function createS3Spill(
  s3: () => Promise<S3Client>,
  bucket: string,
  prefix: string,
  clock: Clock,
): UsageSpill {
  // Loaded on the first spill, not at cold start (on-first-use.ts).
  const sdk = async () => {
    const [commands, client] = await Promise.all([import('@aws-sdk/client-s3'), s3()]);
    return { ...commands, client };
  };
  return {
    async put(lines) {
      const { client, PutObjectCommand } = await sdk();
      const now = clock.now().toISOString();
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `${prefix}dt=${now.slice(0, 10)}/${now.replace(/[:.]/g, '')}-${randomUUID()}.jsonl`,
          Body: `${lines.join('\n')}\n`,
          ContentType: 'application/x-ndjson',
        }),
      );
    },
    async list() {
      const { client, ListObjectsV2Command } = await sdk();
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        keys.push(...(page.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])));
        token = page.NextContinuationToken;
      } while (token);
      return keys.sort();
    },
    async read(key) {
      const { client, GetObjectCommand } = await sdk();
      const { Body } = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const text = (await Body?.transformToString()) ?? '';
      return text.split('\n').filter((line) => line.trim() !== '');
    },
    async remove(key) {
      const { client, DeleteObjectCommand } = await sdk();
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
  };
}
