import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pruneLake } from '../../functions/adapters/local/lake-retention.ts';
import { loadConfig } from '../../functions/config.ts';

let dataDir: string | undefined;
afterEach(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function day(root: string, dt: string) {
  await mkdir(join(root, `dt=${dt}`), { recursive: true });
  await writeFile(join(root, `dt=${dt}`, 'part.jsonl'), '{}\n');
}

describe('the local lake’s retention', () => {
  it('removes the days of records and aggregates older than the retention, and keeps the rest', async () => {
    // Prepare: retention 30 days on 2026-12-31 → the first day kept is 2026-12-01.
    dataDir = await mkdtemp(join(tmpdir(), 'tollgate-retention-'));
    const usage = join(dataDir, 'usage');
    const aggregates = join(dataDir, 'aggregates', 'usage_daily');
    for (const dt of ['2026-11-01', '2026-11-30', '2026-12-01', '2026-12-31']) await day(usage, dt);
    for (const dt of ['2026-11-30', '2026-12-01']) await day(aggregates, dt);
    const clock = { now: () => new Date('2026-12-31T08:00:00Z') };

    // Act
    const pruned = await pruneLake({ dataDir, clock, retentionDays: 30 });

    // Assess
    expect(pruned.days).toEqual(['2026-11-01', '2026-11-30']);
    expect((await readdir(usage)).sort()).toEqual(['dt=2026-12-01', 'dt=2026-12-31']);
    expect(await readdir(aggregates)).toEqual(['dt=2026-12-01']);
  });

  it('keeps 400 days by default, set by TOLLGATE_RETENTION_DAYS, and says which variable is wrong', () => {
    expect(loadConfig({}).retentionDays).toBe(400);
    expect(loadConfig({ TOLLGATE_RETENTION_DAYS: '30' }).retentionDays).toBe(30);
    expect(() => loadConfig({ TOLLGATE_RETENTION_DAYS: 'forever' })).toThrow(/TOLLGATE_RETENTION_DAYS/);
  });
});
