/**
 * Least privilege on moto with IAM enforced: each role of the template, made there with exactly its
 * policies (support/iam.ts), may make a call its code makes and is refused one outside its policy. The
 * end-to-end tests (gateway.test.ts) run every function as its role and fail on any refusal; these are
 * the negative controls, and each is paired with an allowed call of the same role so that a refusal
 * cannot come from credentials that work for nothing.
 *
 * What moto 5.2 checks, and so what these controls can show:
 * - the signature and the principal (a key it does not know is refused);
 * - the IAM action of every call, for every service (the `dynamodb:Scan`, `athena:StartQueryExecution`,
 *   `sns:Publish` below);
 * - the resource only for S3 (bucket and object ARNs: `spill/*` but not `rollups/latest.json`), SQS
 *   (queue ARNs), IAM and STS. For DynamoDB, Firehose, SNS, Secrets Manager, Athena, Glue, Bedrock,
 *   CloudFront and KMS a grant on one ARN is, on moto, a grant on all: the last tests pin this, so
 *   that "the proxy cannot read the master key" or "cannot publish to an unrelated topic" are known to
 *   be unproved here (the template tests state those scopes);
 * - no conditions: `dynamodb:LeadingKeys` (a role's items by partition) is not checked;
 * - no resource policies, and no KMS use behind SNS (moto publishes to a topic with a key without it).
 */

import { StartQueryExecutionCommand } from '@aws-sdk/client-athena';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, PublishCommand } from '@aws-sdk/client-sns';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { EmulatedRole } from './support/iam.ts';
import { startFunction } from './support/lambda.ts';
import { type AwsEndpoint, DUMMY_CREDENTIALS, type Refusal, recordedRefusals } from './support/moto.ts';
import { type Clients, clients, type Deployment, deploy } from './support/resources.ts';
import { logicalId, physicalId } from './support/stack.ts';
import { readTemplate } from './support/template.ts';

const moto: AwsEndpoint = { endpoint: inject('awsEndpoint'), credentials: inject('awsOperator') };
const aws = clients(moto);
let d: Deployment;

/** The CDK paths of the roles the controls below cover; every role of the template must be here. */
const ROLE_PATHS = {
  proxy: 'Tollgate/Proxy/Function/ServiceRole/Resource',
  admin: 'Tollgate/Admin/Function/ServiceRole/Resource',
  rollup: 'Tollgate/Rollups/Function/ServiceRole/Resource',
  slack: 'Tollgate/Slack/Function/ServiceRole/Resource',
  delivery: 'Tollgate/UsageLake/DeliveryRole/Resource',
  telemetryDelivery: 'Tollgate/UsageLake/TelemetryDeliveryRole/Resource',
  dashboardDeployment: /^Tollgate\/Custom::CDKBucketDeployment[0-9A-F]+\/ServiceRole\/Resource$/,
} as const;

function role(part: keyof typeof ROLE_PATHS): EmulatedRole {
  const want = ROLE_PATHS[part];
  const found = [...d.roles.values()].filter((r) =>
    typeof want === 'string' ? r.path === want : want.test(r.path),
  );
  if (found.length !== 1) throw new Error(`expected one role at ${want}, found ${found.length}`);
  return found[0] as EmulatedRole;
}

const as = (part: keyof typeof ROLE_PATHS): Clients => clients(moto, role(part).credentials);

/**
 * Makes one call and says what IAM made of it: `allowed` (it passed IAM, whatever it then answered:
 * a missing key is still an allowed GetObject) or the refusal moto recorded for it.
 */
async function attempt(call: () => Promise<unknown>): Promise<'allowed' | Refusal> {
  const before = (await recordedRefusals(moto.endpoint)).length;
  await call().catch(() => undefined);
  const refused = (await recordedRefusals(moto.endpoint)).slice(before);
  if (refused.length > 1) throw new Error(`one call, ${refused.length} refusals`);
  return refused[0] ?? 'allowed';
}

/** A refusal for lack of a grant, naming the IAM action (moto names it for every service but S3). */
const refusedAction = (action: string) =>
  expect.objectContaining({ code: 'AccessDenied', message: expect.stringContaining(`perform: ${action}`) });
