/**
 * What the admin API and the rollup function add to the shared cold-start wiring: Athena, the rollup
 * object in S3, the audit log, recovery. Kept apart from aws.ts so the proxy never loads them.
 */
import { AthenaClient } from '@aws-sdk/client-athena';
import { S3Client } from '@aws-sdk/client-s3';
import { createAthenaQueryEngine } from '../adapters/aws/athena-query.ts';
import { createDynamoAuditLog } from '../adapters/aws/dynamo-audit-log.ts';
import { createDynamoBudgetLedger } from '../adapters/aws/dynamo-budget-ledger.ts';
import {
  createDynamoRuleStore,
  createDynamoTeamStore,
  createDynamoUserStore,
} from '../adapters/aws/dynamo-document-store.ts';
import { createDynamoInflightJournal } from '../adapters/aws/dynamo-inflight-journal.ts';
import { createDynamoKeyStore } from '../adapters/aws/dynamo-key-store.ts';
import { createDynamoRateLimiter } from '../adapters/aws/dynamo-rate-limiter.ts';
import { createDynamoSliceStore } from '../adapters/aws/dynamo-slice-store.ts';
import { createFirehoseSink } from '../adapters/aws/firehose-sink.ts';
import { createS3RollupStore } from '../adapters/aws/s3-rollup-store.ts';
import type { AdminDeps } from '../core/admin/api.ts';
import type { RollupDeps } from '../core/analytics/rollup.ts';
import { meteredSink } from '../core/metrics.ts';
import { systemClock } from '../core/ports/clock.ts';
import {
  alertNotifier,
  catalog,
  config,
  configRules,
  dynamo,
  firehose,
  log,
  metrics,
  secretString,
  usageSpill,
} from './aws.ts';

/** The stores, ledger and Athena engine that the admin API and the rollup function both read. */
function analyticsDeps(): RollupDeps {
  return {
    keys: createDynamoKeyStore(dynamo, config.tableName),
    teams: createDynamoTeamStore(dynamo, config.tableName),
    users: createDynamoUserStore(dynamo, config.tableName),
    ledger: createDynamoBudgetLedger(dynamo, config.tableName, systemClock),
    policy: config.policy,
    query: createAthenaQueryEngine({
      client: new AthenaClient({ region: config.region }),
      workgroup: config.athena.workgroup,
      database: config.athena.database,
    }),
    clock: systemClock,
    catalog,
  };
}

function rollupStore() {
  if (!config.rollup.bucket) throw new Error('TOLLGATE_ROLLUP_BUCKET is not set');
  return createS3RollupStore(
    new S3Client({ region: config.region }),
    config.rollup.bucket,
    config.rollup.key,
  );
}

export async function adminDeps(): Promise<AdminDeps> {
  const masterKey = config.masterKey ?? (await secretString(config.masterKeySecretArn));
  if (!masterKey) throw new Error('No master key: set TOLLGATE_MASTER_KEY_SECRET_ARN');
  return {
    ...analyticsDeps(),
    audit: createDynamoAuditLog(dynamo, config.tableName, systemClock),
    rollups: rollupStore(),
    rules: createDynamoRuleStore(dynamo, config.tableName),
    configRules,
    log,
    masterKey,
  };
}

/** Without a stream nothing can be recorded, so recovery leaves every entry for a run that can. */
const noUsageSink = {
  write: async () => {
    throw new Error('TOLLGATE_FIREHOSE_STREAM is not set');
  },
};

/** The rollup function also replays spilled usage records into Firehose (without spilling again). */
export function rollupDeps() {
  const spill = usageSpill();
  const stream = config.firehoseStream;
  const replay =
    spill && stream
      ? { spill, sink: createFirehoseSink({ client: firehose, streamName: stream }) }
      : undefined;
  const recovery = {
    journal: createDynamoInflightJournal(dynamo, config.tableName, 'recovery'),
    ledger: createDynamoBudgetLedger(dynamo, config.tableName, systemClock),
    slices: createDynamoSliceStore(dynamo, config.tableName, systemClock),
    limiter: createDynamoRateLimiter(dynamo, config.tableName, systemClock),
    // A recovered request's record counts into the metrics (outcome `lost`) as the proxy's do.
    usage: meteredSink(
      stream ? createFirehoseSink({ client: firehose, streamName: stream, spill }) : noUsageSink,
      metrics,
    ),
  };
  return { ...analyticsDeps(), store: rollupStore(), replay, recovery, notifier: alertNotifier(), log };
}
