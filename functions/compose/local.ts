/**
 * The local environment, handed to the composition root: dynalite (or DynamoDB Local) behind the same
 * table stores as on AWS, a file journal, usage records as lake files, DuckDB for the Athena SQL,
 * alerts to the log and Slack, Prometheus counters, the master key under the data dir. The local
 * shell (local/runtime.ts) serves what this builds.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createBedrockFetch } from '../adapters/aws/bedrock-fetch.ts';
import { createDynamoAuditLog } from '../adapters/aws/dynamo-audit-log.ts';
import { ensureTable } from '../adapters/aws/dynamo-table.ts';
import { createDuckDbQueryEngine } from '../adapters/local/duckdb-query.ts';
import { startDynalite } from '../adapters/local/dynalite.ts';
import { createFileInflightJournal, localHolderId } from '../adapters/local/inflight-journal.ts';
import { createLocalAggregates } from '../adapters/local/lake-aggregates.ts';
import { createLocalEraser } from '../adapters/local/lake-erase.ts';
import { createLakeSink, createTelemetryLakeSink } from '../adapters/local/lake-sink.ts';
import { createLogNotifier } from '../adapters/local/log-notifier.ts';
import { createPrometheusMetrics } from '../adapters/local/prometheus-metrics.ts';
import { undiciFetch } from '../adapters/local/undici-fetch.ts';
import { createSlackNotifier, fanOut } from '../adapters/slack.ts';
import type { Config } from '../config.ts';
import type { AdminDeps } from '../core/admin/api.ts';
import { refreshAggregates } from '../core/analytics/refresh.ts';
import { buildRollup, onDemandRollups } from '../core/analytics/rollup.ts';
import { topSpenders } from '../core/analytics/spend.ts';
import { generateSecretKey } from '../core/governance/keys.ts';
import { withTopSpenders } from '../core/governance/thresholds.ts';
import { meteredSink } from '../core/metrics.ts';
import type { Notifier } from '../core/ports/alerts.ts';
import type { BudgetLedger } from '../core/ports/budgets.ts';
import { type Clock, systemClock } from '../core/ports/clock.ts';
import type { TeamStore, UserStore } from '../core/ports/documents.ts';
import type { PendingSignInStore } from '../core/ports/identity.ts';
import type { KeyStore } from '../core/ports/keys.ts';
import type { UsageSink } from '../core/ports/lake.ts';
import type { Logger } from '../core/ports/logging.ts';
import type { UpstreamFetch } from '../core/ports/upstream.ts';
import { recoverLost } from '../core/usage/recover.ts';
import { adminDeps, reportDeps, scimDeps } from './admin.ts';
import {
  type ComposedProxy,
  composeProxy,
  type GatewaySettings,
  recoveryDeps,
  tableStores,
} from './gateway.ts';
import { composeSignIn } from './sign-in.ts';

export interface LocalOptions {
  log: Logger;
  clock?: Clock;
  upstream?: UpstreamFetch;
  /** Where budget alerts go; the log (and Slack when configured) by default. */
  notifier?: Notifier;
  /** Where usage records go; the lake files under the data dir by default. */
  usage?: UsageSink;
}

export interface LocalGateway {
  dataDir: string;
  proxy: ComposedProxy;
  admin: AdminDeps;
  rollups: ReturnType<typeof onDemandRollups>;
  /** The claimed-once notifier the proxy alerts through, for the hourly forecasts and digest. */
  notifier: Notifier;
  metrics: ReturnType<typeof createPrometheusMetrics>;
  masterKey: string;
  masterKeyCreated: boolean;
  /** The stores behind the admin API, for seeding (`npm run demo`) and tests. */
  stores: {
    keys: KeyStore;
    teams: TeamStore;
    users: UserStore;
    ledger: BudgetLedger;
    /** Sign-ins under way, with sign-in on. */
    signIns?: PendingSignInStore;
  };
  /** Gives requests a killed run left in flight their records, and settles their holds. */
  recover(): Promise<void>;
  /** After the proxy has drained: the batch written, slices and slots given back, everything closed. */
  close(): Promise<void>;
}

