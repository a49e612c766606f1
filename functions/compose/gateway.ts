/**
 * The composition root: the one place where the proxy's dependencies are assembled. The Lambda entries
 * (compose/aws.ts), the local runtime (compose/local.ts), the tests' support and the benches all come
 * through here; what differs between them is the adapters they hand in — DynamoDB or dynalite behind
 * the same table stores, Firehose or lake files, a DynamoDB or a file journal, SNS or the log and Slack
 * — and how the instance lives (`lifecycle`). The admin API's and the rollup's side is compose/admin.ts.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoAlertClaims } from '../adapters/aws/dynamo-alert-claims.ts';
import { createDynamoBudgetLedger } from '../adapters/aws/dynamo-budget-ledger.ts';
import {
  createDynamoRuleStore,
  createDynamoTeamStore,
  createDynamoUserStore,
} from '../adapters/aws/dynamo-document-store.ts';
import { createDynamoKeyStore } from '../adapters/aws/dynamo-key-store.ts';
import { createDynamoRateLimiter } from '../adapters/aws/dynamo-rate-limiter.ts';
import { createDynamoSliceStore } from '../adapters/aws/dynamo-slice-store.ts';
import type { Config } from '../config.ts';
import { cachedDocumentStore, cachedKeyStore } from '../core/governance/key-cache.ts';
import { createLeasedLedger, type LeasedLedger } from '../core/governance/leased-ledger.ts';
import { createLeasedLimiter } from '../core/governance/leased-limiter.ts';
import { onceEach } from '../core/governance/thresholds.ts';
import { meteredSliceStore } from '../core/metrics.ts';
import type { Notifier } from '../core/ports/alerts.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { InflightJournal } from '../core/ports/journal.ts';
import type { TelemetrySink, UsageSink } from '../core/ports/lake.ts';
import type { Logger } from '../core/ports/logging.ts';
import type { Metrics } from '../core/ports/metrics.ts';
import type { SliceStore } from '../core/ports/slices.ts';
import type { UpstreamFetch } from '../core/ports/upstream.ts';
import { deploymentCatalog, type ModelCatalog } from '../core/pricing/catalog.ts';
import type { ProviderName, ProviderSettings } from '../core/providers/list.ts';
import type { ProxyDeps } from '../core/proxy/deps.ts';
import { ruleSource } from '../core/routing/rule-source.ts';
import { type RoutingRule, rulesFromConfig } from '../core/routing/rules.ts';
import type { RecoveryDeps } from '../core/usage/recover.ts';

/** How often a gateway process writes its batched settlements (a Lambda environment: at once). */
const SETTLE_EVERY_MS = 250;

/** What a deployment decides, read once from its Config before anything starts. */
export interface GatewaySettings {
  config: Config;
  catalog: ModelCatalog;
  /** Rules kept in config (TOLLGATE_ROUTING_RULES_JSON), read-only through the admin API. */
  configRules: RoutingRule[];
}

/**
 * The catalog and config's rules, checked here: a mistake in either stops the start with a ConfigError
 * naming the variable, before anything has started.
 */
export async function gatewaySettings(config: Config, clock?: Clock): Promise<GatewaySettings> {
  const catalog = deploymentCatalog(config, clock);
  return { config, catalog, configRules: await rulesFromConfig(config.routing.rulesJson, catalog) };
}

/** The adapters over the one table: DynamoDB on AWS; dynalite or DynamoDB Local on one machine. */
export function tableStores(client: DynamoDBClient, tableName: string, clock: Clock) {
  return {
    keys: createDynamoKeyStore(client, tableName),
    teams: createDynamoTeamStore(client, tableName),
    users: createDynamoUserStore(client, tableName),
    rules: createDynamoRuleStore(client, tableName),
    /** The per-request ledger: holds near a limit, and recovery's settlements. */
    perRequest: createDynamoBudgetLedger(client, tableName, clock),
    slices: createDynamoSliceStore(client, tableName, clock),
    /** Rate windows, token batches and parallel slots. */
    limiter: createDynamoRateLimiter(client, tableName, clock),
    alertClaims: createDynamoAlertClaims(client, tableName),
  };
}
export type TableStores = ReturnType<typeof tableStores>;

/**
 * How an instance lives. `lambda`: an execution environment is frozen between invocations, runs no
 * timers and gets no shutdown signal, so settlements are written before an invocation ends and each
 * request takes its own parallel slot. `process`: a long-running process (`npm start`) batches
 * settlements, holds parallel slots under a lease of its own, and gives everything back on close.
 */
export type Lifecycle = 'lambda' | 'process';

/** The ports a proxy runs on, whoever built them: the table stores, memory stand-ins in a bench. */
export interface ProxyPorts
  extends Pick<
    ProxyDeps,
    | 'keys'
    | 'teams'
    | 'users'
    | 'journal'
    | 'ledger'
    | 'limiter'
    | 'usage'
    | 'notifier'
    | 'upstream'
    | 'upstreams'
    | 'clock'
    | 'log'
    | 'metrics'
  > {
  /** Every routing rule in force; config's rules alone when not given. */
  rules?: () => Promise<RoutingRule[]>;
  /** Provider URLs and keys; the configuration's when not given (on AWS the keys come from a secret). */
  providers?: Record<ProviderName, ProviderSettings>;
  lifecycle: Lifecycle;
  /** Where the OTLP receiver writes; without one `/v1/logs` and `/v1/metrics` answer 404. */
  telemetry?: TelemetrySink;
}

