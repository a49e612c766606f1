import { randomUUID } from 'node:crypto';
import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { LakeEraser } from '../../core/ports/lake.ts';
import { openDuckDb, sqlString, telemetryColumnsForDuckDb, usageColumnsForDuckDb } from './duckdb-query.ts';

type Columns = Array<{ name: string; type: string }>;

/**
 * Erasure from the local lake, usage records and telemetry alike: every file of a `dt=` partition holding a record of the person is
 * rewritten as zstd Parquet without them (as compaction writes), and removed once the new file holds
 * every other record. A JSON-lines file is first moved aside, so the sink's next append to that hour
 * starts a new file instead of landing in one being rewritten.
 */
export function createLocalEraser(options: { dataDir: string }): LakeEraser {
  return {
    async eraseUser(userId) {
      const instance = await openDuckDb();
      const connection = await instance.connect();
      try {
        const usage = join(options.dataDir, 'usage');
        const records = await eraseTable(connection, usage, usageColumnsForDuckDb(), userId);
        const telemetry = join(options.dataDir, 'telemetry');
        const points = await eraseTable(connection, telemetry, telemetryColumnsForDuckDb(), userId);
        return { days: records.days, records: records.removed, telemetry: points.removed };
      } finally {
        connection.closeSync();
        instance.closeSync();
      }
    },
  };
}

async function eraseTable(connection: DuckDBConnection, root: string, columns: Columns, userId: string) {
  const erased = { days: [] as string[], removed: 0 };
  for (const partition of (await readdir(root).catch(() => [] as string[])).sort()) {
    if (!/^dt=\d{4}-\d{2}-\d{2}$/.test(partition)) continue;
    const removed = await erasePartition(connection, join(root, partition), columns, userId);
    if (removed > 0) erased.days.push(partition.slice(3));
    erased.removed += removed;
  }
  return erased;
}

async function erasePartition(
  connection: DuckDBConnection,
  dir: string,
  columns: Columns,
  userId: string,
): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.jsonl') && !name.endsWith('.parquet')) continue;
    const file = join(dir, name);
    if ((await count(connection, reader(file, columns), userId)) === 0) continue;
    // Moved aside first: appends to this path from now on make a new file, left as it is.
    const aside = join(dir, `.${name}.erasing`);
    await rename(file, aside);
    await new Promise((resolve) => setImmediate(resolve));
    const source = reader(aside, columns, name.endsWith('.jsonl') ? 'json' : 'parquet');
    const [all, theirs] = [await count(connection, source), await count(connection, source, userId)];
    const staging = join(dir, `.part-${randomUUID()}.parquet.tmp`);
    await connection.run(
      `COPY (SELECT * FROM ${source} WHERE user_id IS DISTINCT FROM ${sqlString(userId)}) TO ${sqlString(staging)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    const kept = await count(connection, `read_parquet(${sqlString(staging)})`);
    if (kept !== all - theirs) {
      await rm(staging, { force: true });
      await rename(aside, file);
      throw new Error(`Erasure in ${dir} kept ${kept} of ${all - theirs} records; ${name} is left as it was`);
    }
    await rename(staging, join(dir, `part-${randomUUID()}.parquet`));
    await rm(aside);
    removed += theirs;
  }
  return removed;
}

/** A file of the lake as DuckDB reads it, JSON lines typed by the record schema. */
function reader(
  file: string,
  columns: Columns,
  format: 'json' | 'parquet' = file.endsWith('.jsonl') ? 'json' : 'parquet',
) {
  if (format === 'parquet') return `read_parquet(${sqlString(file)}, hive_partitioning = false)`;
  const typed = columns.map((c) => `${c.name}: '${c.type}'`).join(', ');
  return `read_json(${sqlString(file)}, columns = {${typed}}, format = 'newline_delimited', hive_partitioning = false)`;
}

async function count(connection: DuckDBConnection, source: string, userId?: string): Promise<number> {
  const where = userId === undefined ? '' : ` WHERE user_id = ${sqlString(userId)}`;
  const rows = (
    await connection.runAndReadAll(`SELECT count(*) AS n FROM ${source}${where}`)
  ).getRowObjects();
  return Number(rows[0]?.n ?? 0);
}
