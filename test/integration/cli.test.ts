import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLakeSink } from '../../functions/adapters/local/lake-sink.ts';
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type MockUpstream, startMockUpstream } from '../support/mock-upstream.ts';
import { usageRecord } from '../support/usage-fixture.ts';

/** `npx tollgate ...`: the admin CLI, run as a person would, against the running gateway. */
const run = promisify(execFile);
let mock: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startTestGateway(mock.url);
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});

async function tollgate(args: string[], key: { master?: string; own?: string } = { master: MASTER_KEY }) {
  const env = {
    ...process.env,
    TOLLGATE_URL: gateway.url,
    TOLLGATE_MASTER_KEY: key.master ?? '',
    TOLLGATE_API_KEY: key.own ?? '',
  };
  try {
    const { stdout } = await run('node', ['bin/tollgate.js', ...args], { env });
    return { code: 0, stdout, stderr: '' };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the tollgate CLI', () => {
  it('creates a team, a person and a key, lists them, and revokes the key by alias', async () => {
    // Act
    const team = await tollgate(['teams', 'create', '--id', 'ops', '--budget', '300', '--duration', '1mo']);
    const user = await tollgate(['users', 'create', '--id', 'kim', '--budget', '40', '--team', 'ops']);
    const created = await tollgate([
      'keys',
      'create',
      '--alias',
      'kim-cc',
      '--user',
      'kim',
      '--team',
      'ops',
      '--budget',
      '10',
    ]);
    const revoked = await tollgate(['keys', 'revoke', 'kim-cc']);
    const listed = await tollgate(['keys', 'list', '--user', 'kim', '--json']);

    // Assess
    expect([team.code, user.code, created.code, revoked.code, listed.code]).toEqual([0, 0, 0, 0, 0]);
    expect(team.stdout).toContain('team ops');
    const secret = created.stdout.split('\n')[0] ?? '';
    expect(secret).toMatch(/^sk-tg-/);
    const keys = JSON.parse(listed.stdout).keys as Array<{ key_alias: string | null; blocked: boolean }>;
    expect(keys.find((k) => k.key_alias === 'kim-cc')?.blocked).toBe(true);
    expect(keys).toHaveLength(2);
    const status = (
      await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}` },
        body: JSON.stringify({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'hi' }] }),
      })
    ).status;
    expect(status).toBe(403);
  });

  it('lets a person with only their own key list and create their own keys, and nothing else', async () => {
    // Prepare
    const { stdout } = await tollgate(['users', 'create', '--id', 'lee', '--budget', '5']);
    const own = stdout.split('\n')[1] ?? '';

    // Act
    const made = await tollgate(['keys', 'create', '--alias', 'lee-2'], { own });
    const listed = await tollgate(['keys', 'list', '--json'], { own });
    const teams = await tollgate(['teams', 'list'], { own });

    // Assess
    expect(made.code).toBe(0);
    const keys = JSON.parse(listed.stdout).keys as Array<{ user_id: string }>;
    expect(keys.map((k) => k.user_id)).toEqual(['lee', 'lee']);
    expect(teams.code).toBe(1);
    expect(teams.stderr).toMatch(/403: This route needs the master key/);
  });

  it('re-prices the local lake from tokens at corrected prices', async () => {
    // Prepare: 1,000,000 input tokens of claude-sonnet-4-5 recorded at $3/M; corrected to $2/M.
    const dataDir = await mkdtemp(join(tmpdir(), 'tollgate-cli-reprice-'));
    await createLakeSink({ dataDir, clock: { now: () => new Date('2026-11-30T12:00:00Z') } }).write([
      usageRecord({
        request_id: 'x',
        ts: '2026-11-30T10:00:00.000Z',
        input_tokens: 1_000_000,
        output_tokens: 0,
        cost_micros: 3_000_000,
        shadow_cost_micros: 3_000_000,
        price_version: '2026-11-01',
      }),
    ]);
    const prices = join(dataDir, 'prices.json');
    await writeFile(
      prices,
      JSON.stringify([
        {
          model: 'claude-sonnet-4-5',
          provider: 'anthropic',
          price: { input: '2', output: '10' },
          max_output_tokens: 64000,
        },
      ]),
    );

    // Act
    const { stdout } = await run(
      'node',
      [
        'bin/tollgate.js',
        'reprice',
        '--from',
        '2026-11-30',
        '--to',
        '2026-11-30',
        '--version',
        '2026-12-01',
        '--prices',
        prices,
      ],
      {
        env: { ...process.env, TOLLGATE_DATA_DIR: dataDir },
      },
    );

    // Assess
    expect(stdout.trim()).toBe('1 of 1 records over 1 days re-priced to 2026-12-01: $3.00 → $2.00');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('prints agent settings that send model calls and telemetry to this gateway with the key, and refuses an unknown key', async () => {
    // Prepare
    const { key } = await gateway.createKey({ key_alias: 'agent-setup' });

    // Act
    const setup = await tollgate(['agent-setup', '--key', key]);
    const unknown = await tollgate(['agent-setup', '--key', 'sk-tg-not-a-key']);

    // Assess: the Claude Code env block works as printed; the Codex config names the same endpoints
    expect(setup.code).toBe(0);
    const settings = JSON.parse(
      setup.stdout.slice(setup.stdout.indexOf('{'), setup.stdout.indexOf('\n}\n') + 2),
    );
    expect(settings.env).toMatchObject({ ANTHROPIC_BASE_URL: gateway.url, ANTHROPIC_AUTH_TOKEN: key });
    const [name, value] = String(settings.env.OTEL_EXPORTER_OTLP_HEADERS).split('=');
    const exported = await fetch(`${settings.env.OTEL_EXPORTER_OTLP_ENDPOINT}/v1/metrics`, {
      method: 'POST',
      headers: { [String(name)]: String(value), 'content-type': 'application/json' },
      body: '{"resourceMetrics":[]}',
    });
    expect(exported.status).toBe(200);
    expect(setup.stdout).toContain(`base_url = "${gateway.url}/v1"`);
    expect(setup.stdout).toContain(`endpoint = "${gateway.url}/v1/logs"`);
    expect(setup.stdout).toContain(`"Authorization" = "Bearer ${key}"`);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/refuses this key \(401\)/);
  });

  it('says what is wrong with a bad command or value, and exits 1', async () => {
    // Act
    const unknown = await tollgate(['keys', 'frob']);
    const badBudget = await tollgate(['keys', 'create', '--budget', 'lots']);

    // Assess
    expect([unknown.code, badBudget.code]).toEqual([1, 1]);
    expect(unknown.stderr).toContain("Unknown command 'keys frob'");
    expect(badBudget.stderr).toContain("--budget must be a number, not 'lots'");
  });

  it.each(
    [
      [['keys', 'create', '--colour', 'red'], /colour/],
      [['keys', 'create', '--budget'], /budget/],
      [['keys', 'create', '--budget', '1e400'], /--budget/],
      [['keys', 'create', '--budget', '0x10'], /--budget/],
      [['keys', 'create', '--rpm', '1.5'], /--rpm/],
      [['keys', 'create', '--duration', '999999999999mo'], /budget_duration/],
      [['teams', 'info', 'x'.repeat(300)], /team_id/],
      [['reprice', '--from', '2026-13-01', '--to', '2026-12-02', '--version', '2026-12-01'], /--from/],
      [
        [
          'reprice',
          '--from',
          '2026-12-01',
          '--to',
          '2026-12-02',
          '--version',
          '2026-12-01',
          '--prices',
          '/no/such.json',
        ],
        /--prices/,
      ],
    ].map(([args, named]) => ({
      args: args as string[],
      named: named as RegExp,
      line: (args as string[]).join(' ').replace(/x{300}/, '<300 chars>'),
    })),
  )(
    'refuses $line with a message naming what is wrong, exit code 1 and no stack trace',
    async ({ args, named }) => {
      // Act
      const { code, stderr } = await tollgate(args);

      // Assess
      expect(code).toBe(1);
      expect(stderr).toMatch(/^tollgate: /);
      expect(stderr).toMatch(named);
      expect(stderr).not.toMatch(/\n\s+at /);
    },
  );
});
