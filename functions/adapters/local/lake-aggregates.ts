import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AGGREGATE_TABLE } from '../../core/analytics/aggregates.ts';
import type { LakeAggregates, QueryEngine } from '../../core/ports/lake.ts';
import { sqlString } from './duckdb-query.ts';

const MARKER = '_built';

/**
 * The local aggregates: `<dataDir>/aggregates/usage_daily/dt=<day>/kind=<kind>/*.parquet`, written by
 * DuckDB (the engine the reports use), and a marker file `_built` per day whose modification time is
 * when its build started (the file system's clock, the one the raw files' times come from). A rebuild writes the new day beside the old one and swaps the folders, so a report reads
 * one or the other, never half of each.
 */
export function createLocalAggregates(options: {
  dataDir: string;
  /** Runs a statement with `?` parameters on DuckDB (the local query engine does). */
  engine: QueryEngine;
}): LakeAggregates {
  const root = join(options.dataDir, 'aggregates', AGGREGATE_TABLE);
  const dayDir = (day: string) => join(root, `dt=${day}`);
  return {
    async built() {
      const days = new Map<string, Date>();
      for (const name of await readdir(root).catch(() => [] as string[])) {
        if (!name.startsWith('dt=')) continue;
        const marker = await stat(join(root, name, MARKER)).catch(() => undefined);
        if (marker) days.set(name.slice(3), marker.mtime);
      }
      return days;
    },
    async rawChangedAt(day) {
      const dir = join(options.dataDir, 'usage', `dt=${day}`);
      const files = await readdir(dir).catch(() => [] as string[]);
      const times = await Promise.all(files.map(async (f) => (await stat(join(dir, f))).mtimeMs));
      return times.length === 0 ? null : new Date(Math.max(...times));
    },
    async rebuild(day, sql) {
      const staging = join(root, `.dt=${day}.building`);
      await rm(staging, { recursive: true, force: true });
      await mkdir(root, { recursive: true });
      // The marker is made before the records are read: a file written to the day after this moment
      // is newer than the marker, so the day counts as stale and is built again.
      const started = join(root, `.dt=${day}${MARKER}`);
      await writeFile(started, '');
      // DuckDB binds no parameters in COPY; the day is a checked YYYY-MM-DD, so it goes in as a literal.
      const select = sql.replace('dt = ?', `dt = ${sqlString(checkedDay(day))}`);
      await options.engine.query(
        `COPY (SELECT * EXCLUDE (dt) FROM (${select})) TO ${sqlString(staging)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (kind), WRITE_PARTITION_COLUMNS false)`,
      );
      await mkdir(staging, { recursive: true });
      await rename(started, join(staging, MARKER));
      const old = join(root, `.dt=${day}.old`);
      await rename(dayDir(day), old).catch(() => undefined);
      await rename(staging, dayDir(day));
      await rm(old, { recursive: true, force: true });
    },
    async remove(day) {
      await rm(dayDir(day), { recursive: true, force: true });
    },
  };
}

function checkedDay(day: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new RangeError(`Expected a day as YYYY-MM-DD, got '${day}'`);
  return day;
}
