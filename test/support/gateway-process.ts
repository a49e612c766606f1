/**
 * The embedded gateway as `npm start` runs it: a child process of its own, so a test can see it
 * survive (or not) what clients do, kill it with SIGKILL, and start it again on the same data dir.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UsageRecord } from '../../functions/core/usage/record.ts';
import { MASTER_KEY } from './gateway.ts';

export interface GatewayProcess {
  url: string;
  dataDir: string;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** True while the process runs. */
  alive(): boolean;
  admin(path: string, init?: RequestInit): Promise<Record<string, unknown>>;
  createKey(body: Record<string, unknown>): Promise<string>;
  /** Waits until at least `count` usage records are in the lake (records land after the response). */
  records(count?: number, timeoutMs?: number): Promise<UsageRecord[]>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops the process (SIGTERM) and removes its data dir. */
  close(): Promise<void>;
}

/** What `npm start` runs: the gateway's code bundled by esbuild, on plain Node, with its Node flags. */
const START = join(import.meta.dirname, '../../scripts/start.mjs');
const START_FLAGS = startFlags();

/** The flags package.json's `start` script gives node (`node --flag ... scripts/start.mjs`). */
export function startFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  const [node, ...rest] = pkg.scripts.start.split(/\s+/);
  const flags = rest.slice(0, rest.indexOf('scripts/start.mjs'));
  if (node !== 'node' || flags.length !== rest.length - 1)
    throw new Error(
      `package.json's start script is not 'node [flags] scripts/start.mjs': ${pkg.scripts.start}`,
    );
  return flags;
}

/**
 * `env` is laid over the harness's defaults (no key cache, warn logs, no lake compaction); a value of
 * `undefined` removes a default, so the gateway falls back to its own (as `npm start` runs it).
 */
export async function startGatewayProcess(
  upstreamUrl: string,
  env: Record<string, string | undefined> = {},
  options: { dataDir?: string; nodeArgs?: string[] } = {},
): Promise<GatewayProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'tollgate-proc-')));
  const child = spawn(process.execPath, [...START_FLAGS, ...(options.nodeArgs ?? []), START], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TOLLGATE_DATA_DIR: dataDir,
      TOLLGATE_PORT: '0',
      TOLLGATE_MASTER_KEY: MASTER_KEY,
      TOLLGATE_KEY_CACHE_MS: '0',
      TOLLGATE_LOG_LEVEL: 'warn',
      TOLLGATE_LAKE_COMPACT: 'false',
      TOLLGATE_ANTHROPIC_BASE_URL: upstreamUrl,
      TOLLGATE_OPENAI_BASE_URL: upstreamUrl,
      ANTHROPIC_API_KEY: 'sk-ant-upstream-secret',
      OPENAI_API_KEY: 'sk-openai-upstream-secret',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${output}`)), 60_000);
    const look = () => {
      const found = /running at (http:\/\/\S+)/.exec(output);
      if (found?.[1]) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    };
    child.stdout?.on('data', look);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before it started:\n${output}`));
    });
  });
  const alive = () => child.exitCode === null && child.signalCode === null;

  const admin = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${MASTER_KEY}`, ...init.headers },
    });
    const body = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new Error(`${path} answered ${response.status}: ${JSON.stringify(body)}`);
    return body;
  };
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (!alive()) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  };

  return {
    url,
    dataDir,
    child,
    output: () => output,
    alive,
    admin,
    async createKey(body) {
      const created = await admin('/key/generate', { method: 'POST', body: JSON.stringify(body) });
      return String(created.key);
    },
    async records(count = 0, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const records = (await admin('/spend/logs?limit=10000')) as unknown as UsageRecord[];
        if (records.length >= count || Date.now() > deadline) return records;
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    kill,
    async close() {
      await kill('SIGTERM');
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
