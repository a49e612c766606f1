/**
 * What the gateway adds to a request. Starts the mock upstream and the embedded gateway in this process,
 * then times the same requests sent straight to the mock and through the gateway: JSON, Anthropic SSE,
 * OpenAI chat SSE, throughput, memory, start-up, bundle size and cold import. Prints figures and asserts
 * nothing about time (STYLE.md: benchmarks are never timing assertions).
 *
 *   npx tsx test/bench/latency.ts [--n 300] [--warmup 30] [--concurrency 8] [--seconds 5]
 *                                 [--chunk-delay 2] [--cold-runs 5]
 */
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startTestGateway } from '../support/gateway.ts';
import { startMockUpstream } from '../support/mock-upstream.ts';
import { measureBreakdown } from './breakdown.ts';
import { measureBundles } from './bundle.ts';
import { type Exchange, runFor, runPool, timeExchange } from './measure.ts';
import { type LatencyRow, type MemoryPoint, printResults } from './report.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const { values: flags } = parseArgs({
  options: {
    n: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '30' },
    concurrency: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '5' },
    'chunk-delay': { type: 'string', default: '2' },
    'cold-runs': { type: 'string', default: '5' },
  },
});
const numberFlag = (name: keyof typeof flags) => {
  const value = Number(flags[name]);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number`);
  return value;
};
const N = numberFlag('n');
const WARMUP = numberFlag('warmup');
const CONCURRENCY = numberFlag('concurrency');
const SECONDS = numberFlag('seconds');
const CHUNK_DELAY_MS = numberFlag('chunk-delay');
const COLD_RUNS = numberFlag('cold-runs');

type Target = 'direct' | 'gateway';
type Scenario = (base: string, key: string) => Exchange;

const anthropicJson: Scenario = (base, key) => ({
  url: `${base}/v1/messages`,
  headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
  body: JSON.stringify({
    model: 'claude-sonnet-4-5',
    max_tokens: 256,
    messages: [{ role: 'user', content: 'hi' }],
  }),
  endsWith: '}',
});

const anthropicStream: Scenario = (base, key) => ({
  ...anthropicJson(base, key),
  body: JSON.stringify({
    model: 'claude-sonnet-4-5',
    max_tokens: 256,
    stream: true,
    messages: [{ role: 'user', content: 'hi' }],
  }),
  endsWith: '{"type":"message_stop"}',
});

/**
 * A request the size Claude Code sends: ~80 KB of system prompt, tool definitions and history. The
 * gateway forwards it untouched (no re-serialisation) unless it must change a field.
 */
const CLAUDE_CODE_BODY = JSON.stringify({
  model: 'claude-sonnet-4-5',
  max_tokens: 32_000,
  stream: true,
  system: [{ type: 'text', text: 'You are an agent for software engineering. '.repeat(700) }],
  tools: Array.from({ length: 16 }, (_, i) => ({
    name: `Tool${i}`,
    description: 'Runs a command in the workspace and returns its output. '.repeat(20),
    input_schema: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] },
  })),
  messages: Array.from({ length: 20 }, (_, i) => ({
    role: i % 2 === 0 ? 'user' : 'assistant',
    content: `Step ${i}: ${'const value = compute(input);\n'.repeat(40)}`,
  })),
  metadata: { user_id: JSON.stringify({ session_id: '0a6f3e8e-4c1b-4b7e-9a51-2f1f7d9c1e42' }) },
});

const claudeCodeSized: Scenario = (base, key) => ({
  ...anthropicJson(base, key),
  body: CLAUDE_CODE_BODY,
  endsWith: '{"type":"message_stop"}',
});

/** A long answer: LONG_WORDS text deltas, streamed without delay, to show the per-event pass-through cost. */
const LONG_WORDS = 2_000;
const LONG_TEXT = Array.from({ length: LONG_WORDS }, (_, i) => `word${i}`).join(' ');

// include_usage in both directions: the gateway injects it anyway, so direct and gateway stream the
// same number of chunks.
const openaiStream: Scenario = (base, key) => ({
  url: `${base}/v1/chat/completions`,
  headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
  body: JSON.stringify({
    model: 'gpt-4.1-mini',
    stream: true,
    stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'hi' }],
  }),
  endsWith: 'data: [DONE]',
});

async function main(): Promise<void> {
  const benchStarted = performance.now();
  const loadAtStart = loadavg()[0] ?? 0;
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const memory: MemoryPoint[] = [];
  const snapshot = (label: string) => memory.push({ label, usage: process.memoryUsage() });
  snapshot('start (modules loaded, nothing running)');

  const mock = await startMockUpstream();
  const initStarted = performance.now();
  // The default key cache (5 s), as a deployment runs; the test default of 0 reads dynalite every time.
  const gateway = await startTestGateway(mock.url, { TOLLGATE_KEY_CACHE_MS: '5000' });
  const initMs = performance.now() - initStarted;
  snapshot('gateway listening');

  try {
    const { key } = await gateway.createKey({ key_alias: 'bench', user_id: 'bench' });
    const bases: Record<Target, string> = { direct: mock.url, gateway: gateway.url };
    const rows: LatencyRow[] = [];
    const throughput: string[][] = [
      ['target', 'concurrency', 'completed', 'seconds', 'req/s', 'process CPU'],
    ];

    let upstreamRequests = 0;
    // Bookkeeping runs after each response; let it finish so it does not slow the next series. The
    // mock keeps every request it saw: forget them, or they show up as gateway heap.
    const settle = async () => {
      await gateway.proxy.drain();
      upstreamRequests += mock.requests.length;
      mock.requests.length = 0;
    };
    const measure = async (scenario: Scenario, target: Target, concurrency: number, n: number) => {
      const exchange = scenario(bases[target], key);
      await runPool(Math.min(WARMUP, n), concurrency, () => timeExchange(exchange));
      const timings = await runPool(n, concurrency, () => timeExchange(exchange));
      await settle();
      return timings;
    };
    const compare = async (name: string, scenario: Scenario, streaming: boolean, n = N) => {
      for (const concurrency of [1, CONCURRENCY]) {
        const direct = await measure(scenario, 'direct', concurrency, n);
        const through = await measure(scenario, 'gateway', concurrency, n);
        rows.push({ scenario: name, concurrency, direct, gateway: through, streaming });
      }
    };

    mock.script.chunkDelayMs = 0;
    await compare('anthropic /v1/messages JSON', anthropicJson, false);
    mock.script.chunkDelayMs = CHUNK_DELAY_MS;
    await compare('anthropic /v1/messages SSE', anthropicStream, true);
    await compare('openai /v1/chat/completions SSE', openaiStream, true);
    await compare(
      `Claude-Code-sized SSE (${Math.round(CLAUDE_CODE_BODY.length / 1024)} KB body)`,
      claudeCodeSized,
      true,
    );
    const shortText = mock.script.text;
    mock.script.chunkDelayMs = 0;
    mock.script.text = LONG_TEXT;
    await compare(`long SSE (${LONG_WORDS} deltas, no delay)`, anthropicStream, true, Math.ceil(N / 5));
    mock.script.text = shortText;

    mock.script.chunkDelayMs = 0;
    let drainMs = 0;
    for (const concurrency of [8, 32]) {
      for (const target of ['direct', 'gateway'] as const) {
        const exchange = anthropicJson(bases[target], key);
        await runPool(WARMUP, concurrency, () => timeExchange(exchange));
        const cpuBefore = process.cpuUsage();
        const result = await runFor(SECONDS * 1000, concurrency, () => timeExchange(exchange));
        const cpu = process.cpuUsage(cpuBefore);
        const drainStarted = performance.now();
        await settle();
        if (target === 'gateway') drainMs = Math.max(drainMs, performance.now() - drainStarted);
        throughput.push([
          target,
          String(concurrency),
          String(result.completed),
          result.seconds.toFixed(1),
          result.perSecond.toFixed(0),
          `${(((cpu.user + cpu.system) / 1e6 / result.seconds) * 100).toFixed(0)} %`,
        ]);
      }
    }
    snapshot('after load (records drained)');
    gc();
    snapshot('after load, after a full GC');

    const breakdown = await measureBreakdown(mock.url, N, WARMUP);
    const bundles = await measureBundles(ROOT, COLD_RUNS);

    printResults({
      settings: { n: N, warmup: WARMUP, seconds: SECONDS, chunkDelayMs: CHUNK_DELAY_MS },
      rows,
      upstreamRequests,
      breakdown,
      throughput,
      drainMs,
      memory,
      initMs,
      bundles,
    });
    console.log(
      `\nbench wall time ${((performance.now() - benchStarted) / 1000).toFixed(1)} s; node ${process.version}, ` +
        `${availableParallelism()} CPUs, 1-min load average ${loadAtStart.toFixed(2)} at start and ` +
        `${(loadavg()[0] ?? 0).toFixed(2)} at the end (other work on the machine skews every figure)`,
    );
  } finally {
    await gateway.close();
    await mock.close();
  }
}

await main();
