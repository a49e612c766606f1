/**
 * Where the gateway's CPU goes under load: the gateway as `npm start` runs it, under `node --cpu-prof`,
 * with autocannon at 50 connections (the bench's load: Anthropic JSON, 2 KB, the strict-budget key),
 * then the profile's self time summed by function and by package, as shares of the sampled time.
 * `--series` takes another of the bench's series (`seq-anthropic-sse-100k`, ...), and `--connections 1`
 * profiles requests one at a time, as the bench's latency rows send them. Prints figures only.
 *
 *   npx tsx test/bench/profile.ts [--series load-anthropic-json-2k] [--connections 50] [--seconds 10] [--top 40] [--keep]
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startGatewayProcess } from '../support/gateway-process.ts';
import { setUpKey } from './bench-key.ts';
import { runAutocannon, runScript } from './processes.ts';
import { bodyOf, headersOf, pathOf, SERIES, type Series, SMALL_BODY } from './requests.ts';

const { values: flags } = parseArgs({
  options: {
    series: { type: 'string', default: 'load-anthropic-json-2k' },
    connections: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '10' },
    top: { type: 'string', default: '40' },
    keep: { type: 'boolean', default: false },
  },
});

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time per node id, in µs, of the samples taken within `window` (ms since the profile began). */
function selfTimes(profile: CpuProfile, window: { from: number; to: number }): Map<number, number> {
  const self = new Map<number, number>();
  let at = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at / 1000 < window.from || at / 1000 > window.to) return;
    self.set(id, (self.get(id) ?? 0) + delta);
  });
  return self;
}

/** Time with the function on the stack (self plus callees), per function, counted once per sample. */
function inclusiveTimes(profile: CpuProfile, self: Map<number, number>, name: (n: ProfileNode) => string) {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const total = new Map<string, number>();
  for (const [id, us] of self) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (!node) break;
      const fn = name(node);
      if (seen.has(fn)) continue;
      seen.add(fn);
      total.set(fn, (total.get(fn) ?? 0) + us);
    }
  }
  return total;
}

/** `node_modules/<pkg>` (scoped too), `node:` internals, the repo's own folders, or V8's own entries. */
function packageOf(url: string, name: string): string {
  if (url === '') return `(${name || 'anonymous'})`;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1] as string;
  if (url.startsWith('node:')) return url.split('/')[0] as string;
  const own = /\/(functions\/[^/]+\/[^/]+|test\/[^/]+)/.exec(url);
  return own ? (own[1] as string) : url;
}

function table(title: string, rows: Array<[string, number]>, total: number, top: number): void {
  console.log(`\n${title}`);
  for (const [name, us] of rows.sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)} %  ${name}`);
  }
}

function summarise(profile: CpuProfile, top: number, window: { from: number; to: number }): void {
  const self = selfTimes(profile, window);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = profile.nodes
    .filter((n) => n.callFrame.functionName === '(idle)')
    .reduce((a, n) => a + (self.get(n.id) ?? 0), 0);
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0;
    if (us === 0 || node.callFrame.functionName === '(idle)') continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url
      ? `${url.replace(/^.*\/(node_modules|functions|test)\//, '$1/')}:${lineNumber + 1}`
      : '';
    const fn = `${functionName || '(anonymous)'} ${where}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    const pkg = packageOf(url, functionName);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  }
  const busy = total - idle;
  console.log(
    `sampled ${(total / 1e6).toFixed(1)} s, of which idle ${((100 * idle) / total).toFixed(1)} %; shares below are of the busy ${(busy / 1e6).toFixed(1)} s`,
  );
  table('Self time by package or folder', [...byPackage], busy, top);
  table('Self time by function', [...byFunction], busy, top);
  const named = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(node_modules|functions|test)\//, '$1/')}`;
  const inclusive = [...inclusiveTimes(profile, self, named)].filter(([fn]) => !fn.startsWith('(idle)'));
  table('Time on the stack (self and callees), by function', inclusive, busy, top);
}

/** The bench's load (Anthropic JSON, 2 KB), or one of its one-at-a-time series. */
function seriesOf(id: string): Omit<Series, 'id'> {
  if (id === 'load-anthropic-json-2k') return { api: 'anthropic', stream: false, bodyBytes: SMALL_BODY };
  const found = SERIES.find((s) => s.id === id);
  if (!found)
    throw new Error(`--series: one of load-anthropic-json-2k, ${SERIES.map((s) => s.id).join(', ')}`);
  return found;
}

async function main(): Promise<void> {
  const series = seriesOf(flags.series);
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-profile-'));
  let window = { from: 0, to: Number.POSITIVE_INFINITY };
  const mock = runScript('mock-server.ts', ['--chunk-delay', '1']);
  const mockUrl = (await mock.waitFor(/listening at (http:\/\/\S+)/))[1] ?? '';
  const spawned = performance.now();
  const gateway = await startGatewayProcess(
    mockUrl,
    { TOLLGATE_KEY_CACHE_MS: undefined, TOLLGATE_LOG_LEVEL: undefined, TOLLGATE_LAKE_COMPACT: undefined },
    { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir] },
  );
  try {
    const key = await setUpKey(gateway);
    const bodyFile = join(dir, 'body.json');
    await writeFile(bodyFile, bodyOf(series));
    const options = {
      url: `${gateway.url}${pathOf(series.api)}`,
      connections: Number(flags.connections),
      headers: headersOf(series.api, key, 'profile'),
      bodyFile,
    };
    await runAutocannon({ ...options, seconds: 2 });
    // Only the measured load counts: start-up, module loading and shutdown are left out.
    const loadStarted = performance.now() - spawned;
    const result = await runAutocannon({ ...options, seconds: Number(flags.seconds) });
    console.log(
      `${(result.requests.total / result.duration).toFixed(0)} req/s through the gateway under the profiler ` +
        `(p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ${result.non2xx + result.errors} failures)`,
    );
    window = { from: loadStarted + 200, to: performance.now() - spawned - 200 };
  } finally {
    await gateway.close();
    mock.child.kill('SIGTERM');
    await mock.finished().catch(() => undefined);
  }
  const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile written in ${dir}`);
  summarise(JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile, Number(flags.top), window);
  if (flags.keep) {
    await mkdir('test-results/bench', { recursive: true });
    await writeFile('test-results/bench/gateway.cpuprofile', await readFile(join(dir, file)));
    console.log('\nprofile kept in test-results/bench/gateway.cpuprofile');
  }
  await rm(dir, { recursive: true, force: true });
}

await main();