/** S3's refusal names no action; the call and the object it was on are what was refused. */
const refusedS3 = (call: string, key: string) =>
  expect.objectContaining({
    code: 'AccessDenied',
    call: `s3 ${call}`,
    path: expect.stringMatching(`/${key}$`),
  });

const lake = () => physicalId(d, 'lake');
const table = () => physicalId(d, 'table');
const key = (pk: string) => ({ pk: { S: pk }, sk: { S: pk } });

beforeAll(async () => {
  d = await deploy(moto, readTemplate(), 'iam');
});

describe('IAM on the emulator', () => {
  it('refuses a key it does not know (enforcement is on: moto has no account root)', async () => {
    const stranger = clients(moto, DUMMY_CREDENTIALS);
    expect(
      await attempt(() =>
        stranger.dynamo.send(new GetItemCommand({ TableName: table(), Key: key('KEY#x') })),
      ),
    ).toEqual(expect.objectContaining({ code: 'InvalidClientTokenId' }));
  });
});

describe('every role of the template', () => {
  it('has its negative control here (a role added to the stack needs one)', () => {
    const covered = [...d.roles.values()].filter((r) =>
      Object.values(ROLE_PATHS).some((want) =>
        typeof want === 'string' ? r.path === want : want.test(r.path),
      ),
    );
    expect(covered.map((r) => r.path).sort()).toEqual([...d.roles.values()].map((r) => r.path).sort());
  });
});

describe('the proxy role', () => {
  it('reads and writes its items but neither scans nor batch-writes the table', async () => {
    const proxy = as('proxy');
    expect(
      await attempt(() =>
        proxy.dynamo.send(
          new UpdateItemCommand({
            TableName: table(),
            Key: key('BUDGET#x'),
            UpdateExpression: 'ADD n :one',
            ExpressionAttributeValues: { ':one': { N: '1' } },
          }),
        ),
      ),
    ).toBe('allowed');
    expect(await attempt(() => proxy.dynamo.send(new ScanCommand({ TableName: table() })))).toEqual(
      refusedAction('dynamodb:Scan'),
    );
    expect(
      await attempt(() =>
        proxy.dynamo.send(
          new BatchWriteItemCommand({
            RequestItems: { [table()]: [{ PutRequest: { Item: key('INFLIGHT#x') } }] },
          }),
        ),
      ),
    ).toEqual(refusedAction('dynamodb:BatchWriteItem'));
  });

  it('reads its table but not the rollup object or Athena', async () => {
    const proxy = as('proxy');
    expect(
      await attempt(() => proxy.dynamo.send(new GetItemCommand({ TableName: table(), Key: key('KEY#x') }))),
    ).toBe('allowed');
    expect(
      await attempt(() =>
        proxy.s3.send(new PutObjectCommand({ Bucket: lake(), Key: 'spill/x.jsonl', Body: '{}' })),
      ),
    ).toBe('allowed');
    expect(
      await attempt(() =>
        proxy.s3.send(new GetObjectCommand({ Bucket: lake(), Key: 'rollups/latest.json' })),
      ),
    ).toEqual(refusedS3('GetObject', 'rollups/latest.json'));
    expect(
      await attempt(() =>
        proxy.s3.send(new PutObjectCommand({ Bucket: lake(), Key: 'usage/x', Body: '{}' })),
      ),
    ).toEqual(refusedS3('PutObject', 'usage/x'));
    expect(
      await attempt(() =>
        proxy.athena.send(new StartQueryExecutionCommand({ QueryString: 'SELECT 1', WorkGroup: 'primary' })),
      ),
    ).toEqual(refusedAction('athena:StartQueryExecution'));
  });
});

