import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../functions/adapters/logger.ts';
import {
  describeErasureJob,
  requestErasure,
  workErasureJobs,
} from '../../../../functions/core/admin/erasure-job.ts';
import { GenerateKeySchema, generateKey } from '../../../../functions/core/admin/keys.ts';
import { NewTeamSchema, newTeam } from '../../../../functions/core/admin/teams.ts';
import { NewUserSchema, newUser } from '../../../../functions/core/admin/users.ts';
import { ConflictError, NotFoundError } from '../../../../functions/core/errors.ts';
import type { AuditEntry } from '../../../../functions/core/ports/audit.ts';
import type { DocumentStore, Team, User } from '../../../../functions/core/ports/documents.ts';
import type {
  ErasureJob,
  ErasureJobStore,
  ErasureLake,
  ErasurePart,
} from '../../../../functions/core/ports/erasure.ts';
import { keysOf } from '../../../support/stores.ts';

/**
 * The erasure job's logic (core/admin/erasure-job.ts) on its ports: an in-memory job store that checks
 * versions as DynamoDB's conditional put does, and a lake of named objects holding rows, whose `stage`
 * keeps exactly the rows the UNLOAD's SELECT keeps (the SELECT itself runs on DuckDB in
 * test/unit/analytics/erasure-sql.test.ts, and the S3 and Athena calls on moto in test/aws/erasure.test.ts).
 */
type Row = { user_id: string | null; request_id: string };

function memoryJobs(): ErasureJobStore & { all: Map<string, ErasureJob> } {
  const all = new Map<string, ErasureJob>();
  return {
    all,
    create: async (job) => void all.set(job.job_id, structuredClone(job)),
    get: async (id) => structuredClone(all.get(id)),
    async save(job) {
      if (all.get(job.job_id)?.version !== job.version) throw new ConflictError('changed meanwhile');
      const next = { ...structuredClone(job), version: job.version + 1 };
      all.set(job.job_id, next);
      return structuredClone(next);
    },
    pending: async () =>
      [...all.values()].filter((j) => j.status === 'pending').map((j) => structuredClone(j)),
  };
}

function memoryDocs<T>(idOf: (doc: T) => string, ...docs: T[]): DocumentStore<T> {
  const byId = new Map(docs.map((d) => [idOf(d), d]));
  return {
    idOf,
    get: async (id) => byId.get(id),
    create: async (doc) => void byId.set(idOf(doc), doc),
    async update(doc) {
      if (!byId.has(idOf(doc))) throw new NotFoundError('gone');
      byId.set(idOf(doc), doc);
    },
    delete: async (id) => void byId.delete(id),
    list: async () => [...byId.values()],
  };
}

/** The lake as objects (`usage/dt=<day>/<name>`) holding rows; Athena's search and UNLOAD done in memory. */
function memoryLake(objects: Record<string, Row[]>) {
  const store = new Map(Object.entries(objects));
  const calls = { find: 0, stage: 0 };
  const hooks: { afterStage?: () => void; failRemoveOnce?: boolean } = {};
  const prefix = (p: ErasurePart) => `${p.table}/dt=${p.day}/`;
  const staging = (job: string, p: ErasurePart) => `erasure/${job}/${p.table}/dt=${p.day}/`;
  const keysUnder = (at: string) => [...store.keys()].filter((k) => k.startsWith(at)).sort();
  const lake: ErasureLake = {
    async findParts(userId) {
      calls.find += 1;
      const parts = new Map<string, ErasurePart>();
      for (const [key, rows] of store) {
        const m = /^(usage|telemetry)\/dt=([\d-]+)\//.exec(key);
        const n = rows.filter((r) => r.user_id === userId).length;
        if (!m || n === 0) continue;
        const id = `${m[1]}/${m[2]}`;
        const part = parts.get(id) ?? { table: m[1] as ErasurePart['table'], day: m[2]!, records: 0 };
        parts.set(id, { ...part, records: part.records + n });
      }
      return [...parts.values()];
    },
    list: async (part) => keysUnder(prefix(part)),
    async stage(job, part, userId, listed) {
      calls.stage += 1;
      for (const key of keysUnder(staging(job, part))) store.delete(key);
      const kept = listed.flatMap((key) => store.get(key) ?? []).filter((r) => r.user_id !== userId);
      store.set(`${staging(job, part)}20261206_000000_00001_abcde_1`, kept);
      hooks.afterStage?.();
    },
    async publish(job, part, tag) {
      return keysUnder(staging(job, part)).map((key, i) => {
        const to = `${prefix(part)}${tag}${i}.parquet`;
        store.set(to, [...(store.get(key) ?? [])]);
        return to;
      });
    },
    async remove(keys) {
      if (hooks.failRemoveOnce && keys.length > 0) {
        hooks.failRemoveOnce = false;
        throw new Error('S3 refused to delete 1 objects');
      }
      for (const key of keys) store.delete(key);
    },
    async clearStaging(job, part) {
      for (const key of keysUnder(staging(job, part))) store.delete(key);
    },
  };
  const rows = (userId: string | null) =>
    [...store.entries()]
      .filter(([k]) => !k.startsWith('erasure/'))
      .flatMap(([, r]) => r)
      .filter((r) => r.user_id === userId)
      .map((r) => r.request_id)
      .sort();
  return { lake, store, calls, hooks, rows, keysUnder };
}

