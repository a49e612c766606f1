import { randomUUID } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, UsageSink } from '../../core/ports.ts';
import { type UsageRecord, UsageRecordSchema } from '../../core/usage/record.ts';

export interface LakeSinkOptions {
  /** Root of the local data dir; records land under `<dataDir>/usage/dt=YYYY-MM-DD/`. */
  dataDir: string;
  /** Names the hourly file a write goes to, as Firehose names objects by delivery time. */
  clock: Clock;
}

/**
 * The local stand-in for Firehose → S3: JSON lines in the same `dt=` partition layout, so the DuckDB
 * engine reads them with the SQL Athena runs. Each sink gets its own id in file names, so two
 * processes (or two sinks) never append to the same file.
 */
export function createLakeSink({ dataDir, clock }: LakeSinkOptions): UsageSink {
  const writerId = randomUUID().slice(0, 8);
  // Serialised so that concurrent writes never interleave inside a file: fs/promises splits large
  // buffers into several write(2) calls.
  let tail: Promise<unknown> = Promise.resolve();

  return {
    async write(records: UsageRecord[]): Promise<void> {
      const linesByDay = toLinesByDay(records);
      const hour = hourStamp(clock.now());
      const run = tail.then(() => appendAll(dataDir, linesByDay, `usage-${hour}-${writerId}.jsonl`));
      tail = run.catch(() => undefined);
      await run;
    },
  };
}

function toLinesByDay(records: UsageRecord[]): Map<string, string> {
  const byDay = new Map<string, string>();
  for (const record of records) {
    const parsed = UsageRecordSchema.safeParse(record);
    if (!parsed.success) {
      throw new Error(`Invalid usage record '${String(record?.request_id)}': ${parsed.error.message}`, {
        cause: parsed.error,
      });
    }
    const line = `${JSON.stringify(parsed.data)}\n`;
    byDay.set(parsed.data.dt, (byDay.get(parsed.data.dt) ?? '') + line);
  }
  return byDay;
}

async function appendAll(dataDir: string, linesByDay: Map<string, string>, fileName: string): Promise<void> {
  for (const [day, lines] of linesByDay) {
    const dir = join(dataDir, 'usage', `dt=${day}`);
    await mkdir(dir, { recursive: true });
    await appendFile(join(dir, fileName), lines, 'utf8');
  }
}

/** `YYYYMMDDTHH` in UTC. */
function hourStamp(now: Date): string {
  return now.toISOString().slice(0, 13).replace(/-/g, '');
}
