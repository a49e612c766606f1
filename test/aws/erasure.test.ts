/**
 * Erasure of a person on the emulator: the admin API's half (the job recorded, the keys blocked) as the
 * admin function's role, and the rollup function's half (the lake rewritten, the documents removed, the
 * audit entry) as the rollup's role, with the S3, DynamoDB and Athena adapters the bundles use and IAM
 * enforced. No refusal is allowed in either half.
 *
 * moto runs no SQL. Its Athena answers the "which days" search with the rows this test seeds, and its
 * UNLOAD writes nothing; so the test stands in for UNLOAD: when the rollup starts an `UNLOAD (...) TO
 * 's3://.../erasure/...'` on moto's Athena, the test runs the very SELECT on DuckDB over the objects it
 * names and puts the Parquet it expects UNLOAD to produce at the staging prefix, through the S3 API,
 * before the job's next step (the copy) runs. What Athena's real UNLOAD writes (its file names, its
 * Parquet) and its permissions on the staging prefix only a real account can show.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAthenaAggregates } from '../../functions/adapters/aws/athena-aggregates.ts';
import { createAthenaEraser } from '../../functions/adapters/aws/athena-erase.ts';
import { createAthenaQueryEngine } from '../../functions/adapters/aws/athena-query.ts';
import { createDynamoAuditLog } from '../../functions/adapters/aws/dynamo-audit-log.ts';
import {
  createDynamoTeamStore,
  createDynamoUserStore,
} from '../../functions/adapters/aws/dynamo-document-store.ts';
import { createDynamoErasureJobs } from '../../functions/adapters/aws/dynamo-erasure-jobs.ts';
import { createDynamoKeyStore } from '../../functions/adapters/aws/dynamo-key-store.ts';
import { openDuckDb, sqlString } from '../../functions/adapters/local/duckdb-query.ts';
import { silentLogger } from '../../functions/adapters/logger.ts';
import { requestErasure, workErasureJobs } from '../../functions/core/admin/erasure-job.ts';
import { GenerateKeySchema, generateKey } from '../../functions/core/admin/keys.ts';
import { NewTeamSchema, newTeam } from '../../functions/core/admin/teams.ts';
import { NewUserSchema, newUser } from '../../functions/core/admin/users.ts';
import type { QueryEngine } from '../../functions/core/ports/lake.ts';
import { telemetryRecord } from '../support/telemetry-fixture.ts';
import { usageRecord } from '../support/usage-fixture.ts';
import {
  type AwsEndpoint,
  type Credentials,
  REGION,
  recordedCalls,
  recordedRefusals,
  seedAthenaResults,
} from './support/moto.ts';
import { clients, type Deployment, deploy } from './support/resources.ts';
import { logicalId, physicalId } from './support/stack.ts';
import { readTemplate, resourcesOfType } from './support/template.ts';

const moto: AwsEndpoint = { endpoint: inject('awsEndpoint'), credentials: inject('awsOperator') };
const aws = clients(moto);
const work = mkdtempSync(join(tmpdir(), 'tollgate-erasure-moto-'));
const clock = { now: () => new Date() };
let d: Deployment;
let bucket: string;
let table: string;
let duck: DuckDBConnection;
let closeDuck: () => void;

/** The stores and adapters a function's bundle composes (compose/aws-analytics.ts), signed as its role. */
function composed(credentials: Credentials) {
  const common = { region: REGION, endpoint: moto.endpoint, credentials };
  const dynamo = new DynamoDBClient(common);
  const s3 = new S3Client({ ...common, forcePathStyle: true });
  const template = d.template;
  const workgroup =
    d.physical.get(resourcesOfType(template, 'AWS::Athena::WorkGroup')[0]?.[0] ?? '')?.ref ?? '';
  const database = d.physical.get(resourcesOfType(template, 'AWS::Glue::Database')[0]?.[0] ?? '')?.ref ?? '';
  const athena = clients(moto, credentials).athena;
  const engine = unloadStandIn(
    createAthenaQueryEngine({ client: athena, workgroup, database, sleep: async () => {} }),
  );
  return {
    s3,
    jobs: createDynamoErasureJobs(dynamo, table),
    keys: createDynamoKeyStore(dynamo, table),
    teams: createDynamoTeamStore(dynamo, table),
    users: createDynamoUserStore(dynamo, table),
    audit: createDynamoAuditLog(dynamo, table, clock),
    lake: createAthenaEraser({ s3, bucket, engine }),
    aggregates: createAthenaAggregates({ s3, bucket, engine }),
  };
}

