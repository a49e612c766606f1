// The real Claude Code CLI (`claude -p`) through the gateway to the mock upstream, offline.
// Env vars: https://code.claude.com/docs/en/env-vars ; print mode: https://code.claude.com/docs/en/headless
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../functions/core/usage/record.ts';
import { AGENT_CLIS, resolveAgent } from '../../scripts/install-agents.ts';
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway.ts';
import {
  type MockUpstream,
  type MockUsage,
  type RecordedRequest,
  startMockUpstream,
} from '../support/mock-upstream.ts';
import { describeRun, makeSandbox, runCli, type Sandbox } from './support/cli.ts';
import { type EgressTrap, offlineProxyEnv, startEgressTrap, startTap, type Tap } from './support/net.ts';

const VERSION = AGENT_CLIS['claude-code'].version;

/** The fields of `claude -p --output-format json` that the tests read. */
interface ClaudeResult {
  type: 'result';
  subtype: string;
  is_error: boolean;
  result: string;
  session_id: string;
  num_turns: number;
  total_cost_usd: number;
  modelUsage: Record<string, { costUSD: number }>;
}

let bin: string;
let mock: MockUpstream;
let gateway: TestGateway;
let tap: Tap;
let trap: EgressTrap;
let sandbox: Sandbox;

beforeAll(async () => {
  bin = await resolveAgent('claude-code');
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
  sandbox = await makeSandbox('claude-code');
  mock.script.responder = undefined;
});

afterEach(async () => {
  await sandbox.remove();
});

/** Claude Code's environment in the sandbox: the gateway at `baseUrl`, the key, and no way out. */
function claudeEnv(baseUrl: string, auth: 'ANTHROPIC_AUTH_TOKEN' | 'ANTHROPIC_API_KEY', key: string) {
  return {
    HOME: sandbox.home,
    ANTHROPIC_BASE_URL: baseUrl,
    [auth]: key,
    // Without this Claude Code also calls api.anthropic.com directly (seen by the egress trap).
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_ERROR_REPORTING: '1',
    ...offlineProxyEnv(trap),
  };
}

/** Runs `claude -p` with a fresh virtual key; returns its JSON result and the gateway's records of it. */
async function claudePrint(
  prompt: string,
  opts: {
    model: string;
    auth: 'ANTHROPIC_AUTH_TOKEN' | 'ANTHROPIC_API_KEY';
    args?: string[];
    /** The virtual key's alias, for a test that scopes a routing rule to it. */
    keyAlias?: string;
  },
) {
  const { key } = await gateway.createKey({
    key_alias: opts.keyAlias ?? `claude-code ${opts.model} ${opts.auth}`,
  });
  const tapped = tap.requests.length;
  const run = await runCli(
    bin,
    ['-p', prompt, '--output-format', 'json', '--model', opts.model, ...(opts.args ?? [])],
    {
      cwd: sandbox.cwd,
      env: claudeEnv(tap.url, opts.auth, key),
    },
  );
  expect(run.code, describeRun(run)).toBe(0);
  const result = JSON.parse(run.stdout) as ClaudeResult;
  await gateway.proxy.drain();
  const records = (await gateway.records()).filter((r) => r.session_id === result.session_id);
  return { key, result, records, sent: tap.requests.slice(tapped) };
}

