/**
 * The usage lake: where usage records go (Firehose to S3 on AWS, day-partitioned files locally) and
 * the SQL engine that reads them back (Athena, DuckDB).
 */
import type { TelemetryRecord } from '../telemetry/record.ts';
import type { UsageRecord } from '../usage/record.ts';

export interface UsageSink {
  /** Resolves once the records are durably accepted (file written, Firehose acknowledged). */
  write(records: UsageRecord[]): Promise<void>;
}

/** Where the agents' own telemetry goes, beside the usage records: its own stream, table and files. */
export interface TelemetrySink {
  /** Resolves once the records are durably accepted, with the same guarantees as `UsageSink`. */
  write(records: TelemetryRecord[]): Promise<void>;
}

export type SqlValue = string | number | boolean | null;
export type Row = Record<string, SqlValue>;

export interface QueryEngine {
  /**
   * Runs one SQL text written in the subset Athena (Trino) and DuckDB share, over the table `usage`.
   * Positional `?` parameters.
   */
  query(sql: string, params?: SqlValue[]): Promise<Row[]>;
}

/**
 * The daily aggregates beside the raw records (core/analytics/aggregates.ts): on AWS objects under
 * `aggregates/` written by Athena, locally Parquet files under the data dir written by DuckDB.
 */
export interface LakeAggregates {
  /**
   * The days built so far, each with the moment its build started, by the clock of the storage (the
   * file system, S3), which also dates the raw files: the two are compared.
   */
  built(): Promise<Map<string, Date>>;
  /** When the raw records of `day` last changed (its newest file or object), or null when it has none. */
  rawChangedAt(day: string): Promise<Date | null>;
  /**
   * Replaces the aggregates of `day` with the rows of `sql` (one SELECT whose `?` is the day, its
   * columns `aggregateColumns()`), and marks the day built as of the moment it started reading.
   */
  rebuild(day: string, sql: string): Promise<void>;
  /** Removes the aggregates of `day` (retention, erasure before a rebuild). */
  remove?(day: string): Promise<void>;
}

/** Removes one person's usage records from the lake (an erasure request), rewriting what held them. */
export interface LakeEraser {
  /**
   * Answers the days whose usage partitions held the person's records, how many records went, and how
   * many of their agents' telemetry points and events went with them.
   */
  eraseUser(userId: string): Promise<{ days: string[]; records: number; telemetry: number }>;
}