/** What happens while an UNLOAD runs, for a test to add (Firehose delivering an object). */
const duringUnload: Array<() => Promise<void>> = [];
const unloads: string[] = [];

/**
 * moto's Athena, and the test's stand-in for what UNLOAD writes: the query goes to moto (which records
 * it and runs nothing); then its SELECT runs on DuckDB over the objects its `"$path"` list names, read
 * from moto's S3, and the result goes to the UNLOAD's target as zstd Parquet, as Athena would put it.
 */
function unloadStandIn(athena: QueryEngine): QueryEngine {
  return {
    async query(sql, params) {
      const rows = await athena.query(sql, params);
      const unload = /^UNLOAD \(([\s\S]*)\)\nTO 's3:\/\/([^/]+)\/([^']+)'\nWITH/.exec(sql);
      if (!unload) return rows;
      unloads.push(sql);
      const [, select = '', to = '', prefix = ''] = unload;
      const from = /FROM (usage|telemetry)\n/.exec(select)?.[1] ?? '';
      const paths = [...(/"\$path" IN \((.*)\)$/.exec(select)?.[1] ?? '').matchAll(/'((?:[^']|'')*)'/g)].map(
        (m) => m[1]!.replaceAll("''", "'"),
      );
      const locals: string[] = [];
      for (const [i, uri] of paths.entries()) {
        const key = uri.slice(`s3://${to}/`.length);
        const local = join(work, `listed-${unloads.length}-${i}.parquet`);
        writeFileSync(local, await objectBytes(key));
        locals.push(local);
      }
      await duck.run(
        `CREATE OR REPLACE TABLE paths AS SELECT * FROM (VALUES ${locals
          .map((l, i) => `(${sqlString(l)}, ${sqlString(paths[i]!)})`)
          .join(', ')}) AS t(local, uri)`,
      );
      await duck.run(`CREATE OR REPLACE VIEW ${from} AS SELECT p.* EXCLUDE (filename), m.uri AS "$path"
        FROM read_parquet([${locals.map(sqlString).join(', ')}], filename = true) p JOIN paths m ON p.filename = m.local`);
      const out = join(work, `unloaded-${unloads.length}.parquet`);
      await duck.run(`COPY (${select}) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`);
      await aws.s3.send(
        new PutObjectCommand({
          Bucket: to,
          Key: `${prefix}20261206_101500_00042_abcde_${unloads.length}`,
          Body: readFileSync(out),
        }),
      );
      for (const happen of duringUnload.splice(0)) await happen();
      return rows;
    },
  };
}

async function objectBytes(key: string): Promise<Uint8Array> {
  const out = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body!.transformToByteArray();
}

async function keysUnder(prefix: string): Promise<string[]> {
  const out = await aws.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

/** Puts rows into the lake as one Parquet object (as Firehose would deliver them). */
async function deliver(key: string, rows: object[]) {
  const json = join(work, `${key.replaceAll('/', '_')}.jsonl`);
  writeFileSync(json, rows.map((r) => JSON.stringify(r)).join('\n'));
  const parquet = `${json}.parquet`;
  await duck.run(
    `COPY (SELECT * FROM read_json_auto(${sqlString(json)})) TO ${sqlString(parquet)} (FORMAT parquet)`,
  );
  await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: readFileSync(parquet) }));
}

