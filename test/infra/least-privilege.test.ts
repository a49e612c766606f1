/**
 * Least privilege, checked two ways: each role's statements against what its function's code calls
 * (the SDK commands bundled into it, found by esbuild exactly as CDK bundles it), and against the
 * table in README "Least privilege". A grant wider than the code, or code outside its grant, fails here.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { lambdaBuildOptions, PROXY_LAZY_MODULES } from '../../infra/constructs/bundling.ts';
import { PROXY_TABLE_ACCESS } from '../../infra/constructs/proxy-function.ts';
import { operationsSettings } from '../../infra/context.ts';
import {
  actionsOf,
  buildStack,
  functionIdOf,
  getAtt,
  idAt,
  logicalIdOf,
  roleOfFunction,
  type Statement,
  statementsOf,
} from './template.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** IAM's service prefix for each AWS SDK v3 client package. */
const IAM_SERVICE: Record<string, string> = {
  dynamodb: 'dynamodb',
  firehose: 'firehose',
  s3: 's3',
  sns: 'sns',
  'secrets-manager': 'secretsmanager',
  athena: 'athena',
  'bedrock-runtime': 'bedrock',
};
/** Actions a call needs beyond its own: publishing to a KMS-encrypted topic uses its key. */
const IMPLIED: Record<string, string[]> = { 'sns:Publish': ['kms:Decrypt', 'kms:GenerateDataKey'] };
/** SDK commands whose IAM action is named differently. */
const IAM_ACTION: Record<string, string> = { 's3:ListObjectsV2': 's3:ListBucket' };

/**
 * The IAM actions of every SDK command (`new XCommand`, `paginateX`) imported by the code bundled
 * from `entry` — an over-estimate (an adapter's every method, not only those the function calls), so
 * the grant must be a subset of it.
 */
async function actionsBundledFrom(entry: string): Promise<Set<string>> {
  const result = await build({
    ...lambdaBuildOptions(PROXY_LAZY_MODULES),
    entryPoints: [`${ROOT}${entry}`],
    write: false,
    metafile: true,
    outdir: '/tmp/tollgate-least-privilege',
  });
  const actions = new Set<string>();
  const add = (input: string, client: string, command: string) => {
    const service = IAM_SERVICE[client];
    if (!service) throw new Error(`${input}: no IAM service known for @aws-sdk/client-${client}`);
    const action = IAM_ACTION[`${service}:${command}`] ?? `${service}:${command}`;
    for (const a of [action, ...(IMPLIED[action] ?? [])]) actions.add(a);
  };
  for (const input of Object.keys(result.metafile.inputs).filter((f) => f.startsWith('functions/'))) {
    const source = readFileSync(`${ROOT}${input}`, 'utf8');
    const imported = new Set<string>();
    for (const [, names, client] of source.matchAll(
      /import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/client-([a-z0-9-]+)'/g,
    )) {
      for (const name of names!.split(',').map((n) => n.replace(/^\s*type\s+/, '').trim())) {
        imported.add(name);
        const command = /^(\w+)Command$/.exec(name)?.[1] ?? /^paginate(\w+)$/.exec(name)?.[1];
        if (command) add(input, client!, command);
      }
    }
    // A client loaded on first use (`import('@aws-sdk/client-x')`): the commands the file constructs.
    const loaded = new Set(
      [...source.matchAll(/import\(\s*'@aws-sdk\/client-([a-z0-9-]+)'\s*\)/g)].map((m) => m[1]!),
    );
    const constructed = [...source.matchAll(/new\s+(\w+)Command\s*\(/g)]
      .map((m) => m[1]!)
      .filter((command) => !imported.has(`${command}Command`));
    if (loaded.size > 1 && constructed.length > 0)
      throw new Error(`${input}: loads more than one SDK client on first use; cannot tell whose commands`);
    for (const client of loaded) for (const command of constructed) add(input, client, command);
  }
  return actions;
}

let stack: Stack;
let template: Template;
const statementsOfFunction = (description: RegExp) =>
  statementsOf(template, roleOfFunction(template, functionIdOf(template, description)));

beforeAll(() => {
  stack = buildStack();
  template = Template.fromStack(stack);
});

describe('the proxy role', () => {
  let statements: Statement[];
  beforeAll(() => {
    statements = statementsOfFunction(/^Tollgate proxy/);
  });

  it('grants only actions the proxy bundle has SDK commands for, and every table action it has', async () => {
    // Prepare
    const bundled = await actionsBundledFrom('functions/lambda/proxy.ts');

    // Act
    const granted = new Set(statements.flatMap(actionsOf));

    // Assess
    expect([...granted].filter((a) => !bundled.has(a))).toEqual([]);
    const tableActions = (set: Set<string>) => [...set].filter((a) => a.startsWith('dynamodb:')).sort();
    expect(tableActions(granted)).toEqual(tableActions(bundled));
    expect(tableActions(granted)).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
  });

  it('acts on the table by partition: deletes only in-flight items, writes no key, team or user, never an index', () => {
    // Prepare
    const tableId = logicalIdOf(template, 'AWS::DynamoDB::Table');

    // Act
    const onTable = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));

    // Assess
    expect(onTable).toEqual(
      PROXY_TABLE_ACCESS.map(({ action, partitions }) => ({
        Effect: 'Allow',
        Action: action,
        Resource: getAtt(tableId),
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...partitions] } },
      })),
    );
    const writes = onTable.filter((s) => !/GetItem|Query/.test(String(s.Action)));
    expect(JSON.stringify(writes)).not.toMatch(/"(KEY#\*|KEYS|TEAMS|USERS|ROUTES)"/);
    expect(onTable.find((s) => s.Action === 'dynamodb:DeleteItem')?.Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['INFLIGHT#*'] },
    });
  });

  it('reads the provider keys secret with GetSecretValue alone', () => {
    const providerKeysId = logicalIdOf(template, 'AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('provider API keys'),
    });
    expect(statements.filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')))).toEqual([
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: providerKeysId } },
    ]);
  });

  it('may invoke a Bedrock model the operator adds, in the regions of its profile, and refuses an unknown geography', () => {
    // Prepare
    const withEu = operationsSettings({ bedrockModels: 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0' });
    const withPlain = operationsSettings({ bedrockModels: 'anthropic.claude-3-haiku-20240307-v1:0' });

    // Act
    const resources = (operations: ReturnType<typeof operationsSettings>) => {
      const t = Template.fromStack(buildStack({ operations }));
      const s = statementsOf(t, roleOfFunction(t, functionIdOf(t, /^Tollgate proxy/)));
      return JSON.stringify(s.filter((x) => actionsOf(x).includes('bedrock:InvokeModel')));
    };
    const unknown = () =>
      buildStack({ operations: operationsSettings({ bedrockModels: 'mars.anthropic.x-v1' }) });

    // Assess
    const eu = resources(withEu);
    expect(eu).toContain(':inference-profile/eu.anthropic.claude-sonnet-4-5-20250929-v1:0"');
    expect(eu).toContain(':bedrock:eu-*::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"');
    // A model id without a profile: this region only.
    expect(resources(withPlain)).toContain(
      '":bedrock:",{"Ref":"AWS::Region"},"::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"',
    );
    expect(unknown).toThrow(/unknown inference profile geography 'mars'/);
  });
});

