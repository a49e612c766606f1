import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createS3Spill } from '../../../../functions/adapters/aws/s3-spill.ts';

/** An S3 stand-in for the four calls the spill makes, paging its listings two keys at a time. */
function fakeS3() {
  const objects = new Map<string, string>();
  const client = {
    async send(command: unknown) {
      if (command instanceof PutObjectCommand) {
        objects.set(String(command.input.Key), String(command.input.Body));
        return {};
      }
      if (command instanceof GetObjectCommand) {
        const body = objects.get(String(command.input.Key)) ?? '';
        return { Body: { transformToString: async () => body } };
      }
      if (command instanceof DeleteObjectCommand) {
        objects.delete(String(command.input.Key));
        return {};
      }
      if (command instanceof ListObjectsV2Command) {
        const keys = [...objects.keys()].filter((k) => k.startsWith(String(command.input.Prefix))).sort();
        const start = Number(command.input.ContinuationToken ?? 0);
        const next = start + 2 < keys.length ? String(start + 2) : undefined;
        return {
          Contents: keys.slice(start, start + 2).map((Key) => ({ Key })),
          NextContinuationToken: next,
        };
      }
      throw new Error('unexpected command');
    },
  };
  return { client: client as unknown as S3Client, objects };
}

describe('the S3 usage spill', () => {
  it('puts batches under spill/dt=<day>/, lists them oldest first across pages, reads and removes them', async () => {
    // Prepare
    const { client, objects } = fakeS3();
    let now = new Date('2026-12-01T10:00:00.000Z');
    const spill = createS3Spill(async () => client, 'lake', 'spill/', { now: () => now });
    for (const n of [1, 2, 3]) {
      await spill.put([`{"request_id":"r${n}"}`, `{"request_id":"s${n}"}`]);
      now = new Date(now.getTime() + 60_000);
    }

    // Act
    const listed = await spill.list();
    const first = await spill.read(listed[0]!);
    await spill.remove(listed[0]!);

    // Assess
    expect(listed).toHaveLength(3);
    expect(listed.every((k) => k.startsWith('spill/dt=2026-12-01/2026-12-01T10'))).toBe(true);
    expect(first).toEqual(['{"request_id":"r1"}', '{"request_id":"s1"}']);
    expect(objects.size).toBe(2);
  });
});