/** The request ids (or user ids) held by the objects under a prefix. */
async function idsUnder(prefix: string, column: 'request_id' | 'user_id'): Promise<string[]> {
  const ids: string[] = [];
  for (const key of await keysUnder(prefix)) {
    const local = join(work, `read-${key.replaceAll('/', '_')}`);
    writeFileSync(local, await objectBytes(key));
    const rows = (
      await duck.runAndReadAll(`SELECT ${column} AS id FROM read_parquet(${sqlString(local)})`)
    ).getRowObjectsJS();
    ids.push(...rows.map((r) => String(r.id)));
  }
  return ids.sort();
}

beforeAll(async () => {
  const template = readTemplate();
  d = await deploy(moto, template, 'erasure');
  bucket = physicalId(d, 'lake');
  table = physicalId(d, 'table');
  const instance = await openDuckDb();
  duck = await instance.connect();
  closeDuck = () => {
    duck.closeSync();
    instance.closeSync();
  };
});
afterAll(() => closeDuck?.());

describe('erasing a person on the emulator', () => {
  it('records the job, rewrites exactly the listed objects of each day, removes the documents and audits, as the two roles', async () => {
    // Prepare: zoe (with a quote nowhere near, and one in a colleague's id) and o'hara in team ops,
    // each with a key; records over two days and telemetry; an aggregate of the first day.
    const operator = composedAsOperator();
    const now = new Date();
    const zoeKey = (await generateKey(operator.keys, GenerateKeySchema.parse({ user_id: 'zoe' }), now)).key;
    await generateKey(operator.keys, GenerateKeySchema.parse({ user_id: "o'hara" }), now);
    for (const user_id of ['zoe', "o'hara"])
      await operator.users.create(newUser(NewUserSchema.parse({ user_id }), now));
    await operator.teams.create({
      ...newTeam(NewTeamSchema.parse({ team_id: 'ops' }), now),
      members: [
        { user_id: 'zoe', role: 'user' },
        { user_id: "o'hara", role: 'user' },
      ],
    });
    const at = (day: string, h: number) => `${day}T${String(h).padStart(2, '0')}:00:00.000Z`;
    await deliver('usage/dt=2026-10-01/tollgate-usage-1-2026-10-01-10-00-00-aaa.parquet', [
      usageRecord({ request_id: 'z1', user_id: 'zoe', ts: at('2026-10-01', 10) }),
      usageRecord({ request_id: 'o1', user_id: "o'hara", ts: at('2026-10-01', 10) }),
    ]);
    await deliver('usage/dt=2026-10-01/tollgate-usage-1-2026-10-01-11-00-00-bbb.parquet', [
      usageRecord({ request_id: 'o2', user_id: "o'hara", ts: at('2026-10-01', 11) }),
    ]);
    await deliver('usage/dt=2026-10-02/tollgate-usage-1-2026-10-02-10-00-00-ccc.parquet', [
      usageRecord({ request_id: 'z2', user_id: 'zoe', ts: at('2026-10-02', 10) }),
      usageRecord({ request_id: 'o3', user_id: "o'hara", ts: at('2026-10-02', 10) }),
    ]);
    await deliver('telemetry/dt=2026-10-01/tollgate-telemetry-1-2026-10-01-10-00-00-ddd.parquet', [
      telemetryRecord({ user_id: 'zoe', ts: '2026-10-01T10:00:01.000Z' }),
      telemetryRecord({ user_id: "o'hara", ts: '2026-10-01T10:00:02.000Z' }),
    ]);
    await aws.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'aggregates/usage_daily/dt=2026-10-01/kind=spend/x',
        Body: 'x',
      }),
    );
    // While the first day's UNLOAD runs, Firehose delivers another object to that day.
    const late = 'usage/dt=2026-10-01/tollgate-usage-1-2026-10-01-23-59-00-late.parquet';
    duringUnload.push(() =>
      deliver(late, [usageRecord({ request_id: 'o9', user_id: "o'hara", ts: at('2026-10-01', 23) })]),
    );
    const listedBefore = [
      ...(await keysUnder('usage/dt=2026-10-01/')),
      ...(await keysUnder('usage/dt=2026-10-02/')),
    ];
    const admin = composed(d.roleOf(logicalId(d.template, 'admin')).credentials);
    const rollup = composed(d.roleOf(logicalId(d.template, 'rollup')).credentials);
    const refusalsBefore = (await recordedRefusals(moto.endpoint)).length;

    // Act 1: the admin API's half.
    const job = await requestErasure({ ...admin, clock, settleMs: 0 }, 'zoe', { type: 'master' });

    // Assess 1
    expect(await rollup.jobs.get(job.job_id)).toMatchObject({ status: 'pending', keys_blocked: 1 });
    expect((await operator.keys.getById(zoeKey.key_id))?.blocked).toBe(true);

    // Act 2: the rollup's half; moto answers the search with the days (and nothing for the next one).
    await seedAthenaResults(moto, [
      {
        columns: [
          { name: 'lake_table', type: 'varchar' },
          { name: 'dt', type: 'varchar' },
          { name: 'records', type: 'bigint' },
        ],
        rows: [
          ['lake_table', 'dt', 'records'],
          ['usage', '2026-10-01', '1'],
          ['usage', '2026-10-02', '1'],
          ['telemetry', '2026-10-01', '1'],
        ],
      },
      ...[1, 2, 3].map(() => ({ columns: [], rows: [] })),
    ]);
    const worked = await workErasureJobs({ ...rollup, clock, log: silentLogger }, () => true);

    // Assess 2: the lake.
    expect((await operator.jobs.get(job.job_id))?.error).toBeUndefined();
    expect(worked).toEqual([{ job_id: job.job_id, status: 'done' }]);
    expect(unloads).toHaveLength(3);
    expect(unloads[0]).toContain("user_id IS DISTINCT FROM 'zoe'");
    const day1 = await keysUnder('usage/dt=2026-10-01/');
    expect(day1).toEqual([`usage/dt=2026-10-01/erased-${job.job_id}-1-0.parquet`, late]);
    for (const key of listedBefore) expect(day1).not.toContain(key);
    expect(await idsUnder('usage/', 'request_id')).toEqual(['o1', 'o2', 'o3', 'o9']);
    expect(await idsUnder('telemetry/', 'user_id')).toEqual(["o'hara"]);
    expect(await keysUnder('erasure/')).toEqual([]);
    expect(await keysUnder('aggregates/usage_daily/dt=2026-10-01/')).toEqual([]);
    // The documents, the job and the audit entry.
    expect(await operator.keys.getById(zoeKey.key_id)).toBeUndefined();
    expect(await operator.users.get('zoe')).toBeUndefined();
    expect((await operator.teams.get('ops'))?.members).toEqual([{ user_id: "o'hara", role: 'user' }]);
    const done = await operator.jobs.get(job.job_id);
    expect(done).toMatchObject({
      status: 'done',
      result: {
        days: ['2026-10-01', '2026-10-02'],
        records: 2,
        telemetry: 1,
        keys: 1,
        teams: 1,
        document: true,
      },
    });
    const audit = await operator.audit.list({ since: job.requested_at, limit: 10 });
    expect(audit).toContainEqual(
      expect.objectContaining({
        action: 'user.erase',
        target: 'user:zoe',
        details: expect.objectContaining({ job_id: job.job_id, records: 2, telemetry: 1 }),
      }),
    );
    expect((await recordedRefusals(moto.endpoint)).slice(refusalsBefore)).toEqual([]);

    // Act 3: the next run finds the job done and does nothing.
    const before = await recordedCalls(moto.endpoint);
    expect(await workErasureJobs({ ...rollup, clock, log: silentLogger }, () => true)).toEqual([]);
    const after = await recordedCalls(moto.endpoint);
    const delta = (call: string) => (after.get(call) ?? 0) - (before.get(call) ?? 0);
    expect(delta('athena StartQueryExecution')).toBe(0);
    expect([...after.keys()].filter((call) => call.startsWith('s3 ') && delta(call) > 0)).toEqual([]);
    expect((await operator.jobs.get(job.job_id))?.version).toBe(done?.version);
  });
});

function composedAsOperator() {
  return composed(moto.credentials);
}
