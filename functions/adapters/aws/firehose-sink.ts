import {
  type _Record as FirehoseRecord,
  PutRecordBatchCommand,
  type PutRecordBatchCommandOutput,
} from '@aws-sdk/client-firehose';
import type { TelemetrySink, UsageSink } from '../../core/ports/lake.ts';
import type { TelemetryRecord } from '../../core/telemetry/record.ts';
import { type UsageRecord, UsageRecordSchema } from '../../core/usage/record.ts';

/** The one call this adapter makes; a FirehoseClient fits, and so does a fake in tests. */
export interface FirehosePutRecordBatch {
  send(command: PutRecordBatchCommand): Promise<PutRecordBatchCommandOutput>;
}

export interface FirehoseSinkOptions {
  client: FirehosePutRecordBatch;
  streamName: string;
  /** Attempts per batch, counting the first; entries still failing after the last one are reported. */
  maxAttempts?: number;
  /** First backoff delay in ms; doubles each retry, with full jitter, capped at 5 s. */
  baseDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /**
   * Where records go that Firehose would not take after every retry (or could not be reached for):
   * a durable store that a later run replays with `replaySpilled`. Without it such a write fails.
   */
  spill?: UsageSpill;
}

/** A durable place for undelivered usage records, as JSON lines, until they are replayed. */
export interface UsageSpill {
  put(lines: string[]): Promise<void>;
  /** The spilled batches, oldest first. */
  list(): Promise<string[]>;
  read(id: string): Promise<string[]>;
  remove(id: string): Promise<void>;
}

