// The real Codex CLI (`codex exec`) through the gateway to the mock upstream, offline.
// Config reference: https://developers.openai.com/codex/config-reference
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AGENT_CLIS, resolveAgent } from '../../scripts/install-agents.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import {
  type MockUpstream,
  type MockUsage,
  type RecordedRequest,
  startMockUpstream,
} from '../support/mock-upstream.ts';
import { describeRun, makeSandbox, runCli, type Sandbox } from './support/cli.ts';
import { type EgressTrap, offlineProxyEnv, startEgressTrap, startTap, type Tap } from './support/net.ts';

const VERSION = AGENT_CLIS.codex.version;
/** In the gateway's catalog; Codex itself has no metadata for it and warns that it uses defaults. */
const MODEL = 'gpt-5-codex';

let bin: string;
let mock: MockUpstream;
let gateway: TestGateway;
let tap: Tap;
let trap: EgressTrap;
let sandbox: Sandbox;

beforeAll(async () => {
  bin = await resolveAgent('codex');
  mock = await startMockUpstream();
  gateway = await startTestGateway(mock.url);
  tap = await startTap(gateway.url);
  trap = await startEgressTrap();
});

afterAll(async () => {
  await Promise.all([tap?.close(), trap?.close()]);
  await gateway?.close();
  await mock?.close();
});

beforeEach(async () => {
  sandbox = await makeSandbox('codex');
  mock.script.responder = undefined;
});

afterEach(async () => {
  await sandbox.remove();
});

/**
 * A config.toml that points Codex at the gateway and turns off what would leave the machine:
 * the curated-plugin sync (git/GitHub, then chatgpt.com), apps, and analytics (OTLP metrics to
 * ab.chatgpt.com). The egress trap catches anything else.
 */
function configToml(opts: { supportsWebsockets?: boolean } = {}): string {
  return [
    `model = "${MODEL}"`,
    'model_provider = "tollgate"',
    'check_for_update_on_startup = false',
    '',
    '[model_providers.tollgate]',
    'name = "Tollgate"',
    `base_url = "${tap.url}/v1"`,
    'env_key = "TOLLGATE_API_KEY"',
    'wire_api = "responses"',
    ...(opts.supportsWebsockets ? ['supports_websockets = true'] : []),
    '',
    '[analytics]',
    'enabled = false',
    '',
    '[features]',
    'plugins = false',
    'remote_plugin = false',
    'apps = false',
    '',
  ].join('\n');
}

/** Runs `codex exec` in a fresh CODEX_HOME with a fresh virtual key; returns the run and the key's records. */
async function codexExec(
  prompt: string,
  opts: { json?: boolean; supportsWebsockets?: boolean; maxBudget?: number } = {},
) {
  const alias = `codex ${randomUUID()}`;
  const { key } = await gateway.createKey({
    key_alias: alias,
    ...(opts.maxBudget === undefined ? {} : { max_budget: opts.maxBudget, budget_duration: '1mo' }),
  });
  const codexHome = join(sandbox.root, 'codex-home');
  await mkdir(codexHome);
  await writeFile(join(codexHome, 'config.toml'), configToml(opts));
  const tapped = tap.requests.length;
  const args = ['exec', '--skip-git-repo-check', ...(opts.json ? ['--json'] : []), prompt];
  const run = await runCli(bin, args, {
    cwd: sandbox.cwd,
    env: { HOME: sandbox.home, CODEX_HOME: codexHome, TOLLGATE_API_KEY: key, ...offlineProxyEnv(trap) },
  });
  await gateway.proxy.drain();
  const records = (await gateway.records()).filter((r) => r.key_alias === alias);
  return { key, run, records, sent: tap.requests.slice(tapped) };
}

function tokensOf(usage: MockUsage) {
  return {
    input_tokens: usage.input_tokens,
    output_tokens: usage.output_tokens,
    cache_read_tokens: usage.cache_read_input_tokens ?? 0,
    reasoning_tokens: usage.reasoning_tokens ?? 0,
  };
}

