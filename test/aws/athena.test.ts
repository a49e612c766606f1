/**
 * The Athena adapter against moto's Athena: a query started in the deployment's workgroup, polled until
 * it succeeds, its results read and typed by column. The SQL itself is tested on DuckDB in `npm test`;
 * moto runs no SQL and answers results it was given (`/moto-api/static/athena/query-results`), one set
 * per query in order. moto returns every row in one page and never a NextToken, so paging is covered
 * by the unit tests' fake only.
 */
import { ListQueryExecutionsCommand } from '@aws-sdk/client-athena';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createAthenaQueryEngine } from '../../functions/adapters/aws/athena-query.ts';
import { type AwsEndpoint, recordedCalls, seedAthenaResults } from './support/moto.ts';
import { type Clients, clients, type Deployment, deploy } from './support/resources.ts';
import { logicalId } from './support/stack.ts';
import { readTemplate, resourcesOfType } from './support/template.ts';

const moto: AwsEndpoint = { endpoint: inject('awsEndpoint'), credentials: inject('awsOperator') };
const aws = clients(moto);
let d: Deployment;
let workgroup: string;
let database: string;
/** The adapter runs as the rollup function's role, the one that runs every report on Athena. */
let athena: Clients['athena'];

beforeAll(async () => {
  const template = readTemplate();
  d = await deploy(moto, template, 'athena');
  athena = clients(moto, d.roleOf(logicalId(template, 'rollup')).credentials).athena;
  workgroup = d.physical.get(resourcesOfType(template, 'AWS::Athena::WorkGroup')[0]?.[0] ?? '')?.ref ?? '';
  database = d.physical.get(resourcesOfType(template, 'AWS::Glue::Database')[0]?.[0] ?? '')?.ref ?? '';
});

describe('the Athena query engine on the emulator', () => {
  it('starts the query in the workgroup, polls it to SUCCEEDED and types each column', async () => {
    const engine = createAthenaQueryEngine({ client: athena, workgroup, database });
    await seedAthenaResults(moto, [
      {
        columns: [
          { name: 'team_id', type: 'varchar' },
          { name: 'cost_micros', type: 'bigint' },
          { name: 'share', type: 'double' },
          { name: 'first_ts', type: 'timestamp' },
        ],
        rows: [
          ['team_id', 'cost_micros', 'share', 'first_ts'],
          ['backend', '1200000', '0.75', '2026-03-01 10:00:00.123'],
          ['data', '9007199254740993', '0.25', '2026-03-02 00:00:00.000'],
        ],
      },
    ]);
    const before = await recordedCalls(moto.endpoint);
    const rows = await engine.query('SELECT team_id, cost_micros FROM usage WHERE dt >= ?', ['2026-03-01']);
    const after = await recordedCalls(moto.endpoint);
    expect(rows).toEqual([
      { team_id: 'backend', cost_micros: 1_200_000, share: 0.75, first_ts: '2026-03-01T10:00:00.123Z' },
      // Past 2^53 a bigint stays text rather than losing digits.
      { team_id: 'data', cost_micros: '9007199254740993', share: 0.25, first_ts: '2026-03-02T00:00:00.000Z' },
    ]);
    const delta = (action: string) =>
      (after.get(`athena ${action}`) ?? 0) - (before.get(`athena ${action}`) ?? 0);
    expect(delta('StartQueryExecution')).toBe(1);
    expect(delta('GetQueryExecution')).toBeGreaterThanOrEqual(1);
    expect(delta('GetQueryResults')).toBe(1);
    const listed = await aws.athena.send(new ListQueryExecutionsCommand({ WorkGroup: workgroup }));
    expect(listed.QueryExecutionIds).toHaveLength(1);
  });

  it('answers no rows for a query whose results hold only the header', async () => {
    const engine = createAthenaQueryEngine({ client: athena, workgroup, database });
    await seedAthenaResults(moto, [{ columns: [{ name: 'n', type: 'bigint' }], rows: [['n']] }]);
    expect(await engine.query('SELECT count(*) AS n FROM usage')).toEqual([]);
  });
});