/** The lake on one machine: usage files under the data dir, and DuckDB reading them (opened on first use). */
export function localLake(dataDir: string, clock: Clock) {
  const query = createDuckDbQueryEngine({ dataDir });
  return {
    query,
    sink: createLakeSink({ dataDir, clock }),
    telemetry: createTelemetryLakeSink({ dataDir, clock }),
    aggregates: createLocalAggregates({ dataDir, engine: query }),
  };
}

export async function composeLocal(settings: GatewaySettings, options: LocalOptions): Promise<LocalGateway> {
  const { config } = settings;
  const { log } = options;
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
  const tables = tableStores(client, config.tableName, clock);
  // This process: its in-flight entries, budget slices and parallel slots carry one holder id.
  const holder = localHolderId();
  const journal = createFileInflightJournal({ dataDir, log, holder });
  // The counters `GET /metrics` shows: the names CloudWatch gets on AWS (core/metrics.ts).
  const metrics = createPrometheusMetrics();
  const lake = localLake(dataDir, clock);
  const query = lake.query;
  const usage = loggedSink(meteredSink(options.usage ?? lake.sink, metrics), log);
  const bedrock = localBedrockClient(config);
  const proxy = composeProxy(settings, {
    lifecycle: 'process',
    holder,
    tables,
    journal,
    usage,
    telemetry: lake.telemetry,
    // No stored rollup to read top spenders from: DuckDB answers when an alert is sent.
    alerts: withTopSpenders(
      (budget, range) => topSpenders(query, budget, range),
      options.notifier ?? localNotifier(config, dataDir, log),
      () => clock.now(),
    ),
    upstream: options.upstream ?? undiciFetch,
    upstreams: { bedrock: createBedrockFetch(async () => bedrock) },
    clock,
    log,
    metrics,
  });
  const { ledger, limiter } = proxy;
  const recovery = recoveryDeps(tables, { journal, usage, slices: proxy.slices, slotsHeld: true });
  const recover = async () => {
    await recoverLost({ ...recovery, log, now: clock.now() }).catch((err: unknown) => {
      log.error('recovery.failed', { error: String(err) });
    });
  };

  // No scheduler here: the rollup is built on DuckDB when the dashboard asks, and kept for a minute.
  const reads = { tables, query, ledger, clock, log, aggregates: lake.aggregates };
  const rollups = onDemandRollups(() => buildRollup(reportDeps(settings, reads)), 60_000, clock);
  const { masterKey, created } = await masterKeyFor(config, dataDir);
  const signIn = await composeSignIn(config, { client, tableName: config.tableName }, clock);
  const admin = adminDeps(settings, {
    ...reads,
    signIn,
    scim: scimDeps(config.scim.token, { client, tableName: config.tableName }),
    audit: createDynamoAuditLog(client, config.tableName, clock),
    rollups,
    masterKey,
    proxy,
  });
  // The team view and a person's page read the days whose aggregates are current (none are built here).
  admin.aggregatedThrough = async (range) =>
    (await refreshAggregates(lake.aggregates, range, { now: () => clock.now(), timeLeft: () => false }))
      .aggregatedThrough;
  // Erasure of a person (POST /user/erase, `tollgate erase`): their records out of the lake files.
  admin.erasure = { lake: createLocalEraser({ dataDir }), aggregates: lake.aggregates };

  return {
    dataDir,
    proxy,
    admin,
    rollups,
    notifier: proxy.deps.notifier,
    metrics,
    masterKey,
    masterKeyCreated: created,
    stores: { keys: tables.keys, teams: tables.teams, users: tables.users, ledger, signIns: signIn?.pending },
    recover,
    async close() {
      await ledger.close();
      await limiter.close();
      await journal.close();
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
