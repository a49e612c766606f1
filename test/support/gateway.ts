import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../functions/adapters/logger.ts';
import { loadConfig } from '../../functions/config.ts';
import type { Notifier } from '../../functions/core/ports/alerts.ts';
import type { Clock } from '../../functions/core/ports/clock.ts';
import type { UsageSink } from '../../functions/core/ports/lake.ts';
import type { Logger } from '../../functions/core/ports/logging.ts';
import type { UsageRecord } from '../../functions/core/usage/record.ts';
import { type RunningGateway, startGateway } from '../../functions/local/runtime.ts';

export const MASTER_KEY = 'sk-master-test';

export interface TestGateway extends RunningGateway {
  dataDir: string;
  /** Creates a virtual key through the admin API; returns the secret and the response body. */
  createKey(body: Record<string, unknown>): Promise<{ key: string; token: string }>;
  /** Creates a team through the admin API; returns its description. */
  createTeam(body: Record<string, unknown>): Promise<{ team_id: string }>;
  keyInfo(
    key: string,
  ): Promise<{ key_id: string; spend_micros: number; spend: number; reserved_micros: number }>;
  /** Waits until the usage record of a request has landed (records are written after the response). */
  record(requestId: string): Promise<UsageRecord>;
  records(): Promise<UsageRecord[]>;
}

/** The embedded gateway on a random port with its own data dir, pointed at a mock upstream. */
export async function startTestGateway(
  upstreamUrl: string,
  env: Record<string, string> = {},
  options: { log?: Logger; clock?: Clock; notifier?: Notifier; usage?: UsageSink } = {},
): Promise<TestGateway> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tollgate-test-'));
  const config = loadConfig({
    TOLLGATE_DATA_DIR: dataDir,
    TOLLGATE_PORT: '0',
    TOLLGATE_MASTER_KEY: MASTER_KEY,
    TOLLGATE_KEY_CACHE_MS: '0',
    TOLLGATE_ANTHROPIC_BASE_URL: upstreamUrl,
    TOLLGATE_OPENAI_BASE_URL: upstreamUrl,
    TOLLGATE_OPENROUTER_BASE_URL: upstreamUrl,
    TOLLGATE_MOONSHOT_BASE_URL: upstreamUrl,
    ANTHROPIC_API_KEY: 'sk-ant-upstream-secret',
    OPENAI_API_KEY: 'sk-openai-upstream-secret',
    OPENROUTER_API_KEY: 'sk-or-upstream-secret',
    MOONSHOT_API_KEY: 'sk-moonshot-upstream-secret',
    ...env,
  });
  const gateway = await startGateway(config, {
    log: options.log ?? silentLogger,
    clock: options.clock,
    notifier: options.notifier,
    usage: options.usage,
  });
  const admin = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${gateway.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${config.masterKey}`, ...init.headers },
    });
    const body = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new Error(`${path} answered ${response.status}: ${JSON.stringify(body)}`);
    return body;
  };
  const records = async () => (await admin('/spend/logs?limit=1000')) as unknown as UsageRecord[];
  return {
    ...gateway,
    dataDir,
    async createKey(body) {
      const created = await admin('/key/generate', { method: 'POST', body: JSON.stringify(body) });
      return { key: String(created.key), token: String(created.token) };
    },
    async createTeam(body) {
      return (await admin('/team/new', { method: 'POST', body: JSON.stringify(body) })) as {
        team_id: string;
      };
    },
    async keyInfo(key) {
      const { info } = (await admin(`/key/info?key=${encodeURIComponent(key)}`)) as {
        info: { key_id: string; spend_micros: number; spend: number; reserved_micros: number };
      };
      return info;
    },
    async record(requestId) {
      await gateway.proxy.drain();
      const found = (await records()).find((r) => r.request_id === requestId);
      if (!found) throw new Error(`No usage record for request ${requestId}`);
      return found;
    },
    records,
    async close() {
      await gateway.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
