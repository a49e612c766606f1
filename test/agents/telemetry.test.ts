// The real Claude Code and Codex CLIs exporting their own OpenTelemetry to the gateway's OTLP receiver
// while their model calls go through it, offline. Claude Code's telemetry settings:
// https://code.claude.com/docs/en/monitoring-usage ; Codex's `[otel]`: its config.toml reference.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TelemetryRecord } from '../../functions/core/telemetry/record.ts';
import { resolveAgent } from '../../scripts/install-agents.ts';
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, type RecordedRequest, startMockUpstream } from '../support/mock-upstream.ts';
import { describeRun, makeSandbox, runCli, type Sandbox } from './support/cli.ts';
import { type EgressTrap, offlineProxyEnv, startEgressTrap } from './support/net.ts';

let mock: MockUpstream;
let gateway: TestGateway;
let trap: EgressTrap;
let sandbox: Sandbox;

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startTestGateway(mock.url);
  trap = await startEgressTrap();
  await admin('/team/new', { team_id: 'platform' });
});
afterAll(async () => {
  await trap?.close();
  await gateway?.close();
  await mock?.close();
});
beforeEach(async () => {
  sandbox = await makeSandbox('telemetry');
  mock.script.responder = undefined;
  return () => sandbox.remove();
});

async function admin(path: string, body?: unknown, key = MASTER_KEY) {
  const response = await fetch(`${gateway.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: answers are read loosely in assertions
  return (await response.json()) as Record<string, any>;
}

/** A person of team platform and their key. */
async function person(userId: string): Promise<string> {
  return String((await admin('/user/new', { user_id: userId, teams: ['platform'] })).key);
}

async function telemetryOf(userId: string): Promise<TelemetryRecord[]> {
  const root = join(gateway.dataDir, 'telemetry');
  const records: TelemetryRecord[] = [];
  for (const day of await readdir(root).catch(() => [])) {
    for (const file of await readdir(join(root, day))) {
      for (const line of (await readFile(join(root, day, file), 'utf8')).split('\n').filter(Boolean))
        records.push(JSON.parse(line));
    }
  }
  return records.filter((r) => r.user_id === userId);
}

function hasToolResult(request: RecordedRequest): boolean {
  return JSON.stringify((request.body as { messages?: unknown[] }).messages?.at(-1) ?? '').includes(
    'tool_result',
  );
}

describe('Claude Code exports its telemetry to the gateway', () => {
  it.each([
    ['http/protobuf', 'dana'],
    ['http/json', 'eve'],
  ])(
    'over %s: a session that writes a file and commits it shows in the person’s outcomes',
    async (protocol, user) => {
      const key = await person(user);
      execFileSync('git', ['init', '-q'], { cwd: sandbox.cwd });
      let turn = 0;
      mock.script.responder = (request) => {
        if (!hasToolResult(request))
          return {
            content: [
              {
                type: 'tool_use',
                id: 'toolu_01TollgateWrite000001',
                name: 'Write',
                input: { file_path: join(sandbox.cwd, 'hello.txt'), content: 'one\ntwo\nthree\n' },
              },
            ],
            usage: { input_tokens: 1_000, output_tokens: 50 },
          };
        turn += 1;
        if (turn === 1)
          return {
            content: [
              {
                type: 'tool_use',
                id: 'toolu_01TollgateCommit00001',
                name: 'Bash',
                input: {
                  command: 'git add hello.txt && git commit -q -m "add hello"',
                  description: 'Commit',
                },
              },
            ],
            usage: { input_tokens: 300, output_tokens: 40 },
          };
        return { text: 'Done.', usage: { input_tokens: 200, output_tokens: 10 } };
      };

      const run = await runCli(
        await resolveAgent('claude-code'),
        [
          '-p',
          'Write hello.txt, then commit it',
          '--output-format',
          'json',
          '--model',
          'claude-sonnet-4-5',
          '--allowedTools',
          'Write',
          'Bash(git *)',
        ],
        {
          cwd: sandbox.cwd,
          env: {
            HOME: sandbox.home,
            ANTHROPIC_BASE_URL: gateway.url,
            ANTHROPIC_API_KEY: key,
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
            DISABLE_AUTOUPDATER: '1',
            DISABLE_ERROR_REPORTING: '1',
            CLAUDE_CODE_ENABLE_TELEMETRY: '1',
            OTEL_METRICS_EXPORTER: 'otlp',
            OTEL_LOGS_EXPORTER: 'otlp',
            OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
            OTEL_EXPORTER_OTLP_ENDPOINT: gateway.url,
            OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Bearer ${key}`,
            // Sent, and never stored: the receiver keeps no prompt text.
            OTEL_LOG_USER_PROMPTS: '1',
            GIT_AUTHOR_NAME: 'Dana',
            GIT_AUTHOR_EMAIL: 'dana@example.com',
            GIT_COMMITTER_NAME: 'Dana',
            GIT_COMMITTER_EMAIL: 'dana@example.com',
            ...offlineProxyEnv(trap),
          },
        },
      );
      await gateway.proxy.drain();

      expect(run.code, describeRun(run)).toBe(0);
      const { session_id } = JSON.parse(run.stdout) as { session_id: string };
      const records = (await gateway.records()).filter((r) => r.session_id === session_id);
      const billed = records.reduce((sum, r) => sum + r.cost_micros, 0);
      const telemetry = await telemetryOf(user);
      const calls = telemetry.filter((r) => r.name === 'claude_code.api_request');
      expect(records).toHaveLength(3);
      expect(new Set(calls.map((c) => c.provider_request_id))).toEqual(
        new Set(records.map((r) => r.provider_request_id)),
      );
      expect(JSON.stringify(telemetry)).not.toContain('Write hello.txt');
      const me = await admin('/api/me', undefined, key);
      expect(me.outcomes).toMatchObject({
        sessions: 1,
        lines_added: 4,
        commits: 1,
        edits_accepted: 1,
        gateway_cost_usd: billed / 1e6,
        agent_cost_usd: billed / 1e6,
      });
      expect((await gateway.keyInfo(key)).spend_micros).toBe(billed);
      expect(trap.attempts).toEqual([]);
    },
  );
});