async function world(objects: Record<string, Row[]>) {
  let now = new Date('2026-12-06T10:00:00.000Z');
  const clock = { now: () => now };
  const keys = keysOf();
  const zoeKey = (await generateKey(keys, GenerateKeySchema.parse({ user_id: 'zoe' }), now)).key;
  const ianKey = (await generateKey(keys, GenerateKeySchema.parse({ user_id: 'ian' }), now)).key;
  const ops: Team = {
    ...newTeam(NewTeamSchema.parse({ team_id: 'ops' }), now),
    members: [
      { user_id: 'zoe', role: 'user' },
      { user_id: 'ian', role: 'user' },
    ],
  };
  const teams = memoryDocs<Team>((t) => t.team_id, ops);
  const users = memoryDocs<User>(
    (u) => u.user_id,
    newUser(NewUserSchema.parse({ user_id: 'zoe' }), now),
    newUser(NewUserSchema.parse({ user_id: 'ian' }), now),
  );
  const jobs = memoryJobs();
  const audit: AuditEntry[] = [];
  const removedAggregates: string[] = [];
  const lake = memoryLake(objects);
  const deps = {
    jobs,
    lake: lake.lake,
    aggregates: {
      built: async () => new Map(),
      rawChangedAt: async () => null,
      rebuild: async () => {},
      remove: async (day: string) => void removedAggregates.push(day),
    },
    keys,
    teams,
    users,
    audit: { append: async (e: AuditEntry) => void audit.push(e), list: async () => audit },
    clock,
    log: silentLogger,
  };
  return {
    deps,
    lake,
    jobs,
    audit,
    removedAggregates,
    zoeKey,
    ianKey,
    advance: (ms: number) => {
      now = new Date(now.getTime() + ms);
    },
  };
}

const always = () => true;
const master = { type: 'master' } as const;

describe('recording an erasure (the admin API on AWS)', () => {
  it('blocks the person’s keys and user record at once and records a pending job that waits for the lake to settle', async () => {
    // Prepare
    const w = await world({});

    // Act
    const job = await requestErasure(w.deps, 'zoe', master);

    // Assess
    expect((await w.deps.keys.getById(w.zoeKey.key_id))?.blocked).toBe(true);
    expect((await w.deps.keys.getById(w.ianKey.key_id))?.blocked).toBe(false);
    expect((await w.deps.users.get('zoe'))?.blocked).toBe(true);
    expect(job).toMatchObject({
      user_id: 'zoe',
      status: 'pending',
      keys_blocked: 1,
      not_before: '2026-12-06T11:30:00.000Z',
    });
    expect(describeErasureJob(job)).toMatchObject({
      job_id: job.job_id,
      status: 'pending',
      parts_pending: null,
    });
    expect(await w.jobs.get(job.job_id)).toEqual(job);
  });

  it('answers the job already pending when asked again for the same person', async () => {
    const w = await world({});
    const first = await requestErasure(w.deps, 'zoe', master);

    const second = await requestErasure(w.deps, 'zoe', master);
    const other = await requestErasure(w.deps, 'ian', master);

    expect(second.job_id).toBe(first.job_id);
    expect(other.job_id).not.toBe(first.job_id);
    expect([...w.jobs.all.keys()]).toHaveLength(2);
  });
});

