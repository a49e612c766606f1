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
