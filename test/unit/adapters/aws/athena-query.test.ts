import {
  type ColumnInfo,
  GetQueryExecutionCommand,
  type GetQueryExecutionCommandOutput,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  type QueryExecutionState,
  StartQueryExecutionCommand,
  type StartQueryExecutionCommandInput,
} from '@aws-sdk/client-athena';
import { describe, expect, it } from 'vitest';
import {
  type AthenaCommand,
  createAthenaQueryEngine,
} from '../../../../functions/adapters/aws/athena-query.ts';

interface Script {
  states?: Array<{ State: QueryExecutionState; StateChangeReason?: string }>;
  pages?: Array<Partial<GetQueryResultsCommandOutput>>;
  startError?: Error;
}

/** An Athena client that plays a script: execution states in turn, then result pages in turn. */
function scriptedAthena({ states = [{ State: 'SUCCEEDED' }], pages = [{}], startError }: Script) {
  const started: StartQueryExecutionCommandInput[] = [];
  const pageTokens: Array<string | undefined> = [];
  let polls = 0;
  const client = {
    async send(command: AthenaCommand) {
      if (command instanceof StartQueryExecutionCommand) {
        if (startError) throw startError;
        started.push(command.input);
        return { $metadata: {}, QueryExecutionId: 'q-1' };
      }
      if (command instanceof GetQueryExecutionCommand) {
        const Status = states[Math.min(polls++, states.length - 1)];
        return {
          $metadata: {},
          QueryExecution: { QueryExecutionId: 'q-1', Status },
        } as GetQueryExecutionCommandOutput;
      }
      if (command instanceof GetQueryResultsCommand) {
        pageTokens.push(command.input.NextToken);
        return { $metadata: {}, ...pages[pageTokens.length - 1] } as GetQueryResultsCommandOutput;
      }
      throw new Error('unexpected command');
    },
  };
  return { client, started, pageTokens, polls: () => polls };
}

const noSleep = async () => {};

const columns = (...specs: Array<[string, string]>): ColumnInfo[] =>
  specs.map(([Name, Type]) => ({ Name, Label: Name, Type }));

const row = (...values: Array<string | undefined>) => ({
  Data: values.map((v) => (v === undefined ? {} : { VarCharValue: v })),
});

