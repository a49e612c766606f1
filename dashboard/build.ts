import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

/** Bundles the static dashboard into `outdir`: index.html, styles.css and one minified main.js. */
export async function buildDashboard(opts: { outdir: string }): Promise<void> {
  const outdir = resolve(opts.outdir);
  await mkdir(outdir, { recursive: true });
  await build({
    entryPoints: [join(here, 'src', 'main.ts')],
    outfile: join(outdir, 'main.js'),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: ['es2022'],
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  await copyFile(join(here, 'index.html'), join(outdir, 'index.html'));
  await copyFile(join(here, 'src', 'styles.css'), join(outdir, 'styles.css'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outdir = join(here, 'dist');
  await buildDashboard({ outdir });
  console.log(`dashboard built into ${outdir}`);
}