describe('Codex exports its telemetry to the gateway', () => {
  it.each([['json'], ['binary']])(
    'over OTLP/HTTP %s: its session joins the calls the gateway billed',
    async (protocol) => {
      const user = `codex-${protocol}`;
      const key = await person(user);
      const codexHome = join(sandbox.root, 'codex-home');
      await mkdir(codexHome);
      const exporter = (path: string) =>
        `{ otlp-http = { endpoint = "${gateway.url}${path}", protocol = "${protocol}", headers = { "Authorization" = "Bearer ${key}" } } }`;
      await writeFile(
        join(codexHome, 'config.toml'),
        [
          'model = "gpt-5-codex"',
          'model_provider = "tollgate"',
          'check_for_update_on_startup = false',
          '[model_providers.tollgate]',
          'name = "Tollgate"',
          `base_url = "${gateway.url}/v1"`,
          'env_key = "TOLLGATE_API_KEY"',
          'wire_api = "responses"',
          '[analytics]',
          'enabled = false',
          '[features]',
          'plugins = false',
          'remote_plugin = false',
          'apps = false',
          '[otel]',
          'log_user_prompt = true',
          `exporter = ${exporter('/v1/logs')}`,
          `metrics_exporter = ${exporter('/v1/metrics')}`,
          '',
        ].join('\n'),
      );

      const run = await runCli(
        await resolveAgent('codex'),
        ['exec', '--skip-git-repo-check', `Say hello ${randomUUID()}`],
        {
          cwd: sandbox.cwd,
          env: { HOME: sandbox.home, CODEX_HOME: codexHome, TOLLGATE_API_KEY: key, ...offlineProxyEnv(trap) },
        },
      );
      await gateway.proxy.drain();

      expect(run.code, describeRun(run)).toBe(0);
      const telemetry = await telemetryOf(user);
      const completed = telemetry.find((r) => r.name === 'codex.sse_event');
      expect(completed).toMatchObject({
        agent: 'codex',
        team_id: 'platform',
        input_tokens: 12,
        output_tokens: 7,
      });
      const records = (await gateway.records()).filter((r) => r.user_id === user);
      expect(records.map((r) => r.session_id)).toContain(completed?.session_id);
      const me = await admin('/api/me', undefined, key);
      expect(me.outcomes).toMatchObject({
        sessions: 1,
        gateway_cost_usd: records.reduce((sum, r) => sum + r.cost_micros, 0) / 1e6,
        ungoverned_cost_usd: 0,
      });
      expect(JSON.stringify(telemetry)).not.toContain('Say hello');
      expect(trap.attempts).toEqual([]);
    },
  );
});
