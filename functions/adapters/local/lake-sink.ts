import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../core/ports/clock.ts';
import type { TelemetrySink, UsageSink } from '../../core/ports/lake.ts';
import { type TelemetryRecord, TelemetryRecordSchema } from '../../core/telemetry/record.ts';
import { type UsageRecord, UsageRecordSchema } from '../../core/usage/record.ts';

export interface LakeSinkOptions {
  /** Root of the local data dir; records land under `<dataDir>/usage/dt=YYYY-MM-DD/`. */
  dataDir: string;
  /** Names the hourly file a write goes to, as Firehose names objects by delivery time. */
  clock: Clock;
  /**
   * A file that has reached this size is closed and the next write starts another (`-1`, `-2`...).
   * @default 64 MiB, Firehose's buffer for Parquet conversion
   */
  maxFileBytes?: number;
}

/**
 * The local stand-in for Firehose → S3: JSON lines in the same `dt=` partition layout, so the DuckDB
 * engine reads them with the SQL Athena runs. Files roll every hour and when they reach
 * `maxFileBytes`. Each sink gets its own id in file names, so two processes (or two sinks) never
 * append to the same file. Every write is appended before it resolves: nothing is held in memory, so
 * a stopped process loses nothing that was acknowledged.
 */
export function createLakeSink(options: LakeSinkOptions): UsageSink {
  return createLakeFileSink<UsageRecord>(options, 'usage', (record) => {
    const parsed = UsageRecordSchema.safeParse(record);
    if (parsed.success) return parsed.data;
    throw new Error(`Invalid usage record '${String(record?.request_id)}': ${parsed.error.message}`, {
      cause: parsed.error,
    });
  });
}

/** The agents' telemetry beside the usage records: `<dataDir>/telemetry/dt=YYYY-MM-DD/`, as its Firehose stream files it. */
export function createTelemetryLakeSink(options: LakeSinkOptions): TelemetrySink {
  return createLakeFileSink<TelemetryRecord>(options, 'telemetry', (record) => {
    const parsed = TelemetryRecordSchema.safeParse(record);
    if (parsed.success) return parsed.data;
    throw new Error(`Invalid telemetry record '${String(record?.telemetry_id)}': ${parsed.error.message}`, {
      cause: parsed.error,
    });
  });
}

function createLakeFileSink<T extends { dt: string }>(
  { dataDir, clock, maxFileBytes = 64 * 1024 * 1024 }: LakeSinkOptions,
  table: string,
  check: (record: T) => T,
): { write(records: T[]): Promise<void> } {
  const writerId = randomUUID().slice(0, 8);
  // Per partition and hour: which roll of the file is open and how much it holds.
  const files = new Map<string, { roll: number; bytes: number }>();
  const fileFor = (day: string, hour: string, adding: number) => {
    const id = `${day}/${hour}`;
    const file = files.get(id) ?? { roll: 0, bytes: 0 };
    if (file.bytes > 0 && file.bytes + adding > maxFileBytes)
      Object.assign(file, { roll: file.roll + 1, bytes: 0 });
    file.bytes += adding;
    files.set(id, file);
    return `${table}-${hour}-${writerId}${file.roll === 0 ? '' : `-${file.roll}`}.jsonl`;
  };
  // The records of one event-loop tick go out in one append per day; each write resolves once its
  // own lines are appended. An append is one write(2) into the page cache on this thread, as the
  // journal's are: cheaper than three trips through libuv's thread pool (open, write, close), and
  // never interleaved with another. By path each time, never a held descriptor, so a partition
  // rewritten by erasure or compaction is appended to as it now stands.
  let batch: { lines: Map<string, string>; done: Promise<void> } | undefined;
  // Partition folders this sink made (compaction removes files, never a folder).
  const madeDirs = new Set<string>();

  return {
    async write(records: T[]): Promise<void> {
      // Checked here, so a bad record fails its own write and never a batch it shares.
      const linesByDay = toLinesByDay(records, check);
      if (!batch) {
        const next = { lines: new Map<string, string>(), done: Promise.resolve() };
        next.done = new Promise<void>((r) => setImmediate(r)).then(() => {
          batch = undefined;
          const hour = hourStamp(clock.now());
          for (const key of files.keys()) if (!key.endsWith(hour)) files.delete(key);
          appendAll(madeDirs, join(dataDir, table), next.lines, (day, text) =>
            fileFor(day, hour, Buffer.byteLength(text)),
          );
        });
        batch = next;
      }
      for (const [day, text] of linesByDay) batch.lines.set(day, (batch.lines.get(day) ?? '') + text);
      await batch.done;
    },
  };
}

function toLinesByDay<T extends { dt: string }>(records: T[], check: (record: T) => T): Map<string, string> {
  const byDay = new Map<string, string>();
  for (const record of records) {
    const checked = check(record);
    const line = `${JSON.stringify(checked)}\n`;
    byDay.set(checked.dt, (byDay.get(checked.dt) ?? '') + line);
  }
  return byDay;
}

function appendAll(
  madeDirs: Set<string>,
  tableDir: string,
  linesByDay: Map<string, string>,
  fileName: (day: string, lines: string) => string,
): void {
  for (const [day, lines] of linesByDay) {
    const dir = join(tableDir, `dt=${day}`);
    if (!madeDirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      madeDirs.add(dir);
    }
    appendFileSync(join(dir, fileName(day, lines)), lines, 'utf8');
  }
}

/** `YYYYMMDDTHH` in UTC. */
function hourStamp(now: Date): string {
  return now.toISOString().slice(0, 13).replace(/-/g, '');
}
