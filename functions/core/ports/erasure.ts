/**
 * Erasure of a person on AWS, where rewriting the lake takes Athena runs of seconds to minutes: the
 * admin API records a job, the scheduled rollup function works it day by day (core/admin/erasure-job.ts).
 */
import type { ErasableTable } from '../usage/erasure-sql.ts';
import type { Actor } from './audit.ts';

/** One table's partition of one day holding the person's rows, and how many of theirs it held. */
export interface ErasurePart {
  table: ErasableTable;
  day: string;
  records: number;
}

/**
 * Where a part's rewrite stands, kept in the job so a run that stops (the function's time limit, a
 * failure) resumes it: the objects listed before the rewrite, then the copies that replace them.
 */
export interface ErasureStep extends ErasurePart {
  listed: string[];
  copied?: string[];
}

/** What an erasure removed: the lake's days rewritten, the rows gone, and the person's documents. */
export interface ErasureCounts {
  days: string[];
  records: number;
  /** Telemetry points and events of the person's agents. */
  telemetry: number;
  keys: number;
  teams: number;
  document: boolean;
}

export interface ErasureJob {
  job_id: string;
  user_id: string;
  status: 'pending' | 'done' | 'failed';
  requested_at: string;
  requested_by: Actor;
  /** The lake is not touched before this: records of requests made before the keys were blocked land first. */
  not_before: string;
  keys_blocked: number;
  /** Parts found and not yet rewritten; null until the first search. */
  pending: ErasurePart[] | null;
  done: ErasurePart[];
  step: ErasureStep | null;
  /** Searches made: a search after the last part finds nothing, or its parts are a new round. */
  rounds: number;
  /** A run working the job holds it until then (longer than the function's time limit). */
  claimed_until?: string;
  /** Runs that failed; the job is failed after a few. */
  attempts: number;
  error?: string;
  result?: ErasureCounts;
  finished_at?: string;
  /** Written by the store: each save must follow the version it read (two workers never both write). */
  version: number;
}

export interface ErasureJobStore {
  create(job: ErasureJob): Promise<void>;
  get(job_id: string): Promise<ErasureJob | undefined>;
  /** Saves the job if nobody saved it since it was read (its `version`); throws ConflictError otherwise. */
  save(job: ErasureJob): Promise<ErasureJob>;
  /** Jobs still pending, oldest first. */
  pending(): Promise<ErasureJob[]>;
}

/**
 * The lake's side of a rewrite on AWS (adapters/aws/athena-erase.ts): an Athena search, S3 listings,
 * an `UNLOAD` of the rows that stay into a staging prefix, copies into the partition, deletions.
 */
export interface ErasureLake {
  /** The parts holding the person's rows (one Athena query over both tables). */
  findParts(userId: string): Promise<ErasurePart[]>;
  /** The objects of a part's partition, by key. */
  list(part: ErasurePart): Promise<string[]>;
  /** Writes the rows of `listed` that are not the person's into the job's staging prefix, emptied first. */
  stage(jobId: string, part: ErasurePart, userId: string, listed: string[]): Promise<void>;
  /** Copies the staged objects into the partition as `<tag><n>.parquet`; answers their keys. */
  publish(jobId: string, part: ErasurePart, tag: string): Promise<string[]>;
  /** Deletes exactly these objects. */
  remove(keys: string[]): Promise<void>;
  /** Empties the job's staging prefix for the part. */
  clearStaging(jobId: string, part: ErasurePart): Promise<void>;
}
