import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import {
  lambdaBuildOptions,
  lazyModuleCommands,
  PROXY_LAZY_MODULES,
  TELEMETRY_RECEIVER_MODULE,
} from '../../infra/constructs/bundling.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * What a cold start of the proxy parses before its first request. The tokenizer is shipped beside the
 * bundle, not in it; a dependency that pushes the bundle past this should be questioned (or loaded lazily).
 */
const PROXY_BUNDLE_CAP_BYTES = 300 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'tollgate-bundle-size-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the proxy Lambda bundle', () => {
  it('stays under its size cap, minified as CDK bundles it', async () => {
    // Prepare
    const entry = join(ROOT, 'functions/lambda/proxy.ts');

    // Act
    const result = await build({
      ...lambdaBuildOptions(PROXY_LAZY_MODULES),
      entryPoints: [entry],
      outfile: join(dir, 'proxy.mjs'),
      write: false,
    });

    // Assess
    const bytes = result.outputFiles[0]?.contents.byteLength ?? 0;
    console.log(
      `proxy bundle: ${(bytes / 1024).toFixed(1)} KiB minified (cap ${PROXY_BUNDLE_CAP_BYTES / 1024} KiB)`,
    );
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(PROXY_BUNDLE_CAP_BYTES);
  });

  it('loads the tokenizer for a usage estimate from beside the bundle, as Node resolves it on Lambda', async () => {
    // Prepare: the usage estimator bundled as the proxy bundles it, with the asset's lazy modules beside it
    for (const command of lazyModuleCommands(ROOT, dir, PROXY_LAZY_MODULES)) {
      execFileSync('bash', ['-c', command], { cwd: ROOT, stdio: 'inherit' });
    }
    const estimator = join(dir, 'estimate.mjs');
    await build({
      ...lambdaBuildOptions(PROXY_LAZY_MODULES),
      entryPoints: [join(ROOT, 'functions/core/usage/estimate.ts')],
      outfile: estimator,
    });
    // o200k_base: 'The' ' quick' ' brown' ' fox' ' jumps' ' over' ' the' ' lazy' ' dog' '.'; were the
    // tokenizer missing, the estimate would fall back to four characters a token: 11.
    const text = 'The quick brown fox jumps over the lazy dog.';

    // Act: in a fresh node process, outside the repository, so nothing resolves from its node_modules
    const stdout = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { countTokens } = await import(${JSON.stringify(pathToFileURL(estimator).href)});
console.log(await countTokens(${JSON.stringify(text)}));`,
      ],
      { cwd: dir, encoding: 'utf8' },
    );

    // Assess
    expect(Number(stdout.trim())).toBe(10);
  });

  it('loads the CEL library for routing rules from beside the bundle, only when a condition is compiled', async () => {
    // Prepare: the routing rules module bundled as the proxy bundles it (the lazy modules were placed
    // beside it by the test above; placed again here so this test stands alone)
    for (const command of lazyModuleCommands(ROOT, dir, PROXY_LAZY_MODULES)) {
      execFileSync('bash', ['-c', command], { cwd: ROOT, stdio: 'inherit' });
    }
    const rules = join(dir, 'rules.mjs');
    const built = await build({
      ...lambdaBuildOptions(PROXY_LAZY_MODULES),
      entryPoints: [join(ROOT, 'functions/core/routing/rules.ts')],
      outfile: rules,
      metafile: true,
    });
    const inputs = Object.keys(built.metafile.inputs);

    // Act: in a fresh node process, outside the repository
    const stdout = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { compileCondition } = await import(${JSON.stringify(pathToFileURL(rules).href)});
const holds = await compileCondition('model == "fast" && "ci" in tags');
console.log(holds({ model: 'fast', provider: '', agent: '', team_id: '', user_id: '', key_alias: '', tags: ['ci'], headers: {}, budget_used: 0 }));`,
      ],
      { cwd: dir, encoding: 'utf8' },
    );

    // Assess
    expect(inputs.some((f) => f.includes('cel-js'))).toBe(false);
    expect(stdout.trim()).toBe('true');
  });

  it('keeps the OTLP receiver and protobufjs out of index.mjs and loads them from beside it', async () => {
    // Prepare: the proxy bundle as CDK builds it, and its lazy modules beside it
    for (const command of lazyModuleCommands(ROOT, dir, PROXY_LAZY_MODULES)) {
      execFileSync('bash', ['-c', command], { cwd: ROOT, stdio: 'inherit' });
    }
    const proxy = await build({
      ...lambdaBuildOptions(PROXY_LAZY_MODULES),
      entryPoints: [join(ROOT, 'functions/lambda/proxy.ts')],
      write: false,
      outfile: join(dir, 'index.mjs'),
    });
    const main = proxy.outputFiles[0]?.text ?? '';
    const script = `const m = await import(${JSON.stringify(TELEMETRY_RECEIVER_MODULE)});
const receiver = m.createTelemetryReceiver({
  authenticate: async () => ({ key_id: 'k1', user_id: 'alice', team_id: 'web' }),
  sink: { write: async (records) => console.log(records.length) },
  clock: { now: () => new Date('2026-12-06T09:00:00Z') },
  log: { error() {}, warn() {}, info() {}, debug() {} },
  requestsPerMinute: 10,
  maxBodyBytes: 1_000_000,
});
const body = (await import('node:fs')).readFileSync(${JSON.stringify(join(ROOT, 'test/fixtures/otlp/claude-code-metrics.pb'))});
const response = await receiver.handle(new Request('http://x/v1/metrics', { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } }), 'metrics');
console.log(response.status);`;

    // Act: in a fresh node process in the asset's directory, so only its node_modules resolve
    const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: dir,
      encoding: 'utf8',
    });

    // Assess: the 11 points Claude Code sent were decoded and written; the main file has no OTLP schema
    expect(main).toContain(`import("${TELEMETRY_RECEIVER_MODULE}")`);
    expect(stdout.trim().split('\n')).toEqual(['11', '200']);
    expect(main).not.toContain('ExportLogsServiceRequest');
    expect(main).not.toContain('opentelemetry.proto');
  });
});
