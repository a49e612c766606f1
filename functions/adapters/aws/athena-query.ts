import {
  type Row as AthenaRow,
  type ColumnInfo,
  GetQueryExecutionCommand,
  type GetQueryExecutionCommandOutput,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  StartQueryExecutionCommand,
  type StartQueryExecutionCommandOutput,
} from '@aws-sdk/client-athena';
import type { QueryEngine, Row, SqlValue } from '../../core/ports/lake.ts';

export type AthenaCommand = StartQueryExecutionCommand | GetQueryExecutionCommand | GetQueryResultsCommand;
type AthenaOutput =
  | StartQueryExecutionCommandOutput
  | GetQueryExecutionCommandOutput
  | GetQueryResultsCommandOutput;

/** The three calls this adapter makes; an AthenaClient fits, and so does a fake in tests. */
export interface AthenaSend {
  send(command: AthenaCommand): Promise<AthenaOutput>;
}

export interface AthenaQueryEngineOptions {
  client: AthenaSend;
  /** The workgroup carries the result location and the engine version (v3, Trino). */
  workgroup: string;
  database: string;
  sleep?: (ms: number) => Promise<void>;
  /** Give up waiting for a query after this much time spent polling. */
  timeoutMs?: number;
}

const FIRST_POLL_MS = 200;
const MAX_POLL_MS = 2_000;
const PAGE_SIZE = 1_000;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The AWS QueryEngine: one Athena query per call, polled to completion, results paged in. */
export function createAthenaQueryEngine({
  client,
  workgroup,
  database,
  sleep = realSleep,
  timeoutMs = 300_000,
}: AthenaQueryEngineOptions): QueryEngine {
  async function call<T extends AthenaOutput>(command: AthenaCommand, what: string): Promise<T> {
    try {
      return (await client.send(command)) as T;
    } catch (cause) {
      throw new Error(`Athena ${what} failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
        cause,
      });
    }
  }

  async function waitForCompletion(id: string): Promise<void> {
    let waited = 0;
    for (let delay = FIRST_POLL_MS; ; delay = Math.min(MAX_POLL_MS, delay * 2)) {
      const out = await call<GetQueryExecutionCommandOutput>(
        new GetQueryExecutionCommand({ QueryExecutionId: id }),
        'GetQueryExecution',
      );
      const status = out.QueryExecution?.Status;
      if (status?.State === 'SUCCEEDED') return;
      if (status?.State === 'FAILED' || status?.State === 'CANCELLED') {
        const reason = status.StateChangeReason ?? status.AthenaError?.ErrorMessage ?? 'no reason given';
        throw new Error(`Athena query ${id} ${status.State}: ${reason}`);
      }
      if (waited >= timeoutMs)
        throw new Error(`Athena query ${id} still ${status?.State} after ${waited} ms`);
      await sleep(delay);
      waited += delay;
    }
  }

  async function readResults(id: string): Promise<Row[]> {
    const rows: Row[] = [];
    let columns: ColumnInfo[] = [];
    let nextToken: string | undefined;
    let first = true;
    do {
      const page = await call<GetQueryResultsCommandOutput>(
        new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: PAGE_SIZE, NextToken: nextToken }),
        'GetQueryResults',
      );
      if (first) columns = page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? [];
      let data = page.ResultSet?.Rows ?? [];
      // For a SELECT, the first row of the first page holds the column labels.
      if (first && data[0] && isHeader(data[0], columns)) data = data.slice(1);
      for (const row of data) rows.push(toRow(row, columns));
      nextToken = page.NextToken;
      first = false;
    } while (nextToken);
    return rows;
  }

  return {
    async query(sql: string, params: SqlValue[] = []): Promise<Row[]> {
      const started = await call<StartQueryExecutionCommandOutput>(
        new StartQueryExecutionCommand({
          QueryString: sql,
          WorkGroup: workgroup,
          QueryExecutionContext: { Database: database },
          // Athena rejects an empty list: omit it when there is nothing to bind.
          ExecutionParameters: params.length > 0 ? params.map(toSqlLiteral) : undefined,
        }),
        'StartQueryExecution',
      );
      const id = started.QueryExecutionId;
      if (!id) throw new Error('Athena StartQueryExecution returned no QueryExecutionId');
      await waitForCompletion(id);
      return readResults(id);
    },
  };
}

/**
 * Athena binds execution parameters as SQL literal text, not typed values: a string must arrive
 * quoted, or `'2026-03-01'` would be read as arithmetic.
 * https://docs.aws.amazon.com/athena/latest/ug/querying-with-prepared-statements.html
 */
export function toSqlLiteral(value: SqlValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`Cannot bind ${value} as an Athena parameter`);
    return String(value);
  }
  return `'${value.replaceAll("'", "''")}'`;
}

function isHeader(row: AthenaRow, columns: ColumnInfo[]): boolean {
  const cells = row.Data ?? [];
  return (
    columns.length > 0 &&
    cells.length === columns.length &&
    cells.every((cell, i) => cell.VarCharValue === (columns[i]?.Label ?? columns[i]?.Name))
  );
}

function toRow(row: AthenaRow, columns: ColumnInfo[]): Row {
  const cells = row.Data ?? [];
  return Object.fromEntries(
    columns.map((column, i) => [column.Name ?? `_col${i}`, toSqlValue(cells[i]?.VarCharValue, column.Type)]),
  );
}

/** Athena returns every value as text; the column type says what it was. An absent value is NULL. */
function toSqlValue(text: string | undefined, type: string | undefined): SqlValue {
  if (text === undefined) return null;
  switch (type?.toLowerCase()) {
    case 'tinyint':
    case 'smallint':
    case 'integer':
    case 'bigint': {
      const n = Number(text);
      // Beyond 2^53 a number would silently lose digits; keep the text (as the DuckDB engine does).
      return Number.isSafeInteger(n) ? n : text;
    }
    case 'double':
    case 'float':
    case 'real':
      return Number(text);
    case 'boolean':
      return text === 'true';
    case 'timestamp':
      return isoTimestamp(text);
    default:
      return text;
  }
}

/** `2026-03-01 10:00:00.123` (UTC, as the lake stores it) → `2026-03-01T10:00:00.123Z`, like DuckDB's. */
function isoTimestamp(text: string): string {
  const date = new Date(`${text.replace(' ', 'T')}Z`);
  return Number.isNaN(date.getTime()) ? text : date.toISOString();
}
