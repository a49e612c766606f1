import { type GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createS3RollupStore } from '../../../../functions/adapters/aws/s3-rollup-store.ts';
import type { Rollup } from '../../../../functions/core/analytics/rollup-document.ts';

/** An S3 stand-in for the two calls the store makes (an SDK fake, as allowed for one-call adapters). */
function fakeS3() {
  const objects = new Map<string, string>();
  const client = {
    async send(command: GetObjectCommand | PutObjectCommand) {
      const { Bucket, Key } = command.input;
      if (command instanceof PutObjectCommand) {
        objects.set(`${Bucket}/${Key}`, String(command.input.Body));
        return {};
      }
      const body = objects.get(`${Bucket}/${Key}`);
      if (body === undefined)
        throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} });
      return { Body: { transformToString: async () => body } };
    },
  };
  return { client: client as unknown as S3Client, objects };
}

describe('the S3 rollup store', () => {
  it('answers undefined before the first rollup, and the saved rollup after', async () => {
    // Prepare
    const { client, objects } = fakeS3();
    const store = createS3RollupStore(client, 'lake', 'rollups/latest.json');
    const rollup = { version: 1, generated_at: '2026-12-01T10:00:00.000Z' } as Rollup;

    // Act
    const before = await store.latest();
    await store.save(rollup);
    const after = await store.latest();

    // Assess
    expect(before).toBeUndefined();
    expect(after).toEqual(rollup);
    expect([...objects.keys()]).toEqual(['lake/rollups/latest.json']);
  });

  it('lets any other S3 failure through', async () => {
    // Prepare
    const client = { send: async () => Promise.reject(new Error('AccessDenied')) } as unknown as S3Client;

    // Act
    const attempt = createS3RollupStore(client, 'lake', 'k').latest();

    // Assess
    await expect(attempt).rejects.toThrow('AccessDenied');
  });
});
