/**
 * A configuration mistake as a person meets it: `npm start` run for real, in a child process, prints one
 * line naming the variable and the field and exits non-zero — never a ZodError stack.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startGatewayProcess } from '../support/gateway-process.ts';

const ROOT = join(import.meta.dirname, '../..');

async function npmStart(
  env: Record<string, string>,
  sharedDataDir?: string,
): Promise<{ code: number | null; stderr: string }> {
  const dataDir = sharedDataDir ?? (await mkdtemp(join(tmpdir(), 'tollgate-config-')));
  try {
    const child = spawn('npm', ['start'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TOLLGATE_DATA_DIR: dataDir,
        TOLLGATE_PORT: '0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout.resume();
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    return { code, stderr };
  } finally {
    if (!sharedDataDir) await rm(dataDir, { recursive: true, force: true });
  }
}

describe('npm start with a configuration mistake', () => {
  it('prints one line naming TOLLGATE_MODELS_JSON, the entry and max_output_tokens, and exits non-zero', async () => {
    // Prepare
    const entry = { model: 'my-model', provider: 'openai', price: { input: '1', output: '4' } };

    // Act
    const { code, stderr } = await npmStart({ TOLLGATE_MODELS_JSON: JSON.stringify([entry]) });

    // Assess
    expect(code).not.toBe(0);
    expect(stderr.trim().split('\n')).toEqual([
      "tollgate: TOLLGATE_MODELS_JSON: entry 1 ('my-model'): max_output_tokens: missing (expected a number)",
    ]);
  });

  it('names an environment variable that is not what it should be, in one line', async () => {
    // Prepare
    const env = { TOLLGATE_PORT: 'four thousand' };

    // Act
    const { code, stderr } = await npmStart(env);

    // Assess
    expect(code).not.toBe(0);
    expect(stderr.trim().split('\n')).toEqual(['tollgate: TOLLGATE_PORT: expected a number']);
  });

  it('names a sign-in mistake in one line before asking the IdP anything', async () => {
    // Prepare: an issuer without the client registered for Tollgate, and a group mapping with neither team nor role.
    const env = { TOLLGATE_OIDC_ISSUER: 'http://127.0.0.1:9/', TOLLGATE_OIDC_GROUP_MAP: '[{"group":"eng"}]' };

    // Act
    const { code, stderr } = await npmStart(env);

    // Assess
    expect(code).not.toBe(0);
    expect(stderr.trim().split('\n')).toEqual([
      'tollgate: TOLLGATE_OIDC_CLIENT_ID: needed when TOLLGATE_OIDC_ISSUER is set',
    ]);
  });

  it('refuses to turn the master key off when no group is mapped to proxy_admin', async () => {
    // Act
    const { code, stderr } = await npmStart({
      TOLLGATE_OIDC_ISSUER: 'http://127.0.0.1:9/',
      TOLLGATE_OIDC_CLIENT_ID: 'tollgate',
      TOLLGATE_OIDC_GROUP_MAP: '[{"group":"eng","team_id":"eng"}]',
      TOLLGATE_MASTER_KEY_OFF: 'true',
    });

    // Assess
    expect(code).not.toBe(0);
    expect(stderr.trim().split('\n')).toEqual([
      'tollgate: TOLLGATE_MASTER_KEY_OFF: needs a group mapped to proxy_admin in TOLLGATE_OIDC_GROUP_MAP, or no one could administer',
    ]);
  });
});

describe('npm start on a data dir another gateway is running on', () => {
  it('says so in one line and exits, and the running gateway goes on serving', async () => {
    // Prepare: a gateway on the data dir (its dynalite holds the store's lock)
    const first = await startGatewayProcess('http://127.0.0.1:9');
    try {
      // Act
      const { code, stderr } = await npmStart({}, first.dataDir);

      // Assess
      expect(code).toBe(1);
      expect(stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^tollgate: TOLLGATE_DATA_DIR: another gateway is running on this data dir/),
      ]);
      expect(first.alive()).toBe(true);
      expect(await first.createKey({ key_alias: 'still-serving' })).toMatch(/^sk-tg-/);
    } finally {
      await first.close();
    }
  });
});