/** The proxy's dependencies: the ports, and what the settings decide (policy, catalog, bounds, routing). */
export function proxyDeps(settings: GatewaySettings, ports: ProxyPorts): ProxyDeps {
  const { config, catalog, configRules } = settings;
  const { rules, providers, lifecycle, telemetry, ...rest } = ports;
  return {
    ...rest,
    ...(telemetry ? { telemetry: { sink: telemetry, ...config.telemetry } } : {}),
    policy: config.policy,
    catalog,
    providers: providers ?? config.providers,
    newRequestId: randomUUID,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    // A file append shared by the tick locally; a DynamoDB write on Lambda (see ProxyDeps.journalFirst).
    journalFirst: lifecycle === 'process',
    maxBodyBytes: config.maxBodyBytes,
    ...(lifecycle === 'process' ? { bodyBytesInFlight: config.bodyBytesInFlight } : {}),
    routing: {
      rules: rules ?? (async () => configRules),
      maxAttempts: config.routing.maxAttempts,
      fallbackAfterMs: config.routing.fallbackAfterMs,
    },
  };
}

/** What an environment hands the root for the proxy: its table, its journal, its sinks and channels. */
export interface ProxyEnvironment {
  lifecycle: Lifecycle;
  /** This instance: its in-flight entries, budget slices and parallel slots carry one holder id. */
  holder: string;
  tables: TableStores;
  journal: InflightJournal;
  usage: UsageSink;
  telemetry?: TelemetrySink;
  /** Where alerts go; the root claims each once in the table first. */
  alerts: Notifier;
  upstream: UpstreamFetch;
  upstreams?: ProxyDeps['upstreams'];
  providers?: Record<ProviderName, ProviderSettings>;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
}

export interface ComposedProxy {
  deps: ProxyDeps;
  /** The leased ledger (`close()` flushes and gives the slices back). */
  ledger: LeasedLedger;
  limiter: ReturnType<typeof createLeasedLimiter>;
  /** The slice store as the ledger sees it (metered), for recovery in the same process. */
  slices: SliceStore;
  /** Config's rules and the saved ones, cached; its store is the admin API's. */
  rules: ReturnType<typeof ruleSource>;
  /** The key, team and user stores behind caches, as the proxy reads them. */
  cached: Pick<ProxyDeps, 'keys' | 'teams' | 'users'>;
}

/** The leased ledger, leased limiter, caches and rule source over an environment's adapters. */
export function composeProxy(settings: GatewaySettings, env: ProxyEnvironment): ComposedProxy {
  const { config } = settings;
  const { tables, journal, holder, clock, log, metrics } = env;
  const onLambda = env.lifecycle === 'lambda';
  const slices = meteredSliceStore(tables.slices, metrics);
  const ledger = createLeasedLedger({
    store: slices,
    perRequest: tables.perRequest,
    holder,
    clock,
    log,
    // On Lambda settlements are written at once: the invocation ends only once they have landed, since
    // a frozen environment runs no timers. Its slices outlive invocations while it is warm. A process
    // writes them four times a second: the slices hold the spend until then, and the journal has it.
    ...(onLambda
      ? { flushMs: 0 }
      : { flushMs: SETTLE_EVERY_MS, onFirstSlice: (counter) => journal.slice(counter) }),
    beforeFlush: () => journal.flushed(),
  });
  // Rate windows counted in chunks, tokens in batches; parallel slots held by a process, per request
  // on Lambda (a frozen environment could neither linger nor give them back).
  const limiter = createLeasedLimiter({
    inner: tables.limiter,
    store: tables.limiter,
    clock,
    log,
    ...(onLambda
      ? { flushMs: 0 }
      : { slots: tables.limiter, holder, onFirstHolding: (slot) => journal.slots(slot) }),
  });
  const cached = {
    keys: cachedKeyStore(tables.keys, config.keyCacheMs, clock),
    teams: cachedDocumentStore(tables.teams, config.keyCacheMs, clock),
    users: cachedDocumentStore(tables.users, config.keyCacheMs, clock),
  };
  const rules = ruleSource(settings.configRules, tables.rules, { ttlMs: config.keyCacheMs, clock, log });
  const deps = proxyDeps(settings, {
    ...cached,
    journal,
    ledger,
    limiter,
    usage: env.usage,
    telemetry: env.telemetry,
    notifier: onceEach(tables.alertClaims, env.alerts),
    upstream: env.upstream,
    upstreams: env.upstreams,
    clock,
    log,
    metrics,
    rules: rules.list,
    providers: env.providers,
    lifecycle: env.lifecycle,
  });
  return { deps, ledger, limiter, slices, rules, cached };
}

/** What recovery needs to give a lost request its record and settle what it held. */
export function recoveryDeps(
  tables: TableStores,
  parts: { journal: InflightJournal; usage: UsageSink; slices?: SliceStore; slotsHeld?: boolean },
): Omit<RecoveryDeps, 'log' | 'now'> {
  return {
    journal: parts.journal,
    ledger: tables.perRequest,
    slices: parts.slices ?? tables.slices,
    limiter: tables.limiter,
    // Processes hold parallel slots under leases of their own; Lambda environments do not.
    ...(parts.slotsHeld && { slotStore: tables.limiter }),
    usage: parts.usage,
  };
}
