import { randomUUID } from 'node:crypto';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../core/ports/clock.ts';
import { openDuckDb, sqlString, telemetryColumnsForDuckDb, usageColumnsForDuckDb } from './duckdb-query.ts';

const COLUMNS = { usage: usageColumnsForDuckDb, telemetry: telemetryColumnsForDuckDb };

/**
 * Compacts the local lake like Firehose's Parquet conversion does on AWS: each day's JSON-lines files
 * become one zstd Parquet file. Only days that ended more than `settleMs` ago are touched — a request
 * that started before midnight may still write to its day for as long as its upstream call can last —
 * and of those only files untouched for `settleMs`; a day's JSON files are removed only after the
 * Parquet file holds every one of their records. The usage records by default; the agents' telemetry,
 * which has files of its own, when asked.
 */
export async function compactLake(options: {
  dataDir: string;
  clock: Clock;
  settleMs?: number;
  table?: 'usage' | 'telemetry';
}): Promise<{ days: string[]; records: number }> {
  const table = options.table ?? 'usage';
  const root = join(options.dataDir, table);
  const settleMs = options.settleMs ?? 86_400_000;
  const cutoff = new Date(options.clock.now().getTime() - settleMs - 86_400_000).toISOString().slice(0, 10);
  const partitions = (await readdir(root).catch(() => [] as string[]))
    .filter((name) => /^dt=\d{4}-\d{2}-\d{2}$/.test(name) && name.slice(3) <= cutoff)
    .sort();
  const done = { days: [] as string[], records: 0 };
  if (partitions.length === 0) return done;
  // Only now: most hourly runs find nothing to compact and never load DuckDB.
  const instance = await openDuckDb();
  const connection = await instance.connect();
  try {
    const columns = COLUMNS[table]();
    const typed = columns.map((c) => `${c.name}: '${c.type}'`).join(', ');
    for (const partition of partitions) {
      const dir = join(root, partition);
      // A file written to within the settle time (late records, a re-price) waits for the next run, so
      // nothing can be appended between counting it and removing it.
      const names = (await readdir(dir)).filter((f) => f.endsWith('.jsonl'));
      const quiet = await Promise.all(
        names.map(async (f) => (await stat(join(dir, f))).mtimeMs < options.clock.now().getTime() - settleMs),
      );
      const files = names.filter((_, i) => quiet[i]);
      if (files.length === 0) continue;
      const list = `[${files.map((f) => sqlString(join(dir, f))).join(', ')}]`;
      const source = `read_json(${list}, columns = {${typed}}, format = 'newline_delimited', hive_partitioning = false)`;
      const name = `part-${randomUUID()}.parquet`;
      const staging = join(dir, `.${name}.tmp`);
      await connection.run(
        `COPY (SELECT * FROM ${source} ORDER BY ts) TO ${sqlString(staging)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      const count = async (from: string) =>
        Number(
          (await connection.runAndReadAll(`SELECT count(*) AS n FROM ${from}`)).getRowObjects()[0]?.n ?? -1,
        );
      const [inJson, inParquet] = [await count(source), await count(`read_parquet(${sqlString(staging)})`)];
      if (inJson !== inParquet) {
        await rm(staging, { force: true });
        throw new Error(
          `Compaction of ${partition} wrote ${inParquet} of ${inJson} records; its JSON files are kept`,
        );
      }
      // Renamed into place before the JSON goes: for a moment both are read, and the queries' dedupe
      // (on request_id, on telemetry_id) counts each record once.
      await rename(staging, join(dir, name));
      await Promise.all(files.map((f) => rm(join(dir, f))));
      done.days.push(partition.slice(3));
      done.records += inJson;
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return done;
}