describe('the admin API and rollup roles', () => {
  it.each([
    ['admin API', /^Tollgate admin API/, 'functions/lambda/admin.ts'],
    ['rollup', /^Tollgate rollup/, 'functions/lambda/rollup.ts'],
  ])(
    'the %s is granted no table, stream, topic or secret action its bundle has no command for',
    async (_, description, entry) => {
      // Prepare
      const bundled = await actionsBundledFrom(entry);

      // Act: Athena's own reads (Glue, S3 for the query) are the caller's but not SDK calls; left out here
      const granted = statementsOfFunction(description)
        .flatMap(actionsOf)
        .filter((a) => /^(dynamodb|firehose|sns|secretsmanager|bedrock|kms):/.test(a));

      // Assess
      expect(granted.filter((a) => !bundled.has(a))).toEqual([]);
      expect(
        granted.filter((a) =>
          /^dynamodb:(Scan|Batch\w+|Transact\w+|DescribeTable|GetRecords|GetShardIterator)$/.test(a),
        ),
      ).toEqual([]);
    },
  );

  it('lets only recovery read the in-flight index, by its name', () => {
    const tableId = logicalIdOf(template, 'AWS::DynamoDB::Table');
    const onIndex = (description: RegExp) =>
      statementsOfFunction(description).filter((s) => JSON.stringify(s.Resource).includes('/index/'));
    expect(onIndex(/^Tollgate admin API/)).toEqual([]);
    expect(onIndex(/^Tollgate rollup/)).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:Query'],
        Resource: [getAtt(tableId), { 'Fn::Join': ['', [getAtt(tableId), '/index/inflight']] }],
      },
    ]);
  });
});

describe('the Slack forwarder role', () => {
  it('grants only what its bundle calls: its secret, the rollup object, its dead-letter queue', async () => {
    // Prepare
    const bundled = await actionsBundledFrom('functions/lambda/slack-forwarder.ts');
    const statements = statementsOfFunction(/^Tollgate Slack forwarder/);

    // Act
    const granted = statements.flatMap(actionsOf);

    // Assess: SQS is Lambda's own dead-lettering, with the function's role.
    expect(granted.filter((a) => !bundled.has(a) && a !== 'sqs:SendMessage')).toEqual([]);
    expect(granted.filter((a) => /^(athena|glue):/.test(a))).toEqual([]);
    expect(bundled.has('athena:StartQueryExecution')).toBe(false);
  });
});

describe('the dashboard deployment', () => {
  it('may invalidate its own distribution only', () => {
    // Prepare
    const distributionId = logicalIdOf(template, 'AWS::CloudFront::Distribution');
    const handlerRole = Object.keys(template.findResources('AWS::IAM::Role')).find((id) =>
      id.startsWith('CustomCDKBucketDeployment'),
    );

    // Act
    const cloudfront = statementsOf(template, handlerRole!).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('cloudfront:')),
    );

    // Assess
    expect(cloudfront).toEqual([
      {
        Effect: 'Allow',
        Action: ['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation'],
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':cloudfront::',
              { Ref: 'AWS::AccountId' },
              ':distribution/',
              { Ref: distributionId },
            ],
          ],
        },
      },
    ]);
    expect(idAt(stack, 'Dashboard/Distribution')).toBe(distributionId);
  });
});