/** Saves a routing rule through the admin API with the master key; returns the saved rule's id. */
async function saveRoutingRule(rule: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${gateway.url}/routing/rules`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(rule),
  });
  const body = (await response.json()) as { id?: string };
  expect(response.status, JSON.stringify(body)).toBe(200);
  return String(body.id);
}

function tokensOf(usage: MockUsage) {
  return {
    input_tokens: usage.input_tokens,
    output_tokens: usage.output_tokens,
    cache_read_tokens: usage.cache_read_input_tokens ?? 0,
    cache_write_5m_tokens: usage.cache_creation_input_tokens ?? 0,
    cache_write_1h_tokens: 0,
  };
}

function expectBilledAsClaudeCodeSays(records: UsageRecord[], result: ClaudeResult): void {
  const billed = records.reduce((sum, r) => sum + r.cost_micros, 0);
  const claimed = Math.round(result.total_cost_usd * 1e6);
  const detail = `gateway ${billed} µ$, Claude Code ${claimed} µ$ (${JSON.stringify(result.modelUsage)})`;
  expect(Math.abs(billed - claimed), detail).toBeLessThanOrEqual(100);
}

function expectClaudeCodeRequest(sent: RecordedRequest): void {
  expect(sent.method).toBe('POST');
  expect(sent.path).toBe('/v1/messages?beta=true');
  expect(sent.headers['user-agent']).toMatch(new RegExp(`^claude-cli/${VERSION.replaceAll('.', '\\.')} \\(`));
  expect(sent.headers['anthropic-version']).toBeDefined();
  expect(sent.headers['x-claude-code-session-id']).toBeDefined();
  expect(sent.body).toMatchObject({ stream: true });
}

describe(`Claude Code ${VERSION} through the gateway`, () => {
  // Large cache reads and writes, so a price that differs from Claude Code's by even a few percent
  // shows up well above the 100 µ$ tolerance.
  const usage: MockUsage = {
    input_tokens: 1_500,
    output_tokens: 120,
    cache_read_input_tokens: 24_000,
    cache_creation_input_tokens: 6_000,
  };

  it.each(['claude-sonnet-4-6', 'claude-haiku-4-5', 'claude-opus-4-6'])(
    'answers a prompt with %s, recorded with the tokens sent and the cost Claude Code reports',
    async (model) => {
      mock.script.text = `Hello from ${model} behind Tollgate.`;
      mock.script.usage = usage;

      const { key, result, records, sent } = await claudePrint('Say hello.', {
        model,
        auth: 'ANTHROPIC_AUTH_TOKEN',
      });

      expect(result).toMatchObject({ subtype: 'success', is_error: false, result: mock.script.text });
      expect(sent.length).toBeGreaterThan(0);
      for (const request of sent) {
        expectClaudeCodeRequest(request);
        expect(request.headers.authorization).toBe(`Bearer ${key}`);
        expect(request.headers['x-api-key']).toBeUndefined();
      }
      expect(records).toHaveLength(sent.length);
      for (const record of records) {
        expect(record).toMatchObject({
          agent: 'claude-code',
          agent_version: VERSION,
          outcome: 'success',
          model_used: model,
          stream: true,
          usage_source: 'provider',
          ...tokensOf(usage),
        });
      }
      expectBilledAsClaudeCodeSays(records, result);
      expect(trap.attempts).toEqual([]);
    },
  );

  it('runs a Bash tool call and its follow-up turn, both recorded and billed', async () => {
    const toolUsage: MockUsage = {
      input_tokens: 2_100,
      output_tokens: 64,
      cache_creation_input_tokens: 18_000,
    };
    const finalUsage: MockUsage = { input_tokens: 180, output_tokens: 23, cache_read_input_tokens: 18_000 };
    const finalText = 'The command printed hi.';
    mock.script.responder = (request) => {
      if (hasToolResult(request)) return { text: finalText, usage: finalUsage };
      return {
        content: [
          {
            type: 'tool_use',
            id: 'toolu_01TollgateAgentTest01',
            name: 'Bash',
            input: { command: 'echo hi', description: 'Print hi' },
          },
        ],
        usage: toolUsage,
      };
    };
    const upstreamSeen = mock.requests.length;

    const { key, result, records, sent } = await claudePrint('Run `echo hi` and tell me what it printed.', {
      model: 'claude-sonnet-4-6',
      auth: 'ANTHROPIC_API_KEY',
      args: ['--allowedTools', 'Bash(echo *)'],
    });

    expect(result).toMatchObject({ subtype: 'success', is_error: false, result: finalText, num_turns: 2 });
    const followUp = mock.requests.slice(upstreamSeen).find(hasToolResult);
    expect(toolResultText(followUp)).toMatch(/^hi\n/);
    expect(sent).toHaveLength(2);
    for (const request of sent) {
      expectClaudeCodeRequest(request);
      expect(request.headers['x-api-key']).toBe(key);
    }
    const byOutput = [...records].sort((a, b) => b.output_tokens - a.output_tokens);
    expect(byOutput).toMatchObject([
      { agent: 'claude-code', outcome: 'success', ...tokensOf(toolUsage) },
      { agent: 'claude-code', outcome: 'success', ...tokensOf(finalUsage) },
    ]);
    expectBilledAsClaudeCodeSays(records, result);
    expect(trap.attempts).toEqual([]);
  });

  it('runs with claude-opus-4-5 while a key-scoped alias rule serves the opus slot with sonnet, priced as sonnet', async () => {
    // Prepare: a rule for this test's key alone, so no other test in the file is rerouted.
    const keyAlias = 'claude-code opus slot is sonnet';
    const ruleName = 'claude-code: opus slot is sonnet';
    const ruleId = await saveRoutingRule({
      name: ruleName,
      scope: { key_alias: keyAlias },
      priority: 10,
      condition: 'model.startsWith("claude-opus")',
      targets: [{ model: 'claude-sonnet-4-5' }],
    });
    mock.script.text = 'Hello from the opus slot, served by sonnet.';
    mock.script.usage = usage;
    const upstreamSeen = mock.requests.length;

    // Act
    const { result, records, sent } = await claudePrint('Say hello.', {
      model: 'claude-opus-4-5',
      auth: 'ANTHROPIC_AUTH_TOKEN',
      keyAlias,
    });

    // Assess
    expect(result).toMatchObject({ subtype: 'success', is_error: false, result: mock.script.text });
    const sentOpus = sent.filter((r) => modelOf(r).startsWith('claude-opus'));
    expect(sentOpus.length).toBeGreaterThan(0);
    // Every request the CLI sent for opus reached the upstream as sonnet; side requests for other
    // models (if any) went out as they were sent.
    const servedAs = (model: string) => (model.startsWith('claude-opus') ? 'claude-sonnet-4-5' : model);
    const upstreamModels = mock.requests.slice(upstreamSeen).map(modelOf).sort();
    expect(upstreamModels).toEqual(sent.map((r) => servedAs(modelOf(r))).sort());
    expect(upstreamModels.filter((m) => m.startsWith('claude-opus'))).toEqual([]);
    const rerouted = records.filter((r) => r.model_requested?.startsWith('claude-opus'));
    expect(rerouted).toHaveLength(sentOpus.length);
    for (const record of rerouted) {
      expect(record).toMatchObject({
        agent: 'claude-code',
        outcome: 'success',
        model_used: 'claude-sonnet-4-5',
        route_rule: ruleName,
        route_rule_id: ruleId,
        attempts: 1,
        attempt_log: ['anthropic/claude-sonnet-4-5 200'],
        ...tokensOf(usage),
      });
      // Per M tokens, sonnet 4.5 is $3 in, $15 out, $0.30 cache read, $3.75 cache write; opus 4.5 is
      // $5, $25, $0.50, $6.25: 4,500 + 1,800 + 7,200 + 22,500 µ$ against 7,500 + 3,000 + 12,000 + 37,500.
      expect(record.cost_micros).toBe(36_000);
      expect(record.cost_as_requested_micros).toBe(60_000);
    }
    // Claude Code prices what it asked for, so its own figure is the gateway's cost as requested.
    const asRequested = rerouted.reduce((sum, r) => sum + (r.cost_as_requested_micros ?? 0), 0);
    expect(Math.round(result.total_cost_usd * 1e6)).toBe(asRequested);
    expect(trap.attempts).toEqual([]);
  });
});

/** The `rate_limit_event` lines `claude -p --output-format stream-json --verbose` prints for one prompt. */
async function rateLimitEvents(key: string, auth: 'ANTHROPIC_AUTH_TOKEN' | 'ANTHROPIC_API_KEY') {
  const run = await runCli(
    bin,
    ['-p', 'Say hi.', '--output-format', 'stream-json', '--verbose', '--model', 'claude-sonnet-4-5'],
    {
      cwd: sandbox.cwd,
      env: claudeEnv(gateway.url, auth, key),
    },
  );
  expect(run.code, describeRun(run)).toBe(0);
  const events = run.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { type: string; rate_limit_info?: Record<string, unknown> });
  expect(events.some((e) => e.type === 'result')).toBe(true);
  return events.filter((e) => e.type === 'rate_limit_event').map((e) => e.rate_limit_info);
}

describe(`Claude Code ${VERSION} knows its budget`, () => {
  // Claude Code's first request asks for up to 32,000 output tokens of Sonnet ($0.48) with its whole
  // system prompt, some 80 KB held at a token a byte and Sonnet's dearest prompt rate ($0.50): about
  // $0.99 held, so on a $1.20 key it holds over 75 % of the budget and on a $0.90 key over 95 % (its
  // output lowered to fit); the gateway says so in the anthropic-ratelimit-unified-* headers. Claude Code's
  // interactive screen turns the event into "You've used 81% of your usage credits · resets …"; in
  // print mode it reports the event itself.
  it.each([
    [1.2, 0.75],
    [0.9, 0.95],
  ])(
    'takes the gateway key as a gateway token: a $%s key reports the %s warning the gateway sent',
    async (budget, threshold) => {
      // Prepare
      const { key } = await gateway.createKey({
        key_alias: `claude-code near its $${budget} cap`,
        max_budget: budget,
      });

      // Act
      const events = await rateLimitEvents(key, 'ANTHROPIC_AUTH_TOKEN');

      // Assess
      expect(events.length).toBeGreaterThan(0);
      const last = events.at(-1);
      expect(last).toMatchObject({
        status: 'allowed_warning',
        rateLimitType: 'overage',
        surpassedThreshold: threshold,
      });
      expect(last?.utilization).toBeGreaterThanOrEqual(threshold);
      expect(last?.utilization).toBeLessThan(1);
      expect(trap.attempts).toEqual([]);
    },
  );

  it('shows its user the warning on its own screen (the interactive CLI, in a tmux pane)', async () => {
    // Prepare: a monthly $1.20 key, and a home where Claude Code's first-run screens are done.
    const { key } = await gateway.createKey({
      key_alias: 'claude-code on screen',
      max_budget: 1.2,
      budget_duration: '1mo',
    });
    await writeFile(
      join(sandbox.home, '.claude.json'),
      JSON.stringify({
        hasCompletedOnboarding: true,
        projects: { [sandbox.cwd]: { hasTrustDialogAccepted: true, hasCompletedProjectOnboarding: true } },
      }),
    );
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      TERM: 'xterm-256color',
      ...claudeEnv(gateway.url, 'ANTHROPIC_AUTH_TOKEN', key),
    };
    const attemptsBefore = trap.attempts.length;
    const pane = await startTmuxPane(sandbox.cwd, env, [bin, '--model', 'claude-sonnet-4-5']);
    try {
      await pane.waitFor(/❯/, 30_000);

      // Act
      await pane.type('Say hi.');
      const screen = await pane.waitFor(/You've used \d+% of your usage credits/, 30_000);

      // Assess
      expect(screen).toMatch(/❯ Say hi\./);
      expect(screen).toMatch(/You've used (7[5-9]|8\d|9[0-4])% of your usage credits · resets /);
      // The interactive CLI's own background fetches (its releases, its plugin marketplace) reach
      // the egress trap, which refuses them: nothing else was tried, and nothing left the machine.
      for (const host of trap.attempts.slice(attemptsBefore))
        expect(['downloads.claude.ai:443', 'github.com:443']).toContain(host);
    } finally {
      await pane.close();
    }
  });

  it('ignores the same headers for a key sent as ANTHROPIC_API_KEY (its plain-API-key mode)', async () => {
    // Prepare
    const { key } = await gateway.createKey({
      key_alias: 'claude-code api key near its cap',
      max_budget: 0.9,
    });

    // Act
    const events = await rateLimitEvents(key, 'ANTHROPIC_API_KEY');

    // Assess
    expect(events).toEqual([]);
  });
});

function modelOf(request: RecordedRequest): string {
  return String((request.body as { model?: unknown } | undefined)?.model ?? '');
}

type Message = { role: string; content: unknown };

function lastUserContent(request: RecordedRequest | undefined): unknown[] {
  const messages = (request?.body as { messages?: Message[] } | undefined)?.messages ?? [];
  const content = messages.at(-1)?.content;
  return Array.isArray(content) ? content : [];
}

function hasToolResult(request: RecordedRequest): boolean {
  return lastUserContent(request).some((b) => (b as { type?: string }).type === 'tool_result');
}

function toolResultText(request: RecordedRequest | undefined): string {
  const block = lastUserContent(request).find((b) => (b as { type?: string }).type === 'tool_result') as
    | { content?: unknown }
    | undefined;
  const content = block?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((c) => (c as { text?: string }).text ?? '').join('');
  return '';
}

/** An interactive CLI in a detached tmux pane of its own: typed into, and its screen read. */
async function startTmuxPane(cwd: string, env: Record<string, string>, command: string[]) {
  const name = `tollgate-agents-${process.pid}-${Date.now()}`;
  const quote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`;
  const vars = Object.entries(env).map(([k, v]) => quote(`${k}=${v}`));
  const line = `exec env -i ${vars.join(' ')} ${command.map(quote).join(' ')}`;
  await tmux('new-session', '-d', '-s', name, '-x', '160', '-y', '45', '-c', cwd, line);
  const capture = async () => (await tmux('capture-pane', '-p', '-t', name)).stdout;
  return {
    async type(text: string) {
      await tmux('send-keys', '-t', name, '-l', text);
      await new Promise((resolve) => setTimeout(resolve, 500));
      await tmux('send-keys', '-t', name, 'Enter');
    },
    /** The screen once it matches `pattern`; fails with the last screen after `timeoutMs`. */
    async waitFor(pattern: RegExp, timeoutMs: number): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      let screen = '';
      while (Date.now() < deadline) {
        screen = await capture();
        if (pattern.test(screen)) return screen;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      throw new Error(`The pane never showed ${pattern}. Its screen:\n${screen}`);
    },
    async close() {
      await tmux('kill-session', '-t', name).catch(() => undefined);
    },
  };
}

function tmux(...args: string[]) {
  return promisify(execFile)('tmux', args);
}
