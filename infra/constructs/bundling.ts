/**
 * How every Lambda bundle is built, in one place: `node-function.ts` hands these settings to CDK's
 * NodejsFunction, and the bundle-size test and the bench hand the same ones to esbuild directly. Plain
 * data and strings, no aws-cdk-lib import, so a test or bench loads this module cheaply.
 */
import type { BuildOptions } from 'esbuild';

/**
 * Modules that exist only for the local runtime (`npm start`) or the toolchain. Marked external so that
 * an accidental import from a handler can never drag LevelDB, DuckDB's native binary or esbuild into a
 * Lambda bundle. `@aws-sdk/*` is provided by the nodejs24.x runtime (outside the task root; see test/aws).
 */
export const EXTERNAL_MODULES = ['@aws-sdk/*', 'dynalite', '@duckdb/*', 'tsx', 'esbuild'];

/** Bundled code is ESM, but some CommonJS dependencies still call `require`; esbuild needs one in scope. */
export const REQUIRE_SHIM =
  "import { createRequire as __tollgateCreateRequire } from 'node:module'; const require = __tollgateCreateRequire(import.meta.url);";

/** The esbuild settings NodejsFunction is given (it adds `--bundle --platform=node` itself). */
export const LAMBDA_BUNDLING = {
  format: 'esm',
  // The functions deploy on nodejs24.x; the bundles stay Node 22 syntax so npm run test:aws can run
  // them on both lines (and a rollback to nodejs22.x needs no rebuild).
  target: 'node22',
  mainFields: ['module', 'main'],
  banner: REQUIRE_SHIM,
  minify: true,
} as const;

/**
 * The proxy's o200k_base tokenizer: a 2.4 MB rank table it needs only to estimate a request's usage when
 * the provider reported none (`functions/core/usage/estimate.ts`). Inlined, it was 2.7 of the bundle's
 * 3.3 MB and V8 parsed it on every cold start.
 */
export const TOKENIZER_MODULE = 'gpt-tokenizer/encoding/o200k_base';

/**
 * The CEL library routing rules are written in: 82 KB, over a quarter of the proxy's bundle, run only by
 * a gateway with routing rules (`functions/core/routing/rules.ts` imports it with the first condition).
 */
export const CEL_MODULE = '@marcbachmann/cel-js';

/**
 * The OTLP receiver (`functions/core/telemetry/receiver.ts`, this package's own export): protobufjs and
 * the OTLP schema, needed only when an agent exports telemetry. Its name is the core's, so the two agree.
 */
export const TELEMETRY_RECEIVER_MODULE = 'tollgate/telemetry-receiver';

/** What the proxy function keeps out of its `index.mjs` and ships beside it. */
export const PROXY_LAZY_MODULES: readonly string[] = [
  TOKENIZER_MODULE,
  CEL_MODULE,
  TELEMETRY_RECEIVER_MODULE,
];

/**
 * The same settings for esbuild's own API, as `index.mjs` of an asset is built (less its source map).
 * `lazyModules` stay external like `EXTERNAL_MODULES`; `lazyModuleCommands` puts them beside the bundle.
 */
export function lambdaBuildOptions(lazyModules: readonly string[] = []): BuildOptions {
  return {
    bundle: true,
    platform: 'node',
    format: LAMBDA_BUNDLING.format,
    target: LAMBDA_BUNDLING.target,
    mainFields: [...LAMBDA_BUNDLING.mainFields],
    banner: { js: LAMBDA_BUNDLING.banner },
    minify: LAMBDA_BUNDLING.minify,
    external: [...EXTERNAL_MODULES, ...lazyModules],
    logLevel: 'error',
  };
}

/**
 * Shell commands that ship each lazily imported module (`import('pkg/sub')` or `import('pkg')`, left
 * external in `index.mjs`) as one minified ESM file at `<outputDir>/node_modules/pkg/sub.mjs` (or
 * `pkg/index.mjs`), with a package.json whose `exports` maps `./sub` (or `.`) to it. Node resolves a
 * bare specifier from `/var/task/index.mjs` by looking in `/var/task/node_modules`, so the import finds
 * it there, and the file is read only when first imported. Unlike NodejsFunction's `nodeModules`, this needs no `npm install` (no network, no Docker):
 * the repository's esbuild builds it from the repository's node_modules. One module per package.
 */
export function lazyModuleCommands(projectRoot: string, outputDir: string, lazyModules: readonly string[]) {
  const esbuild = `${projectRoot}/node_modules/.bin/esbuild`;
  return lazyModules.flatMap((specifier) => {
    const { packageName, subpath } = splitSpecifier(specifier);
    const packageDir = `${outputDir}/node_modules/${packageName}`;
    const packageJson = {
      name: packageName,
      private: true,
      type: 'module',
      exports: { [subpath === 'index' ? '.' : `./${subpath}`]: `./${subpath}.mjs` },
    };
    return [
      shell([
        esbuild,
        specifier,
        '--bundle',
        '--platform=node',
        `--format=${LAMBDA_BUNDLING.format}`,
        `--target=${LAMBDA_BUNDLING.target}`,
        `--main-fields=${LAMBDA_BUNDLING.mainFields.join(',')}`,
        '--minify',
        '--log-level=warning',
        `--outfile=${packageDir}/${subpath}.mjs`,
      ]),
      `printf '%s' ${quote(JSON.stringify(packageJson))} > ${quote(`${packageDir}/package.json`)}`,
    ];
  });
}

function splitSpecifier(specifier: string): { packageName: string; subpath: string } {
  const parts = specifier.split('/');
  const nameParts = specifier.startsWith('@') ? 2 : 1;
  const subpath = parts.slice(nameParts).join('/') || 'index';
  return { packageName: parts.slice(0, nameParts).join('/'), subpath };
}

const shell = (argv: string[]) => argv.map(quote).join(' ');
const quote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;
