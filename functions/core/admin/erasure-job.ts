/**
 * Erasure of a person on AWS, in two halves. The admin API records a job and blocks the person's keys
 * at once (`requestErasure`); the scheduled rollup function works pending jobs before its rollup
 * (`workErasureJobs`), one partition of one day at a time, keeping in the job which are done, so a run
 * that stops resumes where it was. When the lake holds nothing of theirs, their keys, team
 * memberships and document go and the erasure is audited with counts. Locally the route does it all
 * at once (erase.ts): DuckDB rewrites a day's files in well under a second.
 *
 * A part's rewrite: list the partition's objects, `UNLOAD` the rows of exactly those objects that are
 * not the person's into a staging prefix, copy the staged objects into the partition under new names,
 * and only then delete the listed objects, never what Firehose delivered meanwhile.
 */
import { randomUUID } from 'node:crypto';
import { ConflictError } from '../errors.ts';
import type { Actor, AuditLog } from '../ports/audit.ts';
import type { Clock } from '../ports/clock.ts';
import type { TeamStore, UserStore } from '../ports/documents.ts';
import type { ErasureJob, ErasureJobStore, ErasureLake, ErasurePart, ErasureStep } from '../ports/erasure.ts';
import type { KeyStore } from '../ports/keys.ts';
import type { LakeAggregates } from '../ports/lake.ts';
import type { Logger } from '../ports/logging.ts';
import { blockKey } from '../scim/deprovision.ts';
import { replaceDocument } from './documents.ts';
import { removeDocuments } from './erase.ts';

/**
 * How long after the request the lake is first searched, so every record of a request made before the
 * keys were blocked has landed: such a request may run 15 minutes (the proxy's Lambda limit), its record
 * may be spilled and replayed by the next hourly rollup run, or recorded by recovery (every 5 minutes)
 * if its function died, and Firehose holds records up to 5 minutes (its buffer) before S3 has them.
 */
export const ERASURE_SETTLE_MS = 90 * 60_000;
/** Searches after the first that still find rows (records that landed late): then the job fails. */
const MAX_ROUNDS = 3;
/** Runs that fail (Athena, S3) before the job is marked failed rather than tried again. */
const MAX_ATTEMPTS = 5;
/** How long a run holds a job: past the rollup function's 10-minute limit, so two runs never share one. */
const CLAIM_MS = 12 * 60_000;

export interface ErasureRequestDeps {
  jobs: ErasureJobStore;
  keys: KeyStore;
  users: UserStore;
  clock: Clock;
  /** @default ERASURE_SETTLE_MS */
  settleMs?: number;
}

/**
 * Records the job and blocks the person at once: every key of theirs, and their user record (no
 * sign-in, no self-service key), so nothing of theirs lands in the lake while the job runs. A person
 * with a job pending gets that job back (any key made for them since is blocked too).
 */
export async function requestErasure(
  deps: ErasureRequestDeps,
  userId: string,
  by: Actor,
): Promise<ErasureJob> {
  const now = deps.clock.now();
  const theirs = (await deps.keys.list()).filter((k) => k.user_id === userId && !k.blocked);
  for (const key of theirs) await blockKey(deps.keys, key);
  const user = await deps.users.get(userId);
  if (user && !user.blocked && !user.invalid)
    await replaceDocument(deps.users, { ...user, blocked: true }, 'User');
  // Asked twice (a retried request): the job already pending is the answer.
  const already = (await deps.jobs.pending()).find((j) => j.user_id === userId);
  if (already) return already;
  const job: ErasureJob = {
    job_id: `erase-${now.toISOString().slice(0, 10).replaceAll('-', '')}-${randomUUID().slice(0, 8)}`,
    user_id: userId,
    status: 'pending',
    requested_at: now.toISOString(),
    requested_by: by,
    not_before: new Date(now.getTime() + (deps.settleMs ?? ERASURE_SETTLE_MS)).toISOString(),
    keys_blocked: theirs.length,
    pending: null,
    done: [],
    step: null,
    rounds: 0,
    attempts: 0,
    version: 0,
  };
  await deps.jobs.create(job);
  return job;
}

export interface ErasureWorkerDeps {
  jobs: ErasureJobStore;
  lake: ErasureLake;
  aggregates?: LakeAggregates;
  keys: KeyStore;
  teams: TeamStore;
  users: UserStore;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
}

/**
 * Works the pending jobs whose settling time is over, oldest first, while `timeLeft()` says so (a part
 * started is finished). A failing job is logged and tried again on the next run, up to a few times.
 */
export async function workErasureJobs(
  deps: ErasureWorkerDeps,
  timeLeft: () => boolean,
): Promise<Array<Pick<ErasureJob, 'job_id' | 'status'>>> {
  const worked: Array<Pick<ErasureJob, 'job_id' | 'status'>> = [];
  const now = deps.clock.now().toISOString();
  for (const pending of await deps.jobs.pending()) {
    if (!timeLeft()) break;
    if (pending.not_before > now || (pending.claimed_until ?? '') > now) continue;
    let job = pending;
    try {
      job = await workJob(deps, job, timeLeft);
    } catch (err) {
      if (err instanceof ConflictError) continue; // Another run is working it.
      job = await failedRun(deps, job, err);
    }
    worked.push({ job_id: job.job_id, status: job.status });
  }
  return worked;
}

