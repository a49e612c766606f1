/** `npm start`: the whole gateway on this machine. */

import { createLogger, logFormat } from '../adapters/logger.ts';
import { loadConfig, quietAwsSdkNodeNotice } from '../config.ts';
import { type ProviderName, usesApiKey } from '../core/providers/list.ts';
import { exitOnConfigError } from './config-exit.ts';
import { startGateway } from './runtime.ts';

quietAwsSdkNodeNotice();
const config = exitOnConfigError(() => loadConfig());
const log = createLogger(config.logLevel, { format: logFormat(config.logFormat) });
const gateway = await exitOnConfigError(() => startGateway(config, { log }));
const { url } = gateway;

const master = gateway.masterKeyCreated
  ? `Master key (generated, shown once; stored with mode 0600 in ${config.dataDir}/master-key):\n    ${gateway.masterKey}`
  : 'Master key: from TOLLGATE_MASTER_KEY or the data dir (not shown).';
const missing = Object.entries(config.providers)
  .filter(([name, p]) => usesApiKey(name as ProviderName) && !p.apiKey)
  .map(([name]) => name);

console.log(`
Tollgate is running at ${url}   (data: ${config.dataDir})
  dashboard        ${url}/
  admin API        ${url}/key/generate, ${url}/key/info, ${url}/spend/logs
  metrics          ${url}/metrics (Prometheus text)

${master}

Create a key:
  curl -s ${url}/key/generate -H "Authorization: Bearer $TOLLGATE_MASTER_KEY" \\
    -d '{"key_alias":"me-claude-code","user_id":"me","max_budget":50,"budget_duration":"1mo"}'

Point Claude Code at it:
  export ANTHROPIC_BASE_URL=${url}
  export ANTHROPIC_AUTH_TOKEN=<your sk-tg- key>

Point Codex CLI at it (~/.codex/config.toml):
  [model_providers.tollgate]
  name = "Tollgate"
  base_url = "${url}/v1"
  env_key = "TOLLGATE_API_KEY"
  wire_api = "responses"
${missing.length ? `\nProviders without an API key (requests to them answer 502): ${missing.join(', ')}\n` : ''}`);

// The last guard: every request is isolated and its failures are answered, so reaching here is a
// bug. Log it and keep serving everyone else rather than end every request in flight.
process.on('uncaughtException', (err) => log.error('process.uncaught_exception', { error: String(err) }));
process.on('unhandledRejection', (err) => log.error('process.unhandled_rejection', { error: String(err) }));

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info('server.stopping', { signal });
  await gateway.close();
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