/** `--json` prints one event per line; `turn.completed` carries Codex's own token count for the turn. */
function jsonEvents(stdout: string): Array<{ type: string; [field: string]: unknown }> {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

function hasToolOutput(request: RecordedRequest): boolean {
  const input = (request.body as { input?: unknown[] } | undefined)?.input ?? [];
  return input.some((item) => (item as { type?: string }).type === 'function_call_output');
}

function toolOutput(request: RecordedRequest | undefined): string {
  const input = (request?.body as { input?: unknown[] } | undefined)?.input ?? [];
  const item = input.find((i) => (i as { type?: string }).type === 'function_call_output') as
    | { output?: unknown }
    | undefined;
  return typeof item?.output === 'string' ? item.output : JSON.stringify(item?.output ?? '');
}

function expectCodexRequest(sent: RecordedRequest, key: string): void {
  expect(sent.method).toBe('POST');
  expect(sent.path).toBe('/v1/responses');
  expect(sent.headers['user-agent']).toMatch(new RegExp(`^codex_exec/${VERSION.replaceAll('.', '\\.')} `));
  expect(sent.headers.originator).toBe('codex_exec');
  expect(sent.headers['session-id']).toBeDefined();
  expect(sent.headers.authorization).toBe(`Bearer ${key}`);
  expect(sent.body).toMatchObject({ model: MODEL, stream: true });
}

describe(`Codex CLI ${VERSION} through the gateway`, () => {
  it('stops at once on a spent budget and tells its user when to try again, without retrying', async () => {
    // A budget of one micro-dollar: no request fits. Codex retried a 402 six times over ~6.5 s; a 429
    // of type usage_limit_reached is final for it.
    const { run, records, sent } = await codexExec('Say hello.', { maxBudget: 0.000001 });

    expect(run.code, describeRun(run)).not.toBe(0);
    expect(run.stderr).toMatch(/hit your usage limit\. Try again at/);
    expect(run.stderr).not.toContain('Reconnecting');
    expect(sent.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(records).toMatchObject([
      { agent: 'codex', outcome: 'denied', status: 429, error_type: 'budget_exceeded' },
    ]);
  });

  it('answers a prompt over HTTP, printed, and recorded as codex with the tokens sent', async () => {
    mock.script.text = 'Hello from Codex behind Tollgate.';
    mock.script.usage = {
      input_tokens: 2_400,
      output_tokens: 80,
      cache_read_input_tokens: 6_000,
      reasoning_tokens: 32,
    };

    const { key, run, records, sent } = await codexExec('Say hello.');

    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout.trim()).toBe(mock.script.text);
    expect(sent).toHaveLength(1);
    expectCodexRequest(sent[0]!, key);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      agent: 'codex',
      agent_version: VERSION,
      session_id: sent[0]!.headers['session-id'],
      outcome: 'success',
      model_used: MODEL,
      stream: true,
      usage_source: 'provider',
      ...tokensOf(mock.script.usage),
    });
    expect(trap.attempts).toEqual([]);
  });

  it('runs a shell tool call and its follow-up turn, recorded with the tokens Codex counts', async () => {
    const toolUsage: MockUsage = { input_tokens: 3_000, output_tokens: 40, reasoning_tokens: 16 };
    const finalUsage: MockUsage = { input_tokens: 300, output_tokens: 12, cache_read_input_tokens: 3_000 };
    const finalText = 'The command printed hi.';
    mock.script.responder = (request) => {
      if (hasToolOutput(request)) return { text: finalText, usage: finalUsage };
      // `exec_command` is the shell tool Codex offers a model it has no metadata for.
      const call = { type: 'tool_use' as const, id: 'call_TollgateAgentTest01', name: 'exec_command' };
      return { content: [{ ...call, input: { cmd: 'echo hi' } }], usage: toolUsage };
    };
    const upstreamSeen = mock.requests.length;

    const { key, run, records, sent } = await codexExec('Run `echo hi` and tell me what it printed.', {
      json: true,
    });

    expect(run.code, describeRun(run)).toBe(0);
    const events = jsonEvents(run.stdout);
    const messages = events
      .filter((e) => e.type === 'item.completed')
      .map((e) => e.item as { type: string; text?: string });
    expect(messages.filter((m) => m.type === 'agent_message').at(-1)?.text).toBe(finalText);
    expect(toolOutput(mock.requests.slice(upstreamSeen).find(hasToolOutput))).toMatch(/Output:\nhi\n/);
    expect(sent).toHaveLength(2);
    for (const request of sent) expectCodexRequest(request, key);
    const byInput = [...records].sort((a, b) => b.input_tokens - a.input_tokens);
    expect(byInput).toMatchObject([
      { agent: 'codex', outcome: 'success', ...tokensOf(toolUsage) },
      { agent: 'codex', outcome: 'success', ...tokensOf(finalUsage) },
    ]);
    // Codex's input_tokens include the cached ones, as OpenAI reports them.
    const counted = events.find((e) => e.type === 'turn.completed')?.usage;
    const sum = (f: (r: (typeof records)[number]) => number) => records.reduce((n, r) => n + f(r), 0);
    expect(counted).toMatchObject({
      input_tokens: sum((r) => r.input_tokens + r.cache_read_tokens),
      cached_input_tokens: sum((r) => r.cache_read_tokens),
      output_tokens: sum((r) => r.output_tokens),
    });
    expect(trap.attempts).toEqual([]);
  });

  describe('with WebSockets turned on for the provider', () => {
    // One run for both tests (a refusal other than 426 would cost ~6 s of Codex's retry backoff).
    let outcome: Promise<Awaited<ReturnType<typeof codexExec>>> | undefined;
    const runOnce = () => {
      mock.script.text = 'Hello over the HTTP fallback.';
      mock.script.usage = { input_tokens: 900, output_tokens: 30 };
      outcome ??= codexExec('Say hello.', { supportsWebsockets: true });
      return outcome;
    };

    it('falls back to HTTP after the gateway refuses the WebSocket handshake', async () => {
      const { run, records, sent } = await runOnce();

      expect(run.code, describeRun(run)).toBe(0);
      expect(run.stdout.trim()).toBe('Hello over the HTTP fallback.');
      expect(run.stderr).not.toContain('Reconnecting');
      const handshakes = sent.filter((r) => r.method === 'GET');
      expect(handshakes.length).toBeGreaterThan(0);
      for (const handshake of handshakes) {
        expect(handshake.path).toBe('/v1/responses');
        expect(handshake.headers.upgrade).toBe('websocket');
      }
      expect(sent.filter((r) => r.method === 'POST')).toHaveLength(1);
      // The refused handshakes are not usage: only the HTTP call is recorded.
      expect(records).toMatchObject([
        { agent: 'codex', outcome: 'success', input_tokens: 900, output_tokens: 30 },
      ]);
    });

    // Codex gives up on WebSockets at once on 426 Upgrade Required; on a 404 or 405 it retries 6 more
    // times with backoff and prints "Reconnecting... n/5" errors.
    it('is sent to HTTP by the first refusal, without retries', async () => {
      const { sent } = await runOnce();

      expect(sent.filter((r) => r.method === 'GET')).toHaveLength(1);
    });
  });
});