async function workJob(deps: ErasureWorkerDeps, start: ErasureJob, timeLeft: () => boolean) {
  let job = start;
  const save = async (changes: Partial<ErasureJob>) => {
    job = await deps.jobs.save({ ...job, ...changes });
  };
  // Claimed first (a conditional write): a run that overlaps this one (a manual invoke) leaves it.
  await save({ claimed_until: new Date(deps.clock.now().getTime() + CLAIM_MS).toISOString() });
  while (timeLeft()) {
    if (job.step) {
      await rewrite(deps, job, job.step, (step) => save({ step }));
      const { listed: _l, copied: _c, ...part } = job.step;
      await save({ step: null, done: [...job.done, part] });
      continue;
    }
    const next = job.pending?.[0];
    if (next) {
      await save({ pending: job.pending?.slice(1) ?? [], step: { ...next, listed: [] } });
      continue;
    }
    // Nothing pending: search (again). Rows found after a round landed late, and make another round.
    const found = await deps.lake.findParts(job.user_id);
    if (found.length > 0) {
      if (job.rounds >= MAX_ROUNDS)
        throw new Error(`still finds the person's rows after ${job.rounds} rounds`);
      await save({ pending: found, rounds: job.rounds + 1 });
      continue;
    }
    await finish(deps, job, save);
    return job;
  }
  await save({ claimed_until: undefined });
  return job;
}

/**
 * One part, resumable at each stage: listed → staged (UNLOAD) → copied → listed objects deleted and
 * the staging emptied. The copies are named for the job and its round, so a resumed run removes a
 * copy it made before it stopped rather than keeping it twice.
 */
async function rewrite(
  deps: ErasureWorkerDeps,
  job: ErasureJob,
  step: ErasureStep,
  saveStep: (step: ErasureStep) => Promise<void>,
) {
  const tag = `erased-${job.job_id}-${job.rounds}-`;
  if (!step.copied) {
    let listed = step.listed;
    if (listed.length === 0) {
      listed = (await deps.lake.list(step)).filter((key) => !basename(key).startsWith(tag));
      await saveStep({ ...step, listed });
    } else {
      const partial = (await deps.lake.list(step)).filter((key) => basename(key).startsWith(tag));
      await deps.lake.remove(partial);
    }
    // A day whose objects went meanwhile (retention) has nothing left to rewrite.
    if (listed.length > 0) {
      await deps.lake.stage(job.job_id, step, job.user_id, listed);
      const copied = await deps.lake.publish(job.job_id, step, tag);
      step = { ...step, listed, copied };
      await saveStep(step);
    }
  }
  await deps.lake.remove(step.listed);
  await deps.lake.clearStaging(job.job_id, step);
  // The day's aggregates held the person too: built again, without them, by the next refresh.
  if (step.table === 'usage') await deps.aggregates?.remove?.(step.day);
}

async function finish(
  deps: ErasureWorkerDeps,
  job: ErasureJob,
  save: (changes: Partial<ErasureJob>) => Promise<void>,
): Promise<void> {
  const documents = await removeDocuments(deps, job.user_id);
  const sum = (table: ErasurePart['table']) =>
    job.done.filter((p) => p.table === table).reduce((n, p) => n + p.records, 0);
  const result = {
    days: [...new Set(job.done.map((p) => p.day))].sort(),
    records: sum('usage'),
    telemetry: sum('telemetry'),
    ...documents,
  };
  // Audited before the job is marked done: a run that fails in between audits twice, never not at all.
  await deps.audit.append({
    ts: deps.clock.now().toISOString(),
    actor: job.requested_by,
    action: 'user.erase',
    target: `user:${job.user_id}`,
    details: { job_id: job.job_id, ...result },
  });
  await save({
    status: 'done',
    result,
    finished_at: deps.clock.now().toISOString(),
    error: undefined,
    claimed_until: undefined,
  });
  deps.log.info('erasure.done', { job_id: job.job_id, ...result, days: result.days.length });
}

async function failedRun(deps: ErasureWorkerDeps, job: ErasureJob, err: unknown): Promise<ErasureJob> {
  const error = err instanceof Error ? err.message : String(err);
  deps.log.error('erasure.failed_run', { job_id: job.job_id, error });
  // The job as saved last (the run may have saved progress), with one more failed attempt.
  const current = (await deps.jobs.get(job.job_id)) ?? job;
  const attempts = current.attempts + 1;
  const status = attempts >= MAX_ATTEMPTS ? 'failed' : 'pending';
  return deps.jobs.save({ ...current, attempts, error, status, claimed_until: undefined });
}

function basename(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/** What `POST /user/erase` (202) and `GET /user/erase/<job_id>` answer about a job on AWS. */
export function describeErasureJob(job: ErasureJob) {
  return {
    job_id: job.job_id,
    user_id: job.user_id,
    status: job.status,
    requested_at: job.requested_at,
    not_before: job.not_before,
    keys_blocked: job.keys_blocked,
    parts_done: job.done.length,
    parts_pending: job.pending === null ? null : job.pending.length + (job.step ? 1 : 0),
    ...(job.result && { result: job.result, finished_at: job.finished_at }),
    ...(job.error && { last_error: job.error, attempts: job.attempts }),
  };
}
