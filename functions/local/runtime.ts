/**
 * The embedded runtime: everything Tollgate needs on one machine. dynalite for DynamoDB, JSON-lines
 * files in the Firehose/S3 layout for usage, DuckDB for the Athena SQL, and the same web-standard
 * proxy and admin apps the Lambda handlers wrap, behind a Node HTTP server.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { buildDashboard } from '../../dashboard/build.ts';
import { createBedrockFetch } from '../adapters/aws/bedrock-fetch.ts';
import { createDynamoAlertClaims } from '../adapters/aws/dynamo-alert-claims.ts';
import { createDynamoAuditLog } from '../adapters/aws/dynamo-audit-log.ts';
import { createDynamoBudgetLedger } from '../adapters/aws/dynamo-budget-ledger.ts';
import {
  createDynamoRuleStore,
  createDynamoTeamStore,
  createDynamoUserStore,
} from '../adapters/aws/dynamo-document-store.ts';
import { createDynamoKeyStore } from '../adapters/aws/dynamo-key-store.ts';
import { createDynamoRateLimiter } from '../adapters/aws/dynamo-rate-limiter.ts';
import { createDynamoSliceStore } from '../adapters/aws/dynamo-slice-store.ts';
import { ensureTable } from '../adapters/aws/dynamo-table.ts';
import { createDuckDbQueryEngine } from '../adapters/local/duckdb-query.ts';
import { createFileInflightJournal, localHolderId } from '../adapters/local/inflight-journal.ts';
import { compactLake } from '../adapters/local/lake-compaction.ts';
import { createLakeSink } from '../adapters/local/lake-sink.ts';
import { createLogNotifier } from '../adapters/local/log-notifier.ts';
import { createPrometheusMetrics } from '../adapters/local/prometheus-metrics.ts';
import { undiciFetch } from '../adapters/local/undici-fetch.ts';
import { createSlackNotifier, fanOut } from '../adapters/slack.ts';
import type { Config } from '../config.ts';
import { createAdminApi } from '../core/admin/api.ts';
import { buildRollup, onDemandRollups, weeklyDigest } from '../core/analytics/rollup.ts';
import { topSpenders } from '../core/analytics/spend.ts';
import { sendForecastAlerts } from '../core/governance/forecast.ts';
import { cachedDocumentStore, cachedKeyStore } from '../core/governance/key-cache.ts';
import { generateSecretKey } from '../core/governance/keys.ts';
import { createLeasedLedger } from '../core/governance/leased-ledger.ts';
import { createLeasedLimiter } from '../core/governance/leased-limiter.ts';
import { onceEach, withTopSpenders } from '../core/governance/thresholds.ts';
import { meteredSink, meteredSliceStore } from '../core/metrics.ts';
import type { Notifier } from '../core/ports/alerts.ts';
import type { BudgetLedger } from '../core/ports/budgets.ts';
import { type Clock, systemClock } from '../core/ports/clock.ts';
import type { TeamStore, UserStore } from '../core/ports/documents.ts';
import type { KeyStore } from '../core/ports/keys.ts';
import type { UsageSink } from '../core/ports/lake.ts';
import type { Logger } from '../core/ports/logging.ts';
import type { UpstreamFetch } from '../core/ports/upstream.ts';
import { deploymentCatalog } from '../core/pricing/catalog.ts';
import { createProxy, type ProxyPipeline } from '../core/proxy/pipeline.ts';
import { ruleSource } from '../core/routing/rule-source.ts';
import { rulesFromConfig } from '../core/routing/rules.ts';
import { recoverLost } from '../core/usage/recover.ts';
import { startDynalite } from './dynalite.ts';
import { createLocalServer } from './server.ts';

export interface RunningGateway {
  url: string;
  masterKey: string;
  /** True when this start generated the master key (and wrote it under the data dir). */
  masterKeyCreated: boolean;
  proxy: ProxyPipeline;
  /** The stores behind the admin API, for seeding (`npm run demo`) and tests. */
  stores: { keys: KeyStore; teams: TeamStore; users: UserStore; ledger: BudgetLedger };
  close(): Promise<void>;
}

export interface GatewayOptions {
  log: Logger;
  clock?: Clock;
  upstream?: UpstreamFetch;
  /** Where budget alerts go; the log by default. */
  notifier?: Notifier;
  /** Where usage records go; the lake files under the data dir by default. */
  usage?: UsageSink;
}

