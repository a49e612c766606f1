/**
 * The scheduled rollup's work, apart from its Lambda shell (lambda/rollup.ts). First records requests
 * whose proxy function died mid-request (also alone, every five minutes, with `{"recover": true}`), then
 * replays usage records the proxy spilled when Firehose would not take them, then runs every report on
 * Athena and stores the document the admin API serves to the dashboard.
 *
 * Given `{"reprice": {"from": "2026-11-01", "to": "2026-11-30", "version": "2026-12-01",
 * "prices": [...catalog entries...]}}` it re-prices that range instead: corrected copies of the
 * records go through Firehose, and every query reads them from then on.
 */
import { replaySpilled, type UsageSpill } from '../adapters/aws/firehose-sink.ts';
import { type ErasureWorkerDeps, workErasureJobs } from '../core/admin/erasure-job.ts';
import { withOutcomeLines } from '../core/analytics/digest-outcomes.ts';
import {
  buildRollup,
  type RollupDeps,
  topSpendersOfBudgets,
  weeklyDigest,
} from '../core/analytics/rollup.ts';
import type { Rollup } from '../core/analytics/rollup-document.ts';
import { sendForecastAlerts } from '../core/governance/forecast.ts';
import type { Notifier } from '../core/ports/alerts.ts';
import type { UsageSink } from '../core/ports/lake.ts';
import type { Logger } from '../core/ports/logging.ts';
import type { Metrics } from '../core/ports/metrics.ts';
import { repricingCatalog } from '../core/pricing/catalog.ts';
import { type RecoveryDeps, recoverLost } from '../core/usage/recover.ts';
import { PRICE_VERSION_FORMAT, repriceRange } from '../core/usage/reprice.ts';
import * as z from '../core/zod-mini.ts';

const REPLAY_BUDGET_MS = 120_000;
const AGGREGATES_BUDGET_MS = 180_000;
/** Erasure jobs start a new day's rewrite within this; one started runs to its end (an Athena UNLOAD). */
const ERASURE_BUDGET_MS = 90_000;

export const RollupEvent = z.looseObject({
  recover: z.optional(z.boolean()),
  reprice: z.optional(
    z.strictObject({
      from: z.string(),
      to: z.string(),
      version: z.string().check(z.regex(PRICE_VERSION_FORMAT, 'a price version is a day, YYYY-MM-DD')),
      prices: z.optional(z.array(z.unknown())),
    }),
  ),
});

export interface RollupJobDeps extends RollupDeps {
  log: Logger;
  store: { save(rollup: Rollup): Promise<void> };
  /** Spilled records and the sink they are replayed into; absent without a stream or a spill bucket. */
  replay: { spill: UsageSpill; sink: UsageSink } | undefined;
  recovery: Omit<RecoveryDeps, 'log' | 'now'>;
  notifier: Notifier;
  metrics: Metrics;
  /** The deployment's catalog overrides (TOLLGATE_MODELS_JSON), which a re-pricing's corrections go over. */
  modelsJson: string | undefined;
  weeklyDigest: boolean;
  /** The digest's outcome lines leave out teams below this many contributors. @default 3 */
  outcomesMinPeople?: number;
  /** Erasure jobs recorded by the admin API, worked before the rollup; absent without a lake bucket. */
  erasure?: ErasureWorkerDeps;
}

