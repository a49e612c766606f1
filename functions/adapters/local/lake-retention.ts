import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AGGREGATES_PREFIX } from '../../core/analytics/aggregates.ts';
import type { Clock } from '../../core/ports/clock.ts';

/**
 * The local lake's retention, as the bucket's lifecycle rule is on AWS: day partitions of usage records
 * and of their aggregates older than `retentionDays` (by their `dt`, UTC) are removed whole.
 */
export async function pruneLake(options: {
  dataDir: string;
  clock: Clock;
  retentionDays: number;
}): Promise<{ days: string[] }> {
  const firstKept = new Date(options.clock.now().getTime() - options.retentionDays * 86_400_000)
    .toISOString()
    .slice(0, 10);
  const roots = [join(options.dataDir, 'usage'), join(options.dataDir, AGGREGATES_PREFIX)];
  const removed = new Set<string>();
  for (const root of roots) {
    for (const name of await readdir(root).catch(() => [] as string[])) {
      const day = /^dt=(\d{4}-\d{2}-\d{2})$/.exec(name)?.[1];
      if (!day || day >= firstKept) continue;
      await rm(join(root, name), { recursive: true, force: true });
      removed.add(day);
    }
  }
  return { days: [...removed].sort() };
}