export async function startGateway(config: Config, options: GatewayOptions): Promise<RunningGateway> {
  const { log } = options;
  // Settings a mistake can hide in are checked before anything starts (a ConfigError names the variable).
  const catalog = deploymentCatalog(config, options.clock);
  const configRules = rulesFromConfig(config.routing.rulesJson, catalog);
  const dataDir = resolve(config.dataDir);
  await mkdir(dataDir, { recursive: true });
  const clock = options.clock ?? systemClock;

  const dynamo = config.dynamodbEndpoint ? undefined : await startDynalite(join(dataDir, 'dynamodb'));
  const client = new DynamoDBClient({
    endpoint: config.dynamodbEndpoint ?? dynamo?.endpoint,
    region: config.region,
    // dynalite accepts any credentials; these keep the SDK from searching the machine for real ones.
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensureTable(client, config.tableName);
  const keys = createDynamoKeyStore(client, config.tableName);
  const proxyKeys = cachedKeyStore(keys, config.keyCacheMs, clock);
  const teams = createDynamoTeamStore(client, config.tableName);
  const users = createDynamoUserStore(client, config.tableName);
  // This process: its in-flight entries and its budget slices carry one holder id.
  const holder = localHolderId();
  const journal = createFileInflightJournal({ dataDir, log, holder });
  const perRequest = createDynamoBudgetLedger(client, config.tableName, clock);
  // The counters `GET /metrics` shows: the names CloudWatch gets on AWS (core/metrics.ts).
  const metrics = createPrometheusMetrics();
  const slices = meteredSliceStore(createDynamoSliceStore(client, config.tableName, clock), metrics);
  const ledger = createLeasedLedger({
    store: slices,
    perRequest,
    holder,
    clock,
    log,
    beforeFlush: () => journal.flushed(),
    onFirstSlice: (counter) => journal.slice(counter),
  });
  const audit = createDynamoAuditLog(client, config.tableName, clock);
  const notifier = onceEach(
    createDynamoAlertClaims(client, config.tableName),
    withTopSpenders(
      (budget, range) => topSpenders(query, budget, range),
      options.notifier ?? localNotifier(config, dataDir, log),
      () => clock.now(),
    ),
  );
  const proxyTeams = cachedDocumentStore(teams, config.keyCacheMs, clock);
  const proxyUsers = cachedDocumentStore(users, config.keyCacheMs, clock);
  const query = createDuckDbQueryEngine({ dataDir });
  const { masterKey, created } = await masterKeyFor(config, dataDir);
  const bedrock = localBedrockClient(config);
  const rules = ruleSource(configRules, createDynamoRuleStore(client, config.tableName), {
    ttlMs: config.keyCacheMs,
    clock,
    log,
  });

  // Requests a killed run left in flight get their records, and their holds are settled, before serving.
  const usage = loggedSink(meteredSink(options.usage ?? createLakeSink({ dataDir, clock }), metrics), log);
  const limiter = createDynamoRateLimiter(client, config.tableName, clock);
  // Rate windows counted in chunks, tokens in batches, parallel slots held by this process.
  const proxyLimiter = createLeasedLimiter({
    inner: limiter,
    store: limiter,
    slots: limiter,
    holder,
    clock,
    log,
    onFirstHolding: (slot) => journal.slots(slot),
  });
  const recover = () =>
    recoverLost({
      journal,
      ledger: perRequest,
      slices,
      limiter,
      slotStore: limiter,
      usage,
      log,
      now: clock.now(),
    }).catch((err: unknown) => {
      log.error('recovery.failed', { error: String(err) });
    });
  await recover();
  // Another gateway on this data dir may die while this one runs.
  const recovery = setInterval(recover, 60_000);
  recovery.unref();

  const proxy = createProxy({
    journal,
    keys: proxyKeys,
    limiter: proxyLimiter,
    teams: proxyTeams,
    users: proxyUsers,
    ledger,
    notifier,
    policy: config.policy,
    usage,
    upstream: options.upstream ?? undiciFetch,
    upstreams: { bedrock: createBedrockFetch(async () => bedrock) },
    clock,
    catalog,
    providers: config.providers,
    log,
    metrics,
    newRequestId: randomUUID,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    journalFirst: true,
    maxBodyBytes: config.maxBodyBytes,
    routing: {
      rules: rules.list,
      maxAttempts: config.routing.maxAttempts,
      fallbackAfterMs: config.routing.fallbackAfterMs,
    },
  });
  // The admin API reads from the stores but writes through the proxy's caches: in this one process a
  // key, team or person it changes stops being served from a cache at once.
  // No scheduler here: the rollup is built on DuckDB when the dashboard asks, and kept for a minute.
  const rollups = onDemandRollups(
    () => buildRollup({ query, keys, teams, users, ledger, clock, policy: config.policy, catalog, log }),
    60_000,
    clock,
  );
  const admin = createAdminApi({
    rollups,
    keys: { ...proxyKeys, get: keys.get },
    teams: { ...proxyTeams, get: teams.get },
    users: { ...proxyUsers, get: users.get },
    ledger,
    audit,
    query,
    clock,
    log,
    masterKey,
    policy: config.policy,
    catalog,
    rules: rules.store,
    configRules,
  });

  const compaction = config.lakeCompaction ? scheduleCompaction(dataDir, clock, log) : undefined;
  // Hourly, as the rollup function does on AWS: warn of budgets on pace to run out; the weekly digest.
  const forecasts = setInterval(() => {
    rollups
      .latest()
      .then(async (rollup) => {
        if (!rollup) return;
        await sendForecastAlerts(rollup.budgets, notifier, clock.now());
        const digest = config.weeklyDigest ? weeklyDigest(rollup, clock.now()) : null;
        if (digest) await notifier.notify(digest);
      })
      .catch((err: unknown) => log.error('alert.forecast_failed', { error: String(err) }));
  }, 3_600_000);
  forecasts.unref();
  const dashboardDir = join(dataDir, 'dashboard');
  await buildDashboard({ outdir: dashboardDir });
  const server = createLocalServer({ proxy, admin, dashboardDir, log, metrics: () => metrics.render() });
  server.listen(config.port, config.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${config.host}:${port}`,
    masterKey,
    masterKeyCreated: created,
    proxy,
    stores: { keys, teams, users, ledger },
    async close() {
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeIdleConnections();
      });
      await proxy.drain();
      clearInterval(recovery);
      // Every request has settled: the batch is written and the slices and slots given back, then the
      // journal closed.
      await ledger.close();
      await proxyLimiter.close();
      await journal.close();
      await compaction?.stop();
      clearInterval(forecasts);
      await query.close();
      client.destroy();
      bedrock.destroy();
      await dynamo?.close();
    },
  };
}

/** Alerts to the log, and to Slack when TOLLGATE_SLACK_WEBHOOK_URL is set (undeliverable ones to a file). */
function localNotifier(config: Config, dataDir: string, log: Logger): Notifier {
  const logged = createLogNotifier(log);
  if (!config.slackWebhookUrl) return logged;
  const slack = createSlackNotifier({
    webhookUrl: config.slackWebhookUrl,
    dashboardUrl: config.dashboardUrl ?? `http://${config.host}:${config.port}/`,
    deadLetterFile: join(dataDir, 'alerts-dead-letter.jsonl'),
    log,
  });
  return fanOut(logged, slack);
}

/** Compacts settled days of the lake to Parquet now and every hour, as Firehose does on AWS. */
function scheduleCompaction(dataDir: string, clock: Clock, log: Logger) {
  let running: Promise<void> = Promise.resolve();
  const run = () => {
    running = running
      .then(() => compactLake({ dataDir, clock }))
      .then((done) => {
        if (done.days.length > 0) log.info('lake.compacted', done);
      })
      .catch((err: unknown) => log.error('lake.compaction_failed', { error: String(err) }));
  };
  run();
  const timer = setInterval(run, 3_600_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/**
 * Bedrock through the SDK: against a mock endpoint (tests, offline runs) with fixed fake credentials, so
 * requests are signed but nothing searches the machine for real ones; otherwise with the local AWS
 * profile. One attempt: the agent's own client decides whether to retry a 429 or a 5xx.
 */
function localBedrockClient(config: Config): BedrockRuntimeClient {
  const endpoint = config.bedrockEndpoint;
  return new BedrockRuntimeClient({
    region: config.region,
    maxAttempts: 1,
    ...(endpoint ? { endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
}

/** The master key from the environment, else the one under the data dir, else a new one (mode 0600). */
async function masterKeyFor(
  config: Config,
  dataDir: string,
): Promise<{ masterKey: string; created: boolean }> {
  if (config.masterKey) return { masterKey: config.masterKey, created: false };
  const file = join(dataDir, 'master-key');
  try {
    return { masterKey: (await readFile(file, 'utf8')).trim(), created: false };
  } catch {
    const masterKey = generateSecretKey().replace('sk-tg-', 'sk-master-');
    await writeFile(file, `${masterKey}\n`, { mode: 0o600, flag: 'wx' });
    return { masterKey, created: true };
  }
}

/**
 * One log line per request as its record is written — status, outcome, model, cost, time, key — what
 * a person watching `npm start` wants to see. Records hold no bodies, so neither does the line.
 */
function loggedSink(sink: UsageSink, log: Logger): UsageSink {
  return {
    async write(records) {
      await sink.write(records);
      for (const r of records)
        log.info('request', {
          status: r.status,
          outcome: r.outcome,
          model: r.model_used ?? r.model_requested,
          cost_micros: r.cost_micros,
          ms: r.latency_ms,
          key: r.key_alias ?? r.key_id,
          request_id: r.request_id,
        });
    },
  };
}
