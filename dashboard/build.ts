import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const here = dashboardDir(dirname(fileURLToPath(import.meta.url)));
const run = promisify(execFile);

/** Bundles the static dashboard into `outdir`: index.html, styles.css and one minified main.js. */
export async function buildDashboard(opts: { outdir: string }): Promise<void> {
  const outdir = resolve(opts.outdir);
  await mkdir(outdir, { recursive: true });
  // esbuild's command line, not its JS API: the API keeps its esbuild process alive (~27 MB RSS) for the
  // life of `npm start` after this one build at start-up; the command exits when done.
  const esbuild = createRequire(import.meta.url).resolve('esbuild/bin/esbuild');
  const { stderr } = await run(esbuild, [
    join(here, 'src', 'main.ts'),
    `--outfile=${join(outdir, 'main.js')}`,
    '--bundle',
    '--platform=browser',
    '--format=esm',
    '--target=es2022',
    '--minify',
    '--legal-comments=none',
    '--log-level=warning',
  ]);
  if (stderr) process.stderr.write(stderr);
  await copyFile(join(here, 'index.html'), join(outdir, 'index.html'));
  await copyFile(join(here, 'src', 'styles.css'), join(outdir, 'styles.css'));
}

/**
 * This folder, found from the running module: this file under tsx, or the bundle `npm start` builds
 * into `dist/local/` (scripts/start.mjs), which is why it is looked for upwards rather than assumed.
 */
function dashboardDir(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'src', 'main.ts')) && existsSync(join(dir, 'index.html'))) return dir;
    if (existsSync(join(dir, 'dashboard', 'src', 'main.ts'))) return join(dir, 'dashboard');
    if (dirname(dir) === dir) throw new Error(`The dashboard's sources are not above ${from}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outdir = join(here, 'dist');
  await buildDashboard({ outdir });
  console.log(`dashboard built into ${outdir}`);
}
