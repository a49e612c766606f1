/** Lambda bundle sizes and cold-import times: what a cold start pays before the first request. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import {
  lambdaBuildOptions,
  lazyModuleCommands,
  PROXY_LAZY_MODULES,
} from '../../infra/constructs/bundling.ts';

const run = promisify(execFile);

export interface BundleSize {
  name: string;
  bytes: number;
  gzipBytes: number;
}

/** The proxy's esbuild settings, from the module the CDK construct takes them from (no aws-cdk-lib load). */
const lambdaBuild = lambdaBuildOptions(PROXY_LAZY_MODULES);

/** `cdk.out/asset.*\/index.mjs`, named after the function that uses each asset when the template says. */
export async function cdkBundleSizes(root: string): Promise<BundleSize[]> {
  const out = join(root, 'cdk.out');
  if (!existsSync(out)) return [];
  const names = await assetNames(out);
  const sizes: BundleSize[] = [];
  for (const entry of await readdir(out)) {
    const file = join(out, entry, 'index.mjs');
    if (!entry.startsWith('asset.') || !existsSync(file)) continue;
    const hash = entry.slice('asset.'.length);
    const name = `cdk.out ${names.get(hash) ?? hash.slice(0, 12)}`;
    sizes.push(await sizeOf(name, file));
    const lazy = join(out, entry, 'node_modules');
    if (existsSync(lazy)) sizes.push(...(await lazySizes(`${name} (lazy)`, lazy)));
  }
  return sizes;
}

/** The `.mjs` files of an asset's `node_modules`: modules shipped beside the bundle, read on first import. */
async function lazySizes(prefix: string, dir: string): Promise<BundleSize[]> {
  const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.mjs')).sort();
  return Promise.all(files.map((f) => sizeOf(`${prefix} node_modules/${f}`, join(dir, f))));
}

async function assetNames(out: string): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  const templates = (await readdir(out)).filter((f) => f.endsWith('.template.json'));
  for (const template of templates) {
    const { Resources = {} } = JSON.parse(await readFile(join(out, template), 'utf8')) as {
      Resources?: Record<string, { Type: string; Properties?: { Code?: { S3Key?: unknown } } }>;
    };
    for (const [id, resource] of Object.entries(Resources)) {
      const key = resource.Properties?.Code?.S3Key;
      if (resource.Type === 'AWS::Lambda::Function' && typeof key === 'string') {
        names.set(key.replace(/\.zip$/, ''), id.replace(/[0-9A-F]{8}$/, ''));
      }
    }
  }
  return names;
}

async function sizeOf(name: string, file: string): Promise<BundleSize> {
  const content = await readFile(file);
  return { name, bytes: (await stat(file)).size, gzipBytes: gzipSync(content, { level: 9 }).length };
}

export interface ColdImport {
  name: string;
  /** `import()` of the module alone, in a fresh node process. */
  importMs: number[];
  /** Spawn to exit of that process: node's own start-up included. */
  processMs: number[];
}

export interface BundleReport {
  sizes: BundleSize[];
  cold: ColdImport[];
}

/**
 * Builds the proxy handler bundle fresh, and measures cold imports in child processes: the handler
 * bundle whole, as Lambda's init phase runs it (AWS SDK clients, config, catalog; no secret ARN is set,
 * so nothing is fetched, and `awslambda` is a two-line stand-in for the runtime's global); what it wraps —
 * the pipeline and the streaming handler factory — bundled and, for comparison, from source through tsx;
 * and the lazy tokenizer, which the first usage estimate of an execution environment loads.
 */
const HANDLER_ENV = { TOLLGATE_FIREHOSE_STREAM: 'bench', AWS_REGION: 'us-east-1' };
const AWSLAMBDA_STAND_IN =
  'globalThis.awslambda = { streamifyResponse: (h) => h, HttpResponseStream: { from: (s) => s } };';