describe('the admin role', () => {
  it('gets, puts and deletes items but neither scans the table nor updates a counter', async () => {
    const admin = as('admin');
    expect(
      await attempt(() => admin.dynamo.send(new PutItemCommand({ TableName: table(), Item: key('KEY#a') }))),
    ).toBe('allowed');
    expect(await attempt(() => admin.dynamo.send(new ScanCommand({ TableName: table() })))).toEqual(
      refusedAction('dynamodb:Scan'),
    );
    expect(
      await attempt(() =>
        admin.dynamo.send(
          new UpdateItemCommand({
            TableName: table(),
            Key: key('BUDGET#x'),
            UpdateExpression: 'ADD n :one',
            ExpressionAttributeValues: { ':one': { N: '1' } },
          }),
        ),
      ),
    ).toEqual(refusedAction('dynamodb:UpdateItem'));
  });

  it('reads the master key but publishes no alert, spills nothing and sends no record', async () => {
    const admin = as('admin');
    expect(
      await attempt(() =>
        admin.secrets.send(new GetSecretValueCommand({ SecretId: physicalId(d, 'masterKey') })),
      ),
    ).toBe('allowed');
    expect(
      await attempt(() =>
        admin.sns.send(new PublishCommand({ TopicArn: physicalId(d, 'topic'), Message: 'x' })),
      ),
    ).toEqual(refusedAction('sns:Publish'));
    expect(
      await attempt(() =>
        admin.s3.send(new PutObjectCommand({ Bucket: lake(), Key: 'spill/x.jsonl', Body: '{}' })),
      ),
    ).toEqual(refusedS3('PutObject', 'spill/x.jsonl'));
    expect(
      await attempt(() =>
        admin.firehose.send(
          new PutRecordBatchCommand({
            DeliveryStreamName: physicalId(d, 'stream'),
            Records: [{ Data: new TextEncoder().encode('{}') }],
          }),
        ),
      ),
    ).toEqual(refusedAction('firehose:PutRecordBatch'));
  });
});

describe('the rollup role', () => {
  it('writes the rollup object (and, for erasure, usage partitions) but not spilled records, and reads no secret', async () => {
    const rollup = as('rollup');
    expect(
      await attempt(() =>
        rollup.s3.send(new PutObjectCommand({ Bucket: lake(), Key: 'rollups/latest.json', Body: '{}' })),
      ),
    ).toBe('allowed');
    expect(
      await attempt(() =>
        rollup.s3.send(new PutObjectCommand({ Bucket: lake(), Key: 'spill/x', Body: '{}' })),
      ),
    ).toEqual(refusedS3('PutObject', 'spill/x'));
    expect(
      await attempt(() =>
        rollup.secrets.send(new GetSecretValueCommand({ SecretId: physicalId(d, 'providerKeys') })),
      ),
    ).toEqual(refusedAction('secretsmanager:GetSecretValue'));
  });
});

describe('the Slack forwarder role', () => {
  it('reads the rollup object for top spenders, and neither runs Athena nor reads the usage records', async () => {
    const slack = as('slack');
    expect(
      await attempt(() =>
        slack.s3.send(new GetObjectCommand({ Bucket: lake(), Key: 'rollups/latest.json' })),
      ),
    ).toBe('allowed');
    expect(
      await attempt(() =>
        slack.athena.send(new StartQueryExecutionCommand({ QueryString: 'SELECT 1', WorkGroup: 'primary' })),
      ),
    ).toEqual(refusedAction('athena:StartQueryExecution'));
    expect(
      await attempt(() => slack.s3.send(new GetObjectCommand({ Bucket: lake(), Key: 'usage/x' }))),
    ).toEqual(refusedS3('GetObject', 'usage/x'));
  });

  it('reads its webhook URL but touches neither the table nor the topic, and writes nothing to the lake', async () => {
    const slack = as('slack');
    expect(
      await attempt(() =>
        slack.secrets.send(new GetSecretValueCommand({ SecretId: physicalId(d, 'slackWebhook') })),
      ),
    ).toBe('allowed');
    expect(
      await attempt(() => slack.dynamo.send(new GetItemCommand({ TableName: table(), Key: key('KEY#x') }))),
    ).toEqual(refusedAction('dynamodb:GetItem'));
    expect(
      await attempt(() =>
        slack.sns.send(new PublishCommand({ TopicArn: physicalId(d, 'topic'), Message: 'x' })),
      ),
    ).toEqual(refusedAction('sns:Publish'));
    expect(
      await attempt(() =>
        slack.s3.send(new PutObjectCommand({ Bucket: lake(), Key: 'rollups/latest.json', Body: '{}' })),
      ),
    ).toEqual(refusedS3('PutObject', 'rollups/latest.json'));
  });

  it('fails its cold start, naming the action, when its bundle runs as a role without the grant', async () => {
    // The forwarder's bundle under the Firehose delivery role, which may not read secrets.
    const started = startFunction({
      deployment: d,
      moto,
      logicalId: logicalId(d.template, 'slack'),
      node: '22',
      credentials: role('delivery').credentials,
    });
    const before = (await recordedRefusals(moto.endpoint)).length;
    const fn = await started.catch(() => undefined);
    const inv = fn?.invoke({ Records: [] });
    await inv?.done.catch(() => undefined);
    await fn?.stop();
    const refused = (await recordedRefusals(moto.endpoint)).slice(before);
    expect(refused).toContainEqual(refusedAction('secretsmanager:GetSecretValue'));
    expect(refused.map((r) => d.principalOf(r.accessKeyId))).toContain(ROLE_PATHS.delivery);
  });
});