export async function runRollupJob(deps: RollupJobDeps, event: unknown) {
  const { reprice, recover } = RollupEvent.parse(event ?? {});
  // Every five minutes, and before each rollup: requests whose proxy function died get their records.
  const recovered = await recoverLost({ ...deps.recovery, log: deps.log, now: deps.clock.now() }).catch(
    (err: unknown) => {
      deps.log.error('recovery.failed', { error: String(err) });
      return undefined;
    },
  );
  if (recover) return recovered;
  if (reprice) return repriceJob(deps, reprice);
  // Before the rollup, so the document it saves no longer holds a person whose erasure finished.
  const erased = await eraseJob(deps);
  const started = deps.clock.now().getTime();
  const replayed = await replayJob(deps, started);
  // Building aggregates (a first run has 89 days to build) stops in time for the reports; the days
  // it did not reach are read raw until a later run builds them.
  const aggregatesTimeLeft = () => deps.clock.now().getTime() - started < AGGREGATES_BUDGET_MS;
  const rollup = await buildRollup({ ...deps, aggregatesTimeLeft });
  // For the Slack forwarder, which names an alert's top spenders from here rather than from Athena.
  rollup.top_spenders = await topSpendersOfBudgets(deps.query, rollup.budgets, {
    now: deps.clock.now(),
    thresholdsPct: deps.policy.alertThresholdsPct,
    log: deps.log,
    aggregated: { from: rollup.range.from, through: rollup.aggregated_through },
  });
  await deps.store.save(rollup);
  // Budgets on pace to run out before they reset: one warning each per period.
  const forecasts = await sendForecastAlerts(rollup.budgets, deps.notifier, deps.clock.now());
  const digest = deps.weeklyDigest ? weeklyDigest(rollup, deps.clock.now()) : null;
  if (digest)
    await deps.notifier.notify(
      await withOutcomeLines(digest, deps, deps.clock.now(), deps.outcomesMinPeople ?? 3),
    );
  const summary = {
    range: rollup.range,
    budgets: rollup.budgets.length,
    replayed,
    erased,
    forecasts,
    ms: deps.clock.now().getTime() - started,
  };
  deps.log.info('rollup.saved', summary);
  return summary;
}

async function repriceJob(deps: RollupJobDeps, reprice: NonNullable<z.infer<typeof RollupEvent>['reprice']>) {
  if (!deps.replay)
    throw new Error('Re-pricing writes through Firehose: TOLLGATE_FIREHOSE_STREAM is not set');
  const catalog = repricingCatalog({
    deployedModelsJson: deps.modelsJson,
    corrections: reprice.prices ? JSON.stringify(reprice.prices) : undefined,
    label: 'reprice.prices',
    version: reprice.version,
  });
  // Within the 5-minute invocation: a long range answers `next_day`; invoke again from there.
  const started = deps.clock.now().getTime();
  const timeLeft = () => deps.clock.now().getTime() - started < 4 * 60_000;
  const result = await repriceRange(
    { query: deps.query, sink: deps.replay.sink, catalog },
    reprice,
    timeLeft,
  );
  deps.log.info('usage.repriced', { ...result, version: reprice.version });
  return result;
}

/** Erasure jobs get a minute and a half to start rewriting days; the rest wait for the next run. */
async function eraseJob(deps: RollupJobDeps) {
  if (!deps.erasure) return undefined;
  const started = deps.clock.now().getTime();
  const timeLeft = () => deps.clock.now().getTime() - started < ERASURE_BUDGET_MS;
  return workErasureJobs(deps.erasure, timeLeft).catch((err: unknown) => {
    deps.log.error('erasure.run_failed', { error: String(err) });
    return undefined;
  });
}

/** Replay gets two minutes at most and never stops the rollup: a backlog drains over several runs. */
async function replayJob(deps: RollupJobDeps, started: number) {
  const timeLeft = () => deps.clock.now().getTime() - started < REPLAY_BUDGET_MS;
  const replayed = deps.replay
    ? await replaySpilled(deps.replay.spill, deps.replay.sink, timeLeft).catch((err: unknown) => {
        deps.log.error('usage.spill_replay_failed', { error: String(err) });
        return undefined;
      })
    : undefined;
  if (replayed?.failed) deps.log.error('usage.spill_replay_incomplete', { ...replayed });
  else if (replayed?.batches) deps.log.info('usage.spill_replayed', { ...replayed });
  // What is still waiting after the replay: alarmed when it does not drain (records not in the lake).
  if (deps.replay)
    await deps.replay.spill
      .list()
      .then((left) => deps.metrics.add('spill_backlog', left.length))
      .catch((err: unknown) => deps.log.warn('usage.spill_list_failed', { error: String(err) }));
  return replayed;
}