export async function measureBundles(root: string, runs: number): Promise<BundleReport> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-bench-bundle-'));
  try {
    const handlerFile = join(dir, 'proxy-handler.mjs');
    await build({
      ...lambdaBuild,
      entryPoints: [join(root, 'functions/lambda/proxy.ts')],
      outfile: handlerFile,
    });
    const coreFile = join(dir, 'proxy-core.mjs');
    await build({
      ...lambdaBuild,
      stdin: {
        contents: [
          "export { createProxy } from './functions/core/proxy/pipeline.ts';",
          "export { createProxyHandler } from './functions/lambda/shell/proxy-handler.ts';",
        ].join('\n'),
        resolveDir: root,
        loader: 'ts',
      },
      outfile: coreFile,
    });
    for (const command of lazyModuleCommands(root, dir, PROXY_LAZY_MODULES)) {
      await run('bash', ['-c', command], { cwd: root });
    }
    const sizes = [
      ...(await cdkBundleSizes(root)),
      await sizeOf('fresh functions/lambda/proxy.ts', handlerFile),
      await sizeOf('fresh pipeline + proxy-handler', coreFile),
      ...(await lazySizes('fresh proxy (lazy)', join(dir, 'node_modules'))),
    ];
    const lazyFiles = (await readdir(join(dir, 'node_modules'), { recursive: true }))
      .filter((f) => f.endsWith('.mjs'))
      .map((f) => join(dir, 'node_modules', f));
    const sources = [
      join(root, 'functions/core/proxy/pipeline.ts'),
      join(root, 'functions/lambda/shell/proxy-handler.ts'),
    ];
    // The handler resolves `@aws-sdk/*` (external, as on Lambda) from the repository's node_modules.
    const withSdk = join(dir, 'with-sdk');
    await mkdir(withSdk);
    await symlink(join(root, 'node_modules'), join(withSdk, 'node_modules'), 'dir');
    await copyFile(handlerFile, join(withSdk, 'proxy-handler.mjs'));
    const handler = { env: HANDLER_ENV, preamble: AWSLAMBDA_STAND_IN };
    const handlerFiles = [join(withSdk, 'proxy-handler.mjs')];
    const cold = [
      await coldImport(
        `bundled proxy handler, init included (Node ${process.versions.node.split('.')[0]}, this machine's)`,
        handlerFiles,
        [],
        runs,
        handler,
      ),
    ];
    // The functions run on nodejs24.x (nodejs22.x after a rollback): the same import on those lines' Node.
    for (const { line, node } of lambdaNodes(root)) {
      const name = `bundled proxy handler, init included (Node ${line}, the nodejs${line}.x line)`;
      cold.push(await coldImport(name, handlerFiles, [], runs, { ...handler, node }));
    }
    cold.push(
      await coldImport('bundled pipeline + handler factory (node)', [coreFile], [], runs),
      await coldImport('source pipeline + handler factory (tsx)', sources, ['--import', 'tsx'], runs),
      await coldImport('bundled lazy modules, on the first usage estimate (node)', lazyFiles, [], runs),
    );
    return { sizes, cold };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The Node binaries of the Lambda runtime lines, as `test/aws/runtime/install.sh` installs them for
 * `npm run test:aws` (none until it has run: the rows are then left out, and a note says how to add them).
 */
function lambdaNodes(root: string): { line: string; node: string }[] {
  const nodes = ['24', '22'].map((line) => ({
    line,
    node: join(root, `test/aws/runtime/node_modules/node${line}/bin/node`),
  }));
  const found = nodes.filter(({ node }) => existsSync(node));
  if (found.length < nodes.length)
    console.error(
      "(run test/aws/runtime/install.sh to time the handler on the Lambda lines' Node 22 and 24)",
    );
  return found;
}

async function coldImport(
  name: string,
  files: string[],
  nodeArgs: string[],
  runs: number,
  options: { env?: Record<string, string>; preamble?: string; node?: string } = {},
): Promise<ColdImport> {
  const urls = JSON.stringify(files.map((f) => pathToFileURL(f).href));
  const code = `${options.preamble ?? ''}
const t0 = performance.now();
for (const url of ${urls}) await import(url);
console.log(JSON.stringify({ importMs: performance.now() - t0 }));`;
  const result: ColdImport = { name, importMs: [], processMs: [] };
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const { stdout } = await run(
      options.node ?? process.execPath,
      [...nodeArgs, '--input-type=module', '-e', code],
      {
        cwd: process.cwd(),
        env: { ...process.env, ...options.env },
      },
    );
    result.processMs.push(performance.now() - started);
    result.importMs.push(
      (JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { importMs: number }).importMs,
    );
  }
  return result;
}