/** Records that Firehose did not accept after every retry, or a call the SDK could not complete. */
export class UsageDeliveryError extends Error {
  override name = 'UsageDeliveryError';
  constructor(
    message: string,
    readonly undelivered: Uint8Array[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// https://docs.aws.amazon.com/firehose/latest/APIReference/API_PutRecordBatch.html
const MAX_RECORDS_PER_CALL = 500;
const MAX_BYTES_PER_CALL = 4 * 1024 * 1024;
const MAX_BYTES_PER_RECORD = 1_000 * 1024;
const MAX_DELAY_MS = 5_000;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The AWS UsageSink: one JSON line per record into Firehose, which buffers them into S3 (and converts
 * to Parquet there). PutRecordBatch can answer 200 with some entries failed; only those are retried.
 */
export function createFirehoseSink(options: FirehoseSinkOptions): UsageSink {
  const put = firehosePut(options);
  return {
    async write(records: UsageRecord[]): Promise<void> {
      await put(records.map(encodeRecord));
    },
  };
}

/**
 * The agents' telemetry into its own stream, with the same retries of failed entries. No spill: an
 * export the stream would not take is answered 503, and the agent's exporter sends it again.
 */
export function createTelemetryFirehoseSink(options: Omit<FirehoseSinkOptions, 'spill'>): TelemetrySink {
  const put = firehosePut(options);
  return {
    async write(records: TelemetryRecord[]): Promise<void> {
      await put(records.map(encodeTelemetry));
    },
  };
}

function firehosePut({
  client,
  streamName,
  maxAttempts = 4,
  baseDelayMs = 100,
  sleep = realSleep,
  random = Math.random,
  spill,
}: FirehoseSinkOptions): (encoded: Uint8Array[]) => Promise<void> {
  const backoff = (retry: number) => random() * Math.min(MAX_DELAY_MS, baseDelayMs * 2 ** retry);

  async function putWithRetries(batch: Uint8Array[]): Promise<void> {
    let pending = batch;
    let lastError = '';
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (attempt > 0) await sleep(backoff(attempt - 1));
      const output = await send(pending);
      const failed = failedEntries(pending, output);
      if (failed.records.length === 0) return;
      pending = failed.records;
      lastError = failed.error;
    }
    throw new UsageDeliveryError(
      `Firehose stream '${streamName}' rejected ${pending.length} usage record(s) after ${maxAttempts} attempts (${lastError})`,
      pending,
    );
  }

  async function send(records: Uint8Array[]): Promise<PutRecordBatchCommandOutput> {
    try {
      // The SDK has already retried throttling, 5xx and timeouts by its own policy.
      return await client.send(
        new PutRecordBatchCommand({
          DeliveryStreamName: streamName,
          Records: records.map((Data): FirehoseRecord => ({ Data })),
        }),
      );
    } catch (cause) {
      throw new UsageDeliveryError(
        `Firehose PutRecordBatch to '${streamName}' failed: ${cause instanceof Error ? cause.message : String(cause)}`,
        records,
        { cause },
      );
    }
  }

  /** Puts one batch; what still fails goes to the spill, so the write only fails when both do. */
  async function deliver(batch: Uint8Array[]): Promise<void> {
    try {
      await putWithRetries(batch);
    } catch (err) {
      if (!(err instanceof UsageDeliveryError) || !spill) throw err;
      await spill.put(err.undelivered.map((line) => decoder.decode(line).trimEnd()));
    }
  }

  return async (encoded) => {
    for (const batch of toBatches(encoded)) await deliver(batch);
  };
}

export interface ReplayResult {
  /** Spilled batches delivered and removed. */
  batches: number;
  records: number;
  /** Batches that could not be read, parsed or delivered; they stay for a person or the next run. */
  failed: number;
  /** Whether batches were left because `timeLeft` ran out. */
  stopped: boolean;
}

/**
 * Sends spilled batches to `sink` (a Firehose sink without a spill), oldest first, up to 500 records a
 * write, removing each batch once delivered. A batch that cannot be read or parsed, or whose write
 * fails, stays (and is counted as failed) without stopping the others; replay stops when `timeLeft`
 * says so, leaving the rest for the next run. Delivery is at-least-once: a batch delivered and then
 * not removed is sent twice, which the queries' dedupe on request_id absorbs.
 */
export async function replaySpilled(
  spill: UsageSpill,
  sink: UsageSink,
  timeLeft: () => boolean = () => true,
): Promise<ReplayResult> {
  const result: ReplayResult = { batches: 0, records: 0, failed: 0, stopped: false };
  let group: Array<{ id: string; records: UsageRecord[] }> = [];
  const flush = async () => {
    if (group.length === 0) return;
    const sending = group;
    group = [];
    try {
      await sink.write(sending.flatMap((g) => g.records));
    } catch {
      result.failed += sending.length;
      return;
    }
    for (const { id, records } of sending) {
      await spill.remove(id);
      result.batches += 1;
      result.records += records.length;
    }
  };
  for (const id of await spill.list()) {
    if (!timeLeft()) {
      result.stopped = true;
      break;
    }
    let records: UsageRecord[];
    try {
      records = (await spill.read(id)).map((line) => UsageRecordSchema.parse(JSON.parse(line)));
    } catch {
      result.failed += 1;
      continue;
    }
    if (group.reduce((n, g) => n + g.records.length, 0) + records.length > MAX_RECORDS_PER_CALL)
      await flush();
    group.push({ id, records });
  }
  await flush();
  return result;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encodeRecord(record: UsageRecord): Uint8Array {
  const parsed = UsageRecordSchema.safeParse(record);
  if (!parsed.success) {
    throw new Error(`Invalid usage record '${String(record?.request_id)}': ${parsed.error.message}`, {
      cause: parsed.error,
    });
  }
  const data = encoder.encode(`${JSON.stringify(parsed.data)}\n`);
  if (data.byteLength > MAX_BYTES_PER_RECORD) {
    throw new UsageDeliveryError(
      `Usage record '${record.request_id}' is ${data.byteLength} bytes, over Firehose's ${MAX_BYTES_PER_RECORD}`,
      [data],
    );
  }
  return data;
}

/**
 * A telemetry record as a JSON line. Not checked again here: the receiver builds records only through
 * `TelemetryRecordSchema` (core/telemetry/records.ts), which stays out of the proxy's main bundle.
 */
function encodeTelemetry(record: TelemetryRecord): Uint8Array {
  return encoder.encode(`${JSON.stringify(record)}\n`);
}

/** Splits into calls of at most 500 records and 4 MiB of data. */
export function toBatches(records: Uint8Array[]): Uint8Array[][] {
  const batches: Uint8Array[][] = [];
  let current: Uint8Array[] = [];
  let bytes = 0;
  for (const record of records) {
    if (current.length === MAX_RECORDS_PER_CALL || bytes + record.byteLength > MAX_BYTES_PER_CALL) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += record.byteLength;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Entries come back in request order; those with an ErrorCode were not accepted. */
function failedEntries(
  sent: Uint8Array[],
  output: PutRecordBatchCommandOutput,
): { records: Uint8Array[]; error: string } {
  if (!output.FailedPutCount) return { records: [], error: '' };
  const responses = output.RequestResponses ?? [];
  const records: Uint8Array[] = [];
  let error = '';
  sent.forEach((record, i) => {
    const response = responses[i];
    if (response?.ErrorCode) {
      records.push(record);
      error ||= `${response.ErrorCode}: ${response.ErrorMessage ?? ''}`.trim();
    }
  });
  // A count without matching entries should not happen; resend everything rather than lose records.
  if (records.length === 0) return { records: sent, error: `FailedPutCount ${output.FailedPutCount}` };
  return { records, error };
}
