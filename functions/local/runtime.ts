/**
 * The embedded runtime: everything Tollgate needs on one machine. The composition root builds the proxy
 * and the admin API over the local environment (compose/local.ts: dynalite, lake files, DuckDB); this
 * serves them with the dashboard behind a Node HTTP server, and runs what the scheduled functions do on
 * AWS: recovery, lake compaction, forecasts and the weekly digest.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { buildDashboard } from '../../dashboard/build.ts';
import { compactLake } from '../adapters/local/lake-compaction.ts';
import { pruneLake } from '../adapters/local/lake-retention.ts';
import { gatewaySettings } from '../compose/gateway.ts';
import { composeLocal, type LocalGateway, type LocalOptions } from '../compose/local.ts';
import type { Config } from '../config.ts';
import { createAdminApi } from '../core/admin/api.ts';
import { withOutcomeLines } from '../core/analytics/digest-outcomes.ts';
import { weeklyDigest } from '../core/analytics/rollup.ts';
import { sweepExpired } from '../core/auth/expiry.ts';
import { sendForecastAlerts } from '../core/governance/forecast.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { Logger } from '../core/ports/logging.ts';
import { createProxy, type ProxyPipeline } from '../core/proxy/pipeline.ts';
import { createLocalServer } from './server.ts';

export interface RunningGateway {
  url: string;
  masterKey: string;
  /** True when this start generated the master key (and wrote it under the data dir). */
  masterKeyCreated: boolean;
  proxy: ProxyPipeline;
  /** The stores behind the admin API, for seeding (`npm run demo`) and tests. */
  stores: LocalGateway['stores'];
  close(): Promise<void>;
}

export type GatewayOptions = LocalOptions;

export async function startGateway(config: Config, options: GatewayOptions): Promise<RunningGateway> {
  const { log } = options;
  // Settings a mistake can hide in are checked before anything starts (a ConfigError names the variable).
  const settings = await gatewaySettings(config, options.clock);
  const local = await composeLocal(settings, options);
  const { dataDir, rollups, notifier, metrics } = local;
  const { clock } = local.proxy.deps;

  // Requests a killed run left in flight get their records, and their holds are settled, before serving.
  await local.recover();
  // Another gateway on this data dir may die while this one runs.
  const recovery = setInterval(local.recover, 60_000);
  recovery.unref();

  const proxy = createProxy(local.proxy.deps);
  const admin = createAdminApi(local.admin);

  // dynalite has no TTL: expired sign-ins and sessions are swept here, hourly (DynamoDB's TTL on AWS).
  const { signIn } = local.admin;
  const sweep = signIn
    ? setInterval(() => {
        sweepExpired({ pending: signIn.pending, sessions: signIn.sessionStore }, clock.now()).catch(
          (err: unknown) => log.error('auth.sweep_failed', { error: String(err) }),
        );
      }, 3_600_000)
    : undefined;
  sweep?.unref();

  const compaction = scheduleLakeMaintenance(dataDir, clock, log, {
    compact: config.lakeCompaction,
    retentionDays: config.retentionDays,
  });
  // Hourly, as the rollup function does on AWS: warn of budgets on pace to run out; the weekly digest.
  const forecasts = setInterval(() => {
    rollups
      .latest()
      .then(async (rollup) => {
        if (!rollup) return;
        await sendForecastAlerts(rollup.budgets, notifier, clock.now());
        const digest = config.weeklyDigest ? weeklyDigest(rollup, clock.now()) : null;
        const deps = { query: local.admin.query, catalog: local.admin.catalog, log };
        if (digest)
          await notifier.notify(await withOutcomeLines(digest, deps, clock.now(), config.outcomesMinPeople));
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
    masterKey: local.masterKey,
    masterKeyCreated: local.masterKeyCreated,
    proxy,
    stores: local.stores,
    async close() {
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeIdleConnections();
      });
      await proxy.drain();
      clearInterval(recovery);
      clearInterval(forecasts);
      clearInterval(sweep);
      await compaction.stop();
      // Every request has settled: the batch is written and the slices and slots given back, then the
      // journal and the stores closed.
      await local.close();
    },
  };
}

/**
 * Now and every hour: removes days past the retention (as the bucket's lifecycle does on AWS) and
 * compacts settled days to Parquet (as Firehose does).
 */
function scheduleLakeMaintenance(
  dataDir: string,
  clock: Clock,
  log: Logger,
  options: { compact: boolean; retentionDays: number },
) {
  let running: Promise<void> = Promise.resolve();
  const run = () => {
    running = running
      .then(() => pruneLake({ dataDir, clock, retentionDays: options.retentionDays }))
      .then((pruned) => {
        if (pruned.days.length > 0)
          log.info('lake.pruned', { ...pruned, retention_days: options.retentionDays });
      })
      .catch((err: unknown) => log.error('lake.prune_failed', { error: String(err) }));
    if (!options.compact) return;
    running = running
      .then(async () => {
        for (const table of ['usage', 'telemetry'] as const) {
          const done = await compactLake({ dataDir, clock, table });
          if (done.days.length > 0) log.info('lake.compacted', { table, ...done });
        }
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
