// `npm start`: the gateway's own code bundled into one file by esbuild, then run on plain Node. Running
// the TypeScript through tsx instead costs the process a loader thread with its own V8 isolate and every
// module's transformed source kept in memory, about 50 MiB of a ~130 MiB process at idle. Packages stay
// in node_modules (`--packages=external`), so only this repository's code is built: under 100 ms.
//
// package.json gives node two heap flags. V8 sizes its heap's growth by the heap's limit: under the
// default (a quarter of the machine's memory, 4 GiB on 24 GiB) it grows a busy gateway's heap fourfold
// and keeps it, 240-270 MiB after the bench's load; under a 1 GiB limit, twenty times the gateway's
// live set, it grows less (about 175-200). The young generation keeps 16 MiB semi-spaces: at 4 MiB
// the process was 15-20 MiB smaller but spent 27-29 % of its busy time collecting garbage instead of
// 14-15 %, and served about a quarter fewer requests (`npm run bench:profile`, run alternately).
import { execFileSync } from 'node:child_process';
import { renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'dist', 'local', 'main.mjs');
// Built beside and renamed over, so gateways started at once (the tests start several) never import a
// file another one is still writing.
const building = `${outfile}.${process.pid}.tmp`;
const esbuild = createRequire(import.meta.url).resolve('esbuild/bin/esbuild');

execFileSync(
  esbuild,
  [
    join(root, 'functions', 'local', 'main.ts'),
    `--outfile=${building}`,
    '--bundle',
    '--packages=external',
    // This package's own export, imported on the first telemetry request: a `.ts` file Node cannot load.
    '--alias:tollgate/telemetry-receiver=./functions/core/telemetry/receiver.ts',
    '--platform=node',
    '--format=esm',
    '--target=node20',
    '--log-level=warning',
  ],
  { stdio: 'inherit', cwd: root },
);
renameSync(building, outfile);
await import(pathToFileURL(outfile).href);
