/**
 * Every bench at a toy scale, so a change that breaks one fails here rather than the next time someone
 * measures (the lake bench once stopped with a DuckDB binder error for months). Checks only that each
 * runs to the end and prints its figures; the figures themselves mean nothing at this size, and no
 * timing is asserted.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('npm run bench:lake', () => {
  it('generates records of the current schema, builds their aggregates and times every report over them', async () => {
    // Prepare
    const args = ['--import', 'tsx', 'test/bench/lake.ts', '--records', '5000', '--people', '20'];

    // Act
    const { stdout } = await run(process.execPath, args, { cwd: ROOT, timeout: 120_000 });

    // Assess
    for (const report of ['spend by team', 'spend by tag', 'latency by model', 'new and lapsed', 'routing'])
      expect(stdout).toMatch(
        new RegExp(`^${report}\\s+\\d+\\.\\d+\\s+[1-9]\\d*\\s+[\\d.]+ \\+ [\\d.]+ → [\\d.]+$`, 'm'),
      );
    expect(stdout).toMatch(/^Aggregates of 90 days built once in [\d.]+ s/m);
    // The line tooling reads, last.
    expect(stdout.trimEnd().split('\n').at(-1)).toMatch(
      /^report set: \d+\.\d+ s, peak RSS \d+ MiB, hourly athena scan \d+ MB$/,
    );
  }, 150_000);
});

describe('npm run bench:routing', () => {
  it('times the router, rule compiling and the pipeline end to end', async () => {
    // Prepare
    const args = ['--import', 'tsx', 'test/bench/routing.ts', '--scale', '0.01'];

    // Act
    const { stdout } = await run(process.execPath, args, { cwd: ROOT, timeout: 120_000 });

    // Assess
    expect(stdout).toMatch(/^\s+100\s+last \(100 evaluated\)\s+\d+/m);
    expect(stdout).toMatch(/^10 rules, the last fires \(claude-sonnet-4-5 → claude-haiku-4-5\)\s+\d/m);
    expect(stdout).toMatch(/bench wall time [\d.]+ s/);
  }, 150_000);
});

describe('npm run bench', () => {
  it('measures the gateway as npm start runs it, and finds every request it sent recorded', async () => {
    // Prepare
    const args = ['--import', 'tsx', 'test/bench/latency.ts', '--n', '3', '--warmup', '1', '--prime', '1'];
    const load = ['--connections', '2', '--seconds', '1', '--settle-seconds', '30'];

    // Act
    const { stdout } = await run(process.execPath, [...args, ...load], { cwd: ROOT, timeout: 150_000 });

    // Assess
    expect(stdout).toMatch(/^anthropic\s+2 KB\s+JSON\s+[\d.]+/m);
    expect(stdout).toMatch(/^gateway\s+[\d.]+\s+\d+\s+\d+/m);
    expect(stdout).toMatch(/After the load: gateway alive; records (\d+) of \1 requests sent \(OK\)/);
  }, 180_000);
});
