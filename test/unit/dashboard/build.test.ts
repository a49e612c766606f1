import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildDashboard } from '../../../dashboard/build.ts';

let outdir: string;

beforeEach(async () => {
  outdir = await mkdtemp(join(tmpdir(), 'tollgate-dashboard-'));
});

afterEach(async () => {
  await rm(outdir, { recursive: true, force: true });
});

describe('buildDashboard', () => {
  it('produces a page, its stylesheet and one self-contained script', async () => {
    // Prepare: an empty output directory.

    // Act
    await buildDashboard({ outdir });

    // Assess
    expect((await readdir(outdir)).sort()).toEqual(['index.html', 'main.js', 'styles.css']);
    const html = await readFile(join(outdir, 'index.html'), 'utf8');
    expect(html).toContain('src="./main.js"');
    expect(html).toContain('href="./styles.css"');
    const script = await readFile(join(outdir, 'main.js'), 'utf8');
    expect(script).not.toMatch(/\bimport\s*[{*"']|from\s*["']/);
    expect(script).toContain('/api/rollup');
    expect(script).toContain('/api/me');
  });
});
