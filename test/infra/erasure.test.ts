/**
 * Erasure on AWS (core/admin/erasure-job.ts): the admin API records the job with the table rights it
 * already has; the rollup function rewrites the lake's day partitions and removes the person's
 * documents, each right scoped to the prefixes and partitions the job touches.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROLLUP_DELETE_PARTITIONS, ROLLUP_PUT_PARTITIONS } from '../../infra/constructs/rollups.ts';
import {
  actionsOf,
  buildStack,
  functionIdOf,
  getAtt,
  logicalIdOf,
  type Resource,
  roleOfFunction,
  type Statement,
  statementsOf,
} from './template.ts';

let template: Template;
const statementsOfFunction = (description: RegExp) =>
  statementsOf(template, roleOfFunction(template, functionIdOf(template, description)));
/** The object patterns of the lake bucket a statement allows `action` on (`usage/*`). */
function lakeObjectsWith(statements: Statement[], action: string, lakeId: string): string[] {
  return statements
    .filter((s) => actionsOf(s).includes(action))
    .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]))
    .map((r) => JSON.stringify(r))
    .filter((r) => r.includes(`"${lakeId}"`))
    .map((r) => /"\/([^"]*)"\]\]\}$/.exec(r)?.[1] ?? r)
    .sort();
}

beforeAll(() => {
  template = Template.fromStack(buildStack());
});

describe('erasure on AWS', () => {
  it('lets the rollup rewrite the usage and telemetry partitions and its staging prefix, and nothing else new', () => {
    // Prepare
    const lakeId = logicalIdOf(template, 'AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
    });

    // Act
    const statements = statementsOfFunction(/^Tollgate rollup/);

    // Assess
    expect(lakeObjectsWith(statements, 's3:DeleteObject', lakeId)).toEqual([
      'aggregates/*',
      'erasure/*',
      'spill/*',
      'telemetry/*',
      'usage/*',
    ]);
    expect(lakeObjectsWith(statements, 's3:PutObject', lakeId)).toEqual([
      'aggregates/*',
      'erasure/*',
      'rollups/latest.json',
      'telemetry/*',
      'usage/*',
    ]);
  });

  it('scopes the rollup’s table writes to the partitions an erasure touches', () => {
    // Prepare
    const tableId = logicalIdOf(template, 'AWS::DynamoDB::Table');

    // Act
    const writes = statementsOfFunction(/^Tollgate rollup/).filter((s) =>
      actionsOf(s).some((a) => /^dynamodb:(PutItem|DeleteItem)$/.test(a)),
    );

    // Assess
    expect(writes).toEqual([
      {
        Effect: 'Allow',
        Action: 'dynamodb:PutItem',
        Resource: getAtt(tableId),
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ROLLUP_PUT_PARTITIONS } },
      },
      {
        Effect: 'Allow',
        Action: 'dynamodb:DeleteItem',
        Resource: getAtt(tableId),
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ROLLUP_DELETE_PARTITIONS } },
      },
    ]);
    expect(ROLLUP_PUT_PARTITIONS).toEqual(['ALERT#*', 'ERASURES', 'TEAMS', 'AUDIT#*']);
    expect(ROLLUP_DELETE_PARTITIONS).toEqual(['INFLIGHT#*', 'KEYS', 'KEY#*', 'USERS']);
  });

  it('gives the admin API no write on the lake: it only records the job', () => {
    const lakeId = logicalIdOf(template, 'AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
    });
    const statements = statementsOfFunction(/^Tollgate admin API/);
    for (const action of ['s3:PutObject', 's3:DeleteObject'])
      expect(lakeObjectsWith(statements, action, lakeId)).toEqual([]);
    expect(statements.flatMap(actionsOf)).toContain('dynamodb:PutItem');
  });

  it('gives the rollup function ten minutes: erasure days, then replay, aggregates and reports', () => {
    const fn = template.toJSON().Resources[functionIdOf(template, /^Tollgate rollup/)] as Resource;
    expect(fn.Properties.Timeout).toBe(600);
  });
});