describe('working an erasure job (the rollup function on AWS)', () => {
  const lakeOf = () => ({
    'usage/dt=2026-10-01/firehose-1.parquet': [
      { user_id: 'zoe', request_id: 'z1' },
      { user_id: 'ian', request_id: 'i1' },
      { user_id: null, request_id: 'n1' },
    ],
    'usage/dt=2026-10-01/firehose-2.parquet': [{ user_id: 'ian', request_id: 'i2' }],
    'usage/dt=2026-10-02/firehose-3.parquet': [{ user_id: 'zoe', request_id: 'z2' }],
    'usage/dt=2026-10-03/firehose-4.parquet': [{ user_id: 'ian', request_id: 'i3' }],
    'telemetry/dt=2026-10-01/firehose-5.parquet': [
      { user_id: 'zoe', request_id: 't-z1' },
      { user_id: 'ian', request_id: 't-i1' },
    ],
  });

  it('waits until the settling time is over before touching the lake', async () => {
    const w = await world(lakeOf());
    await requestErasure(w.deps, 'zoe', master);
    w.advance(89 * 60_000);

    expect(await workErasureJobs(w.deps, always)).toEqual([]);
    expect(w.lake.calls.find).toBe(0);
  });

  it('rewrites every part that held the person, keeps everyone else’s rows and what arrived meanwhile, then removes their documents and audits counts', async () => {
    // Prepare: Firehose delivers a new object to 2026-10-01 while its UNLOAD runs.
    const w = await world(lakeOf());
    const job = await requestErasure(w.deps, 'zoe', master);
    w.advance(91 * 60_000);
    const late = 'usage/dt=2026-10-01/firehose-late.parquet';
    w.lake.hooks.afterStage = () => {
      w.lake.store.set(late, [{ user_id: 'ian', request_id: 'i9' }]);
      w.lake.hooks.afterStage = undefined;
    };

    // Act
    const worked = await workErasureJobs(w.deps, always);

    // Assess
    expect(worked).toEqual([{ job_id: job.job_id, status: 'done' }]);
    expect(w.lake.rows('zoe')).toEqual([]);
    expect(w.lake.rows('ian')).toEqual(['i1', 'i2', 'i3', 'i9', 't-i1']);
    expect(w.lake.rows(null)).toEqual(['n1']);
    // Only the parts that held the person were rewritten; the object delivered meanwhile is untouched.
    expect(w.lake.keysUnder('usage/dt=2026-10-01/')).toEqual([
      `usage/dt=2026-10-01/erased-${job.job_id}-1-0.parquet`,
      'usage/dt=2026-10-01/firehose-late.parquet',
    ]);
    expect(w.lake.keysUnder('usage/dt=2026-10-03/')).toEqual(['usage/dt=2026-10-03/firehose-4.parquet']);
    expect(w.lake.keysUnder('erasure/')).toEqual([]);
    expect(w.removedAggregates.sort()).toEqual(['2026-10-01', '2026-10-02']);
    expect(await w.deps.keys.getById(w.zoeKey.key_id)).toBeUndefined();
    expect(await w.deps.users.get('zoe')).toBeUndefined();
    expect((await w.deps.teams.get('ops'))?.members).toEqual([{ user_id: 'ian', role: 'user' }]);
    const done = await w.jobs.get(job.job_id);
    expect(done?.result).toEqual({
      days: ['2026-10-01', '2026-10-02'],
      records: 2,
      telemetry: 1,
      keys: 1,
      teams: 1,
      document: true,
    });
    expect(w.audit).toEqual([
      expect.objectContaining({
        actor: master,
        action: 'user.erase',
        target: 'user:zoe',
        details: { job_id: job.job_id, ...done?.result },
      }),
    ]);
    // The search ran twice: the parts, then once more to find nothing left.
    expect(w.lake.calls.find).toBe(2);
  });

  it('does nothing more for a job that is done', async () => {
    const w = await world(lakeOf());
    await requestErasure(w.deps, 'zoe', master);
    w.advance(91 * 60_000);
    await workErasureJobs(w.deps, always);
    const calls = { ...w.lake.calls };

    expect(await workErasureJobs(w.deps, always)).toEqual([]);
    expect(w.lake.calls).toEqual(calls);
    expect(w.audit).toHaveLength(1);
  });

  it('stops between parts when its time is up, and the next run goes on where it stopped', async () => {
    // Prepare: time for the search and one part only.
    const w = await world(lakeOf());
    const job = await requestErasure(w.deps, 'zoe', master);
    w.advance(91 * 60_000);
    let turns = 0;
    const twoTurns = () => turns++ < 4;

    // Act
    expect(await workErasureJobs(w.deps, twoTurns)).toEqual([{ job_id: job.job_id, status: 'pending' }]);
    const midway = await w.jobs.get(job.job_id);
    await workErasureJobs(w.deps, always);

    // Assess
    expect(midway?.done.length).toBeGreaterThan(0);
    expect(midway?.done.length).toBeLessThan(3);
    expect(w.lake.calls.stage).toBe(3);
    expect((await w.jobs.get(job.job_id))?.status).toBe('done');
    expect(w.lake.rows('ian')).toEqual(['i1', 'i2', 'i3', 't-i1']);
  });

  it('resumes a part whose copies were made but whose old objects were not yet deleted, without keeping a row twice', async () => {
    // Prepare: the first deletion of listed objects fails (a run cut short after its copies).
    const w = await world(lakeOf());
    const job = await requestErasure(w.deps, 'zoe', master);
    w.advance(91 * 60_000);
    w.lake.hooks.failRemoveOnce = true;

    // Act
    const first = await workErasureJobs(w.deps, always);
    const stopped = await w.jobs.get(job.job_id);
    const second = await workErasureJobs(w.deps, always);

    // Assess
    expect(first).toEqual([{ job_id: job.job_id, status: 'pending' }]);
    expect(stopped?.step?.copied).toHaveLength(1);
    expect(stopped).toMatchObject({ attempts: 1, error: 'S3 refused to delete 1 objects' });
    expect(second).toEqual([{ job_id: job.job_id, status: 'done' }]);
    expect(w.lake.calls.stage).toBe(3);
    expect(w.lake.rows('ian')).toEqual(['i1', 'i2', 'i3', 't-i1']);
    expect(w.lake.rows('zoe')).toEqual([]);
  });

  it('makes another round for rows of the person that landed after the first search', async () => {
    // Prepare: a spilled record of theirs is replayed into a day already rewritten.
    const w = await world(lakeOf());
    const job = await requestErasure(w.deps, 'zoe', master);
    w.advance(91 * 60_000);
    let replayed = false;
    const search = w.lake.lake.findParts;
    w.lake.lake.findParts = async (userId) => {
      const found = await search(userId);
      if (w.lake.calls.find === 2 && !replayed) {
        replayed = true;
        w.lake.store.set('usage/dt=2026-10-02/firehose-replayed.parquet', [
          { user_id: 'zoe', request_id: 'z3' },
        ]);
        return search(userId);
      }
      return found;
    };

    // Act
    await workErasureJobs(w.deps, always);

    // Assess
    const done = await w.jobs.get(job.job_id);
    expect(done).toMatchObject({ status: 'done', rounds: 2 });
    expect(done?.result?.records).toBe(3);
    expect(w.lake.rows('zoe')).toEqual([]);
  });

  it('leaves a job another run holds, and takes it once that claim has run out', async () => {
    // Prepare: a run (a manual invoke) claimed the job and is still working it.
    const w = await world(lakeOf());
    const job = await requestErasure(w.deps, 'zoe', master);
    w.advance(91 * 60_000);
    const held = await w.jobs.save({
      ...(await w.jobs.get(job.job_id))!,
      claimed_until: new Date(w.deps.clock.now().getTime() + 12 * 60_000).toISOString(),
    });

    // Act
    const meanwhile = await workErasureJobs(w.deps, always);
    w.advance(13 * 60_000);
    const later = await workErasureJobs(w.deps, always);

    // Assess
    expect(held.claimed_until).toBeDefined();
    expect(meanwhile).toEqual([]);
    expect(later).toEqual([{ job_id: job.job_id, status: 'done' }]);
    expect((await w.jobs.get(job.job_id))?.claimed_until).toBeUndefined();
  });

  it('marks a job failed after five failed runs, and says why', async () => {
    const w = await world(lakeOf());
    const job = await requestErasure(w.deps, 'zoe', master);
    w.advance(91 * 60_000);
    w.lake.lake.findParts = async () => {
      throw new Error('Athena query q-1 FAILED: Access denied');
    };

    for (let run = 0; run < 6; run++) await workErasureJobs(w.deps, always);

    expect(describeErasureJob((await w.jobs.get(job.job_id))!)).toMatchObject({
      status: 'failed',
      attempts: 5,
      last_error: 'Athena query q-1 FAILED: Access denied',
    });
    expect(await w.deps.users.get('zoe')).toBeDefined();
    expect(w.audit).toEqual([]);
  });
});
