/**
 * The lake bench at a toy scale, so a schema change that breaks its record generator fails here rather
 * than the next time someone measures (it once stopped with a DuckDB binder error for months). Checks
 * only that it runs to the end and prints a figure for every report; the figures themselves mean
 * nothing at this size.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('npm run bench:lake', () => {
  it('generates records of the current schema and times every report over them', async () => {
    // Prepare
    const args = ['--import', 'tsx', 'test/bench/lake.ts', '--records', '5000', '--people', '20'];

    // Act
    const { stdout } = await run(process.execPath, args, { cwd: ROOT, timeout: 120_000 });

    // Assess
    for (const report of ['spend by team', 'spend by tag', 'weekly active', 'new and lapsed'])
      expect(stdout).toMatch(new RegExp(`^${report}\\s+\\d+\\.\\d+\\s+\\d+$`, 'm'));
    expect(stdout).toMatch(/^total\s+\d+\.\d+ MiB/m);
  }, 150_000);
});
