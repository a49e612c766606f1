import { DeleteObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

const DELETES_AT_ONCE = 16;

/** Every object under `prefix`, with when it was last written (S3's clock), following the pages. */
export async function listObjects(
  s3: Pick<S3Client, 'send'>,
  bucket: string,
  prefix: string,
): Promise<Array<{ key: string; modified: Date }>> {
  const objects: Array<{ key: string; modified: Date }> = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? [])
      if (o.Key) objects.push({ key: o.Key, modified: o.LastModified ?? new Date(0) });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

/**
 * Deletes exactly these objects, one DeleteObject each, a few at a time: a refusal is an error.
 * (DeleteObjects answers 200 with per-key errors, easy to lose; and moto 5.2 checks its
 * s3:DeleteObject against the bucket's ARN rather than each object's, refusing a grant on a prefix.)
 */
export async function deleteObjects(s3: Pick<S3Client, 'send'>, bucket: string, keys: string[]) {
  for (let i = 0; i < keys.length; i += DELETES_AT_ONCE)
    await Promise.all(
      keys
        .slice(i, i + DELETES_AT_ONCE)
        .map((Key) => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key }))),
    );
}