describe('the roles outside the functions under test', () => {
  it('the Firehose delivery role writes usage records but not spills or the rollup', async () => {
    const delivery = as('delivery');
    expect(
      await attempt(() =>
        delivery.s3.send(new PutObjectCommand({ Bucket: lake(), Key: 'usage/x', Body: '{}' })),
      ),
    ).toBe('allowed');
    expect(
      await attempt(() =>
        delivery.s3.send(new PutObjectCommand({ Bucket: lake(), Key: 'rollups/latest.json', Body: '{}' })),
      ),
    ).toEqual(refusedS3('PutObject', 'rollups/latest.json'));
  });

  it('the telemetry delivery role writes telemetry records but not usage records', async () => {
    const delivery = as('telemetryDelivery');
    expect(
      await attempt(() =>
        delivery.s3.send(new PutObjectCommand({ Bucket: lake(), Key: 'telemetry/x', Body: '{}' })),
      ),
    ).toBe('allowed');
    expect(
      await attempt(() =>
        delivery.s3.send(new PutObjectCommand({ Bucket: lake(), Key: 'usage/x', Body: '{}' })),
      ),
    ).toEqual(refusedS3('PutObject', 'usage/x'));
  });

  it('the dashboard deployment writes the dashboard bucket but not the lake', async () => {
    const deployment = as('dashboardDeployment');
    const dashboard = [...d.physical.entries()].find(
      ([id]) => d.template.Resources[id]?.Metadata?.['aws:cdk:path'] === 'Tollgate/Dashboard/Bucket/Resource',
    )?.[1].ref;
    expect(
      await attempt(() =>
        deployment.s3.send(new PutObjectCommand({ Bucket: dashboard, Key: 'index.html', Body: '<html>' })),
      ),
    ).toBe('allowed');
    expect(
      await attempt(() =>
        deployment.s3.send(new PutObjectCommand({ Bucket: lake(), Key: 'index.html', Body: 'x' })),
      ),
    ).toEqual(refusedS3('PutObject', 'index.html'));
  });
});

describe('what moto does not check (AWS would refuse each of these)', () => {
  it('a grant on one DynamoDB table or secret is, on moto, a grant on every one', async () => {
    await aws.dynamo.send(
      new CreateTableCommand({
        TableName: 'tg-iam-unrelated',
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      }),
    );
    const proxy = as('proxy');
    expect(
      await attempt(() =>
        proxy.dynamo.send(new GetItemCommand({ TableName: 'tg-iam-unrelated', Key: { pk: { S: 'x' } } })),
      ),
    ).toBe('allowed');
    // The proxy's grant names the provider keys only.
    expect(
      await attempt(() =>
        proxy.secrets.send(new GetSecretValueCommand({ SecretId: physicalId(d, 'masterKey') })),
      ),
    ).toBe('allowed');
    const { TopicArn } = await aws.sns.send(new CreateTopicCommand({ Name: 'tg-iam-unrelated' }));
    expect(await attempt(() => proxy.sns.send(new PublishCommand({ TopicArn, Message: 'x' })))).toBe(
      'allowed',
    );
  });

  it('conditions are not checked: the proxy deletes outside INFLIGHT#*, the rollup puts outside ALERT#*', async () => {
    const proxy = as('proxy');
    expect(
      await attempt(() =>
        proxy.dynamo.send(new DeleteItemCommand({ TableName: table(), Key: key('KEY#a') })),
      ),
    ).toBe('allowed');
    const rollup = as('rollup');
    expect(
      await attempt(() =>
        rollup.dynamo.send(new PutItemCommand({ TableName: table(), Item: key('KEY#not-alerts') })),
      ),
    ).toBe('allowed');
  });
});