describe('createAthenaQueryEngine', () => {
  it('passes parameters as Athena SQL literals, quoting strings and doubling quotes', async () => {
    // Prepare
    const { client, started } = scriptedAthena({});
    const engine = createAthenaQueryEngine({ client, workgroup: 'wg', database: 'db', sleep: noSleep });

    // Act
    await engine.query('SELECT ?, ?, ?, ?, ?', ['2026-03-01', "O'Brien", 42, true, null]);

    // Assess
    expect(started[0]).toMatchObject({
      QueryString: 'SELECT ?, ?, ?, ?, ?',
      WorkGroup: 'wg',
      QueryExecutionContext: { Database: 'db' },
      ExecutionParameters: ["'2026-03-01'", "'O''Brien'", '42', 'TRUE', 'NULL'],
    });
  });

  it('sends no ExecutionParameters when there is nothing to bind', async () => {
    // Prepare
    const { client, started } = scriptedAthena({});
    const engine = createAthenaQueryEngine({ client, workgroup: 'wg', database: 'db', sleep: noSleep });

    // Act
    await engine.query('SELECT 1');

    // Assess
    expect(started[0]?.ExecutionParameters).toBeUndefined();
  });

  it('polls with growing delays until the query succeeds', async () => {
    // Prepare
    const { client, polls } = scriptedAthena({
      states: [{ State: 'QUEUED' }, { State: 'RUNNING' }, { State: 'RUNNING' }, { State: 'SUCCEEDED' }],
    });
    const delays: number[] = [];
    const sleep = async (ms: number) => {
      delays.push(ms);
    };
    const engine = createAthenaQueryEngine({ client, workgroup: 'wg', database: 'db', sleep });

    // Act
    await engine.query('SELECT 1');

    // Assess
    expect(polls()).toBe(4);
    expect(delays).toEqual([200, 400, 800]);
  });

  it('reads every page, skips the header row and types values from the column info', async () => {
    // Prepare
    const meta = {
      ColumnInfo: columns(
        ['user_id', 'varchar'],
        ['requests', 'bigint'],
        ['share', 'double'],
        ['stream', 'boolean'],
        ['ts', 'timestamp'],
      ),
    };
    const { client, pageTokens } = scriptedAthena({
      pages: [
        {
          ResultSet: {
            ResultSetMetadata: meta,
            Rows: [
              row('user_id', 'requests', 'share', 'stream', 'ts'),
              row('alice', '3', '0.75', 'true', '2026-03-01 10:00:00.123'),
            ],
          },
          NextToken: 'page-2',
        },
        {
          ResultSet: {
            ResultSetMetadata: meta,
            Rows: [row(undefined, '12', '0.25', 'false', undefined)],
          },
        },
      ],
    });
    const engine = createAthenaQueryEngine({ client, workgroup: 'wg', database: 'db', sleep: noSleep });

    // Act
    const rows = await engine.query('SELECT ...');

    // Assess
    expect(pageTokens).toEqual([undefined, 'page-2']);
    expect(rows).toEqual([
      { user_id: 'alice', requests: 3, share: 0.75, stream: true, ts: '2026-03-01T10:00:00.123Z' },
      { user_id: null, requests: 12, share: 0.25, stream: false, ts: null },
    ]);
  });

  it('keeps a bigint beyond 2^53 as text rather than rounding it', async () => {
    // Prepare
    const meta = { ColumnInfo: columns(['n', 'bigint']) };
    const { client } = scriptedAthena({
      pages: [{ ResultSet: { ResultSetMetadata: meta, Rows: [row('n'), row('9007199254740993')] } }],
    });
    const engine = createAthenaQueryEngine({ client, workgroup: 'wg', database: 'db', sleep: noSleep });

    // Act
    const rows = await engine.query('SELECT n');

    // Assess
    expect(rows).toEqual([{ n: '9007199254740993' }]);
  });

  it('throws the state change reason when the query fails', async () => {
    // Prepare
    const { client } = scriptedAthena({
      states: [
        { State: 'RUNNING' },
        {
          State: 'FAILED',
          StateChangeReason: "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved",
        },
      ],
    });
    const engine = createAthenaQueryEngine({ client, workgroup: 'wg', database: 'db', sleep: noSleep });

    // Act
    const result = engine.query('SELECT nope FROM usage');

    // Assess
    await expect(result).rejects.toThrow(
      /FAILED: COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved/,
    );
  });

  it('gives up when the query is still running after the timeout', async () => {
    // Prepare
    const { client } = scriptedAthena({ states: [{ State: 'RUNNING' }] });
    const engine = createAthenaQueryEngine({
      client,
      workgroup: 'wg',
      database: 'db',
      sleep: noSleep,
      timeoutMs: 1_000,
    });

    // Act
    const result = engine.query('SELECT 1');

    // Assess
    await expect(result).rejects.toThrow(/still RUNNING/);
  });

  it('wraps an SDK failure in a plain error that keeps it as the cause', async () => {
    // Prepare
    const sdkError = Object.assign(new Error('WorkGroup wg is not found'), {
      name: 'InvalidRequestException',
    });
    const { client } = scriptedAthena({ startError: sdkError });
    const engine = createAthenaQueryEngine({ client, workgroup: 'wg', database: 'db', sleep: noSleep });

    // Act
    const result = engine.query('SELECT 1');

    // Assess
    await expect(result).rejects.toSatisfy(
      (error) =>
        error instanceof Error &&
        error.name === 'Error' &&
        error.cause === sdkError &&
        /StartQueryExecution failed: WorkGroup wg is not found/.test(error.message),
    );
  });
});
