/**
 * What the admin API and the rollup function add to the shared cold-start wiring: Athena, the rollup
 * object in S3, the audit log, recovery. Kept apart from aws.ts so the proxy never loads them.
 */
import { AthenaClient } from '@aws-sdk/client-athena';
import { S3Client } from '@aws-sdk/client-s3';
import { createAthenaAggregates } from '../adapters/aws/athena-aggregates.ts';
import { createAthenaEraser } from '../adapters/aws/athena-erase.ts';
import { createAthenaQueryEngine } from '../adapters/aws/athena-query.ts';
import { createDynamoAuditLog } from '../adapters/aws/dynamo-audit-log.ts';
import { createDynamoErasureJobs } from '../adapters/aws/dynamo-erasure-jobs.ts';
import { createDynamoInflightJournal } from '../adapters/aws/dynamo-inflight-journal.ts';
import { createFirehoseSink } from '../adapters/aws/firehose-sink.ts';
import { createS3RollupStore } from '../adapters/aws/s3-rollup-store.ts';
import type { AdminDeps } from '../core/admin/api.ts';
import { meteredSink } from '../core/metrics.ts';
import { systemClock } from '../core/ports/clock.ts';
import { adminDeps as composeAdminDeps, reportDeps, scimDeps } from './admin.ts';
import {
  alertNotifier,
  config,
  dynamo,
  firehose,
  log,
  metrics,
  secretString,
  settings,
  tables as tableStores,
  usageSpill,
} from './aws.ts';
import { recoveryDeps, type TableStores } from './gateway.ts';
import { composeSignIn } from './sign-in.ts';

/** The stores, the per-request ledger and the Athena engine that the admin API and the rollup both read. */
function analyticsParts(tables: TableStores) {
  return {
    tables,
    ledger: tables.perRequest,
    query: createAthenaQueryEngine({
      client: new AthenaClient({ region: config.region }),
      workgroup: config.athena.workgroup,
      database: config.athena.database,
    }),
    clock: systemClock,
    log,
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
  // OIDC sign-in when the stack configured it: the IdP discovered at cold start, its client secret
  // read from Secrets Manager.
  const signIn = await composeSignIn(
    config,
    { client: dynamo, tableName: config.tableName },
    systemClock,
    await secretString(config.signInEnv.TOLLGATE_OIDC_CLIENT_SECRET_ARN),
  );
  // SCIM deprovisioning when the stack gave the IdP a token (its secret read at cold start).
  const scimToken = config.scim.token ?? (await secretString(config.scim.tokenSecretArn));
  const rollups = rollupStore();
  const deps = composeAdminDeps(settings, {
    signIn,
    scim: scimDeps(scimToken, { client: dynamo, tableName: config.tableName }),
    ...analyticsParts(tableStores()),
    audit: createDynamoAuditLog(dynamo, config.tableName, systemClock),
    rollups,
    masterKey,
  });
  // Erasure of a person: recorded here (the keys blocked at once), worked by the rollup function.
  deps.erasure = { jobs: createDynamoErasureJobs(dynamo, config.tableName) };
  // The days the last rollup found aggregated: the team view and a person's page read them there.
  deps.aggregatedThrough = async (range) => {
    const rollup = await rollups.latest().catch(() => undefined);
    return rollup && rollup.range.from <= range.from ? (rollup.aggregated_through ?? null) : null;
  };
  return deps;
}

/** Without a stream nothing can be recorded, so recovery leaves every entry for a run that can. */
const noUsageSink = {
  write: async () => {
    throw new Error('TOLLGATE_FIREHOSE_STREAM is not set');
  },
};

/** The rollup function also replays spilled usage records into Firehose (without spilling again). */
export function rollupDeps() {
  const tables = tableStores();
  const spill = usageSpill();
  const stream = config.firehoseStream;
  const replay =
    spill && stream
      ? { spill, sink: createFirehoseSink({ client: firehose, streamName: stream }) }
      : undefined;
  const recovery = recoveryDeps(tables, {
    journal: createDynamoInflightJournal(dynamo, config.tableName, 'recovery'),
    // A recovered request's record counts into the metrics (outcome `lost`) as the proxy's do.
    usage: meteredSink(
      stream ? createFirehoseSink({ client: firehose, streamName: stream, spill }) : noUsageSink,
      metrics,
    ),
  });
  const parts = analyticsParts(tables);
  const s3 = new S3Client({ region: config.region });
  const lake = config.lakeBucket ? { s3, bucket: config.lakeBucket, engine: parts.query } : undefined;
  const aggregates = lake ? createAthenaAggregates(lake) : undefined;
  const reports = reportDeps(settings, { ...parts, aggregates });
  // Erasure jobs the admin API recorded: the lake rewritten through Athena, then the documents.
  const erasure = lake && {
    jobs: createDynamoErasureJobs(dynamo, config.tableName),
    lake: createAthenaEraser(lake),
    aggregates,
    keys: tables.keys,
    teams: tables.teams,
    users: tables.users,
    audit: createDynamoAuditLog(dynamo, config.tableName, systemClock),
    clock: systemClock,
    log,
  };
  return {
    ...reports,
    log,
    store: rollupStore(),
    replay,
    recovery,
    notifier: alertNotifier(tables),
    erasure,
  };
}
