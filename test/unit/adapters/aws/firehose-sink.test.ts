import type { PutRecordBatchCommand, PutRecordBatchCommandOutput } from '@aws-sdk/client-firehose';
import { describe, expect, it } from 'vitest';
import { createFirehoseSink, UsageDeliveryError } from '../../../../functions/adapters/aws/firehose-sink.ts';
import type { UsageRecord } from '../../../../functions/core/usage/record.ts';
import { usageRecord } from '../../../support/usage-fixture.ts';

type Answer = Partial<PutRecordBatchCommandOutput> | Error;

/** A Firehose client that answers from a script and keeps the lines each call carried. */
function scriptedFirehose(answers: Answer[] = []) {
  const calls: Array<{ stream: string | undefined; lines: string[] }> = [];
  const decoder = new TextDecoder();
  const client = {
    async send(command: PutRecordBatchCommand): Promise<PutRecordBatchCommandOutput> {
      const records = command.input.Records ?? [];
      calls.push({
        stream: command.input.DeliveryStreamName,
        lines: records.map((r) => decoder.decode(r.Data)),
      });
      const answer = answers[calls.length - 1] ?? {};
      if (answer instanceof Error) throw answer;
      return {
        $metadata: { httpStatusCode: 200 },
        FailedPutCount: 0,
        RequestResponses: records.map((_, i) => ({ RecordId: `id-${calls.length}-${i}` })),
        ...answer,
      };
    },
  };
  return { client, calls };
}

const noSleep = async () => {};

function records(n: number, overrides: Partial<UsageRecord> = {}): UsageRecord[] {
  return Array.from({ length: n }, (_, i) => usageRecord({ request_id: `req-${i}`, ...overrides }));
}

describe('createFirehoseSink', () => {
  it('sends each record as one JSON line to the named stream', async () => {
    // Prepare
    const { client, calls } = scriptedFirehose();
    const sink = createFirehoseSink({ client, streamName: 'tollgate-usage', sleep: noSleep });
    const record = usageRecord({ request_id: 'r-1' });

    // Act
    await sink.write([record]);

    // Assess
    expect(calls).toEqual([{ stream: 'tollgate-usage', lines: [`${JSON.stringify(record)}\n`] }]);
  });

  it('retries only the entries that came back with an ErrorCode', async () => {
    // Prepare
    const { client, calls } = scriptedFirehose([
      {
        FailedPutCount: 1,
        RequestResponses: [
          { RecordId: 'a' },
          { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' },
          { RecordId: 'c' },
        ],
      },
    ]);
    const sink = createFirehoseSink({ client, streamName: 's', sleep: noSleep });
    const batch = records(3);

    // Act
    await sink.write(batch);

    // Assess
    expect(calls).toHaveLength(2);
    expect(calls[1]?.lines.map((line) => JSON.parse(line).request_id)).toEqual(['req-1']);
  });

  it('waits with growing, jittered delays between attempts', async () => {
    // Prepare
    const failOne = { FailedPutCount: 1, RequestResponses: [{ ErrorCode: 'InternalFailure' }] };
    const { client } = scriptedFirehose([failOne, failOne, failOne]);
    const delays: number[] = [];
    const sink = createFirehoseSink({
      client,
      streamName: 's',
      baseDelayMs: 100,
      random: () => 0.5,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });

    // Act
    await sink.write(records(1));

    // Assess
    expect(delays).toEqual([50, 100, 200]);
  });

  it('gives up after the last attempt and says how many records were not delivered', async () => {
    // Prepare
    const failOne = {
      FailedPutCount: 1,
      RequestResponses: [{ RecordId: 'ok' }, { ErrorCode: 'InternalFailure', ErrorMessage: 'boom' }],
    };
    const stillFailing = { FailedPutCount: 1, RequestResponses: [{ ErrorCode: 'InternalFailure' }] };
    const { client, calls } = scriptedFirehose([failOne, stillFailing, stillFailing]);
    const sink = createFirehoseSink({ client, streamName: 's', maxAttempts: 3, sleep: noSleep });

    // Act
    const result = sink.write(records(2));

    // Assess
    await expect(result).rejects.toSatisfy(
      (error) =>
        error instanceof UsageDeliveryError &&
        error.undelivered.length === 1 &&
        /InternalFailure/.test(error.message),
    );
    expect(calls).toHaveLength(3);
  });

  it('splits more than 500 records into calls of at most 500', async () => {
    // Prepare
    const { client, calls } = scriptedFirehose();
    const sink = createFirehoseSink({ client, streamName: 's', sleep: noSleep });

    // Act
    await sink.write(records(1_201));

    // Assess
    expect(calls.map((c) => c.lines.length)).toEqual([500, 500, 201]);
  });

  it('splits calls before they reach 4 MiB of data', async () => {
    // Prepare: each record is a little over 900 KiB, so only four fit in 4 MiB.
    const { client, calls } = scriptedFirehose();
    const sink = createFirehoseSink({ client, streamName: 's', sleep: noSleep });
    const big = records(9, { key_alias: 'x'.repeat(900 * 1024) });

    // Act
    await sink.write(big);

    // Assess
    expect(calls.map((c) => c.lines.length)).toEqual([4, 4, 1]);
    for (const call of calls) {
      expect(call.lines.reduce((n, line) => n + Buffer.byteLength(line), 0)).toBeLessThanOrEqual(
        4 * 1024 * 1024,
      );
    }
  });

  it('refuses a record larger than Firehose accepts without sending anything', async () => {
    // Prepare
    const { client, calls } = scriptedFirehose();
    const sink = createFirehoseSink({ client, streamName: 's', sleep: noSleep });

    // Act
    const result = sink.write([usageRecord({ key_alias: 'x'.repeat(1_000 * 1024) })]);

    // Assess
    await expect(result).rejects.toThrow(UsageDeliveryError);
    expect(calls).toHaveLength(0);
  });

  it('refuses an invalid record without sending anything', async () => {
    // Prepare
    const { client, calls } = scriptedFirehose();
    const sink = createFirehoseSink({ client, streamName: 's', sleep: noSleep });
    const invalid = { ...usageRecord(), cost_micros: -5 };

    // Act
    const result = sink.write([invalid]);

    // Assess
    await expect(result).rejects.toThrow(/Invalid usage record/);
    expect(calls).toHaveLength(0);
  });

  it('wraps an SDK failure in its own error and keeps the SDK error as the cause', async () => {
    // Prepare
    const sdkError = Object.assign(new Error('Stream tollgate not found'), {
      name: 'ResourceNotFoundException',
    });
    const { client } = scriptedFirehose([sdkError]);
    const sink = createFirehoseSink({ client, streamName: 'tollgate', sleep: noSleep });

    // Act
    const result = sink.write(records(1));

    // Assess
    await expect(result).rejects.toSatisfy(
      (error) =>
        error instanceof UsageDeliveryError &&
        error.cause === sdkError &&
        error.name === 'UsageDeliveryError',
    );
  });
});
