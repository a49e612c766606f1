import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE_SCHEMA } from '../../functions/adapters/aws/dynamo-table.ts';
import { ENV, governanceEnvironment } from '../../functions/config.ts';
import { telemetryColumns } from '../../functions/core/telemetry/record.ts';
import { usageColumns } from '../../functions/core/usage/record.ts';
import { functionEnvironment } from '../../infra/context.ts';
import {
  actionsOf,
  buildStack,
  functionIdOf,
  getAtt,
  idAt as idAtPath,
  logicalIdOf,
  type Resource,
  roleOfFunction,
  statementsOf,
} from './template.ts';

/** The usage table, not the analyst views beside it (athena-views.test.ts). */
const USAGE_TABLE = { TableInput: { Name: 'usage' } };
const TELEMETRY_TABLE = { TableInput: { Name: 'telemetry' } };

/** The Firehose stream that writes under `prefix` (`usage/`, `telemetry/`). */
const streamId = (prefix: string) =>
  logicalIdOf(template, 'AWS::KinesisFirehose::DeliveryStream', {
    ExtendedS3DestinationConfiguration: Match.objectLike({
      Prefix: `${prefix}dt=!{partitionKeyFromQuery:dt}/`,
    }),
  });

let stack: Stack;
let template: Template;
let proxyId: string;
let adminId: string;

beforeAll(() => {
  stack = buildStack();
  template = Template.fromStack(stack);
  proxyId = functionIdOf(template, /^Tollgate proxy/);
  adminId = functionIdOf(template, /^Tollgate admin API/);
});

describe('proxy function', () => {
  it('runs on nodejs24.x arm64 with 1024 MB and the 15-minute ceiling', () => {
    expect(template.toJSON().Resources[proxyId].Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 1024,
      Timeout: 900,
      Handler: 'index.handler',
    });
  });

  it('is served from a public function URL that streams responses', () => {
    template.hasResourceProperties('AWS::Lambda::Url', {
      TargetFunctionArn: getAtt(proxyId),
      AuthType: 'NONE',
      InvokeMode: 'RESPONSE_STREAM',
    });
    // Auth NONE needs both permissions since October 2025.
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: getAtt(proxyId),
      Action: 'lambda:InvokeFunctionUrl',
      FunctionUrlAuthType: 'NONE',
      Principal: '*',
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: getAtt(proxyId),
      Action: 'lambda:InvokeFunction',
      InvokedViaFunctionUrl: true,
      Principal: '*',
    });
  });

  it('receives each resource under the variable name functions/config.ts reads', () => {
    const tableId = logicalIdOf(template, 'AWS::DynamoDB::Table');
    const usageStreamId = streamId('usage/');
    const topicId = logicalIdOf(template, 'AWS::SNS::Topic');
    const providerKeysId = logicalIdOf(template, 'AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('provider API keys'),
      SecretString: Match.anyValue(),
    });
    expect(template.toJSON().Resources[proxyId].Properties.Environment.Variables).toMatchObject({
      [ENV.table]: { Ref: tableId },
      [ENV.firehoseStream]: { Ref: usageStreamId },
      [ENV.telemetryStream]: { Ref: streamId('telemetry/') },
      [ENV.providerKeysSecretArn]: { Ref: providerKeysId },
      [ENV.snsTopicArn]: { Ref: topicId },
    });
  });

  it('can neither read the master key nor learn where it is kept', () => {
    const masterKeyId = logicalIdOf(template, 'AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.anyValue(),
    });
    const statements = statementsOf(template, roleOfFunction(template, proxyId));
    const env = template.toJSON().Resources[proxyId].Properties.Environment.Variables;
    expect(JSON.stringify(statements)).not.toContain(masterKeyId);
    expect(env[ENV.masterKeySecretArn]).toBeUndefined();
  });

  it('may put records on the usage and telemetry streams only, and has no statement on `*`', () => {
    const statements = statementsOf(template, roleOfFunction(template, proxyId));
    const firehose = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('firehose:')));
    expect(firehose).toEqual([
      {
        Effect: 'Allow',
        Action: 'firehose:PutRecordBatch',
        Resource: [getAtt(streamId('usage/')), getAtt(streamId('telemetry/'))],
      },
    ]);
    expect(statements.filter((s) => JSON.stringify(s.Resource).includes('"*"'))).toEqual([]);
  });

  it('may invoke the configured Claude models on Bedrock: each profile here, its model in the regions it routes to', () => {
    const statements = statementsOf(template, roleOfFunction(template, proxyId));
    const bedrock = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('bedrock:')));
    const arn = (...parts: unknown[]) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ...parts]],
    });
    const profile = (id: string) =>
      arn(':bedrock:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:inference-profile/${id}`);
    expect(bedrock).toHaveLength(1);
    expect(bedrock[0]!.Action).toEqual(['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream']);
    const resources = bedrock[0]!.Resource as unknown[];
    // A global profile routes anywhere; a US one within us-* only.
    expect(resources).toContainEqual(profile('global.anthropic.claude-sonnet-4-5-20250929-v1:0'));
    expect(resources).toContainEqual(
      arn(':bedrock:*::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0'),
    );
    expect(resources).toContainEqual(profile('us.anthropic.claude-opus-4-1-20250805-v1:0'));
    expect(resources).toContainEqual(
      arn(':bedrock:us-*::foundation-model/anthropic.claude-opus-4-1-20250805-v1:0'),
    );
    // No vendor-wide or profile-wide wildcard: every ARN names one model or one profile.
    expect(JSON.stringify(resources)).not.toMatch(/anthropic\.\*|inference-profile\/\*/);
    expect(resources).toHaveLength(2 * 7);
  });

  it('keeps the provider keys placeholder to the providers that take a key, so its text stays put', () => {
    const providerKeys = template.toJSON().Resources[
      logicalIdOf(template, 'AWS::SecretsManager::Secret', {
        Description: Match.stringLikeRegexp('provider API keys'),
      })
    ] as Resource;
    expect(Object.keys(JSON.parse(String(providerKeys.Properties.SecretString)))).toEqual([
      'OPENAI_API_KEY',
      'ANTHROPIC_API_KEY',
      'OPENROUTER_API_KEY',
      'MOONSHOT_API_KEY',
    ]);
  });

  it("publishes alerts with sns:Publish on the alert topic, and uses that topic's key alone", () => {
    const statements = statementsOf(template, roleOfFunction(template, proxyId));
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: 'sns:Publish',
      Resource: { Ref: logicalIdOf(template, 'AWS::SNS::Topic') },
    });
    expect(statements.filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')))).toEqual([
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: getAtt(logicalIdOf(template, 'AWS::KMS::Key')),
      },
    ]);
  });
});

describe('admin API', () => {
  it('is served buffered, with CORS for GET, POST and DELETE', () => {
    template.hasResourceProperties('AWS::Lambda::Url', {
      TargetFunctionArn: getAtt(adminId),
      AuthType: 'NONE',
      InvokeMode: 'BUFFERED',
      Cors: Match.objectLike({
        AllowMethods: ['GET', 'POST', 'DELETE'],
        AllowHeaders: Match.arrayWith(['authorization', 'content-type']),
        AllowOrigins: Match.anyValue(),
      }),
    });
  });

  it('receives the Athena workgroup, database and table it queries', () => {
    expect(template.toJSON().Resources[adminId].Properties.Environment.Variables).toMatchObject({
      [ENV.table]: { Ref: logicalIdOf(template, 'AWS::DynamoDB::Table') },
      [ENV.athenaWorkgroup]: { Ref: logicalIdOf(template, 'AWS::Athena::WorkGroup') },
      [ENV.athenaDatabase]: { Ref: logicalIdOf(template, 'AWS::Glue::Database') },
      [ENV.usageTable]: { Ref: logicalIdOf(template, 'AWS::Glue::Table', USAGE_TABLE) },
    });
  });

  it('starts Athena queries in the Tollgate workgroup only', () => {
    const workgroupId = logicalIdOf(template, 'AWS::Athena::WorkGroup');
    const athena = statementsOf(template, roleOfFunction(template, adminId)).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('athena:')),
    );
    expect(athena).toHaveLength(1);
    expect(actionsOf(athena[0]!)).toEqual([
      'athena:GetQueryExecution',
      'athena:GetQueryResults',
      'athena:StartQueryExecution',
    ]);
    expect(athena[0]!.Resource).toEqual({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':athena:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':workgroup/',
          { Ref: workgroupId },
        ],
      ],
    });
  });

  it('cannot read provider keys, write usage records or call Bedrock', () => {
    const statements = statementsOf(template, roleOfFunction(template, adminId));
    const providerKeysId = logicalIdOf(template, 'AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('provider API keys'),
      SecretString: Match.anyValue(),
    });
    expect(JSON.stringify(statements)).not.toContain(providerKeysId);
    expect(statements.flatMap(actionsOf).filter((a) => a.startsWith('firehose:'))).toEqual([]);
    expect(statements.flatMap(actionsOf).filter((a) => a.startsWith('bedrock:'))).toEqual([]);
    expect(statements.filter((s) => JSON.stringify(s.Resource) === '"*"')).toEqual([]);
  });
});

describe('budget table', () => {
  it('is an on-demand pk/sk table with TTL on expires_at, PITR, and retained on delete', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ]),
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      }),
    });
  });

  it('has the index recovery finds requests in flight by, the same as the local schema', () => {
    const table = template.findResources('AWS::DynamoDB::Table');
    const [properties] = Object.values(table).map((t) => t.Properties);
    expect(properties.GlobalSecondaryIndexes).toEqual(TABLE_SCHEMA.GlobalSecondaryIndexes);
  });
});

describe('usage lake', () => {
  it('derives the Glue columns from the usage record schema, with dt as the partition key', () => {
    const table =
      template.toJSON().Resources[logicalIdOf(template, 'AWS::Glue::Table', USAGE_TABLE)].Properties
        .TableInput;
    const columns = table.StorageDescriptor.Columns as Array<{ Name: string; Type: string }>;
    expect(columns.map((c) => c.Name)).toEqual(
      usageColumns()
        .map((c) => c.name)
        .filter((n) => n !== 'dt'),
    );
    expect(columns).toContainEqual({ Name: 'ts', Type: 'timestamp' });
    expect(columns).toContainEqual({ Name: 'tags', Type: 'array<string>' });
    expect(columns).toContainEqual({ Name: 'cost_micros', Type: 'bigint' });
    expect(columns).toContainEqual({ Name: 'stream', Type: 'boolean' });
    expect(table.PartitionKeys).toEqual([{ Name: 'dt', Type: 'string' }]);
    expect(table.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe(
      'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
    );
  });

  it('projects daily dt partitions onto the prefix Firehose writes', () => {
    const bucketId = idAt('UsageLake/Bucket');
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'usage',
        Parameters: Match.objectLike({
          'projection.enabled': 'true',
          'projection.dt.type': 'date',
          'projection.dt.format': 'yyyy-MM-dd',
          'projection.dt.range': '2025-01-01,NOW',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's placeholder syntax, not JavaScript.
          'storage.location.template': { 'Fn::Join': ['', ['s3://', { Ref: bucketId }, '/usage/dt=${dt}/']] },
        }),
      }),
    });
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      ExtendedS3DestinationConfiguration: Match.objectLike({
        BucketARN: getAtt(bucketId),
        Prefix: 'usage/dt=!{partitionKeyFromQuery:dt}/',
      }),
    });
  });

  it('keeps the daily aggregates in a table beside usage, projected by day and kind onto what UNLOAD writes', () => {
    const bucketId = idAt('UsageLake/Bucket');
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'usage_daily',
        PartitionKeys: [
          { Name: 'dt', Type: 'string' },
          { Name: 'kind', Type: 'string' },
        ],
        Parameters: Match.objectLike({
          'projection.dt.type': 'date',
          'projection.kind.type': 'enum',
          'projection.kind.values': Match.stringLikeRegexp('^spend,by_team,.*,latency$'),
          'storage.location.template': {
            // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's placeholder syntax, not JavaScript.
            'Fn::Join': ['', ['s3://', { Ref: bucketId }, '/aggregates/usage_daily/dt=${dt}/kind=${kind}/']],
          },
        }),
      }),
    });
  });

  it('partitions each record by its own dt, not by arrival time', () => {
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamType: 'DirectPut',
      ExtendedS3DestinationConfiguration: Match.objectLike({
        DynamicPartitioningConfiguration: { Enabled: true },
        ProcessingConfiguration: {
          Enabled: true,
          Processors: [
            {
              Type: 'MetadataExtraction',
              Parameters: Match.arrayWith([
                { ParameterName: 'MetadataExtractionQuery', ParameterValue: '{"dt":.dt}' },
                { ParameterName: 'JsonParsingEngine', ParameterValue: 'JQ-1.6' },
              ]),
            },
          ],
        },
        ErrorOutputPrefix: 'errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/',
      }),
    });
  });

  it('converts JSON to Parquet against the usage table, buffering 64 MiB or 300 s', () => {
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      ExtendedS3DestinationConfiguration: Match.objectLike({
        BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 300 },
        DataFormatConversionConfiguration: {
          Enabled: true,
          InputFormatConfiguration: { Deserializer: { OpenXJsonSerDe: {} } },
          OutputFormatConfiguration: { Serializer: { ParquetSerDe: {} } },
          SchemaConfiguration: Match.objectLike({
            DatabaseName: { Ref: logicalIdOf(template, 'AWS::Glue::Database') },
            TableName: { Ref: logicalIdOf(template, 'AWS::Glue::Table', USAGE_TABLE) },
          }),
        },
      }),
    });
  });

  it('gives Firehose a role limited to the lake bucket, the usage table and its log group', () => {
    const stream = template.toJSON().Resources[streamId('usage/')];
    const roleId = stream.Properties.ExtendedS3DestinationConfiguration.RoleARN['Fn::GetAtt'][0];
    const statements = statementsOf(template, roleId);
    const allowed = [
      idAt('UsageLake/Bucket'),
      logicalIdOf(template, 'AWS::Glue::Database'),
      logicalIdOf(template, 'AWS::Glue::Table', USAGE_TABLE),
      idAt('UsageLake/DeliveryLogs'),
    ];
    for (const s of statements) {
      const referenced = [...JSON.stringify(s.Resource).matchAll(/"(?:Ref|Fn::GetAtt)":\[?"([A-Za-z0-9]+)"/g)]
        .map((m) => m[1])
        .filter((id) => !id?.startsWith('AWS::'));
      expect(referenced.length, JSON.stringify(s)).toBeGreaterThan(0);
      for (const id of referenced) expect(allowed).toContain(id);
    }
    expect(statements.flatMap(actionsOf)).not.toContain('s3:DeleteObject');
    expect(statements.flatMap(actionsOf)).not.toContain('glue:GetSchemaVersion');
  });

  it('runs Athena engine v3 with enforced settings and a 10 GiB scan cutoff', () => {
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'tollgate',
      WorkGroupConfiguration: Match.objectLike({
        EnforceWorkGroupConfiguration: true,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        BytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        ResultConfiguration: Match.objectLike({
          OutputLocation: {
            'Fn::Join': ['', ['s3://', { Ref: idAt('UsageLake/QueryResults') }, '/results/']],
          },
        }),
      }),
    });
  });

  it('expires Athena query results after 30 days', () => {
    const results = template.toJSON().Resources[idAt('UsageLake/QueryResults')];
    expect(results.Properties.LifecycleConfiguration.Rules).toEqual([
      { ExpirationInDays: 30, Status: 'Enabled' },
    ]);
  });
});

describe('buckets', () => {
  it('block public access, encrypt, and refuse plain HTTP', () => {
    const buckets = Object.keys(template.findResources('AWS::S3::Bucket'));
    expect(buckets).toHaveLength(3);
    for (const id of buckets) {
      expect(template.toJSON().Resources[id].Properties).toMatchObject({
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
      });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });
});

describe('alerts', () => {
  it('encrypt the topic with a rotated key CloudWatch alarms may use, and refuse plain HTTP', () => {
    const keyId = logicalIdOf(template, 'AWS::KMS::Key');
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: getAtt(keyId) });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  const emailSubscriptions = (t: Template) =>
    Object.keys(t.findResources('AWS::SNS::Subscription', { Properties: { Protocol: 'email' } }));

  it('have no email subscription unless an address is given', () => {
    expect(emailSubscriptions(template)).toEqual([]);
  });

  it('subscribe the given email address', () => {
    const withEmail = Template.fromStack(buildStack({ alertEmail: 'finops@example.com' }));
    expect(emailSubscriptions(withEmail)).toHaveLength(1);
    withEmail.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'finops@example.com',
      TopicArn: { Ref: logicalIdOf(withEmail, 'AWS::SNS::Topic') },
    });
  });
});

describe('dashboard site', () => {
  it('serves the private bucket through CloudFront with Origin Access Control, HTTPS only', () => {
    const bucketId = idAt('Dashboard/Bucket');
    const oacId = logicalIdOf(template, 'AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({
        OriginAccessControlOriginType: 's3',
        SigningBehavior: 'always',
        SigningProtocol: 'sigv4',
      }),
    });
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: 'index.html',
        DefaultCacheBehavior: Match.objectLike({
          ViewerProtocolPolicy: 'redirect-to-https',
          ResponseHeadersPolicyId: { Ref: logicalIdOf(template, 'AWS::CloudFront::ResponseHeadersPolicy') },
        }),
        Origins: [
          Match.objectLike({
            DomainName: getAtt(bucketId, 'RegionalDomainName'),
            OriginAccessControlId: getAtt(oacId, 'Id'),
            S3OriginConfig: { OriginAccessIdentity: '' },
          }),
        ],
      }),
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: 's3:GetObject',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Condition: { StringEquals: { 'AWS:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it('deploys config.json and index.html carrying the admin API URL, then invalidates the distribution', () => {
    const adminUrlId = logicalIdOf(template, 'AWS::Lambda::Url', { TargetFunctionArn: getAtt(adminId) });
    template.hasResourceProperties('Custom::CDKBucketDeployment', {
      DestinationBucketName: { Ref: idAt('Dashboard/Bucket') },
      DistributionId: { Ref: logicalIdOf(template, 'AWS::CloudFront::Distribution') },
      DistributionPaths: ['/*'],
    });
    // The built dashboard less its index.html, the index.html with its CSP, and config.json: the last
    // two resolve the admin API's URL at deploy time.
    const deployment = Object.values(template.findResources('Custom::CDKBucketDeployment'))[0] as Resource;
    expect(deployment.Properties.SourceObjectKeys).toHaveLength(3);
    const markers = JSON.stringify(deployment.Properties.SourceMarkers);
    expect(markers.split(`"Fn::GetAtt":["${adminUrlId}","FunctionUrl"]`)).toHaveLength(3);
  });

  it('lets dashboard scripts talk only to their own origin and function URLs, and the page narrows that to the admin API', () => {
    const adminUrlId = logicalIdOf(template, 'AWS::Lambda::Url', { TargetFunctionArn: getAtt(adminId) });
    const policy =
      template.toJSON().Resources[logicalIdOf(template, 'AWS::CloudFront::ResponseHeadersPolicy')];
    const csp = JSON.stringify(policy.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig);
    expect(csp).toContain("default-src 'self'; connect-src 'self' https://*.lambda-url.");
    expect(csp).toContain("frame-ancestors 'none'");
    // The header names no function URL (the distribution must not wait on the admin API)...
    expect(csp).not.toContain(adminUrlId);
    // ...the page's own CSP names the admin API's origin, resolved at deploy time.
    const deployment = Object.values(template.findResources('Custom::CDKBucketDeployment'))[0] as Resource;
    const markers = deployment.Properties.SourceMarkers as Array<Record<string, unknown>>;
    const pageMarker = JSON.stringify(markers[1]);
    expect(pageMarker).toContain(`"Fn::GetAtt":["${adminUrlId}","FunctionUrl"]`);
  });
});

describe('stack outputs', () => {
  it('export what an operator needs after deploy', () => {
    expect(Object.keys(template.findOutputs('*')).sort()).toEqual([
      'AdminApiUrl',
      'AlertDeadLetterQueueUrl',
      'AthenaWorkgroup',
      'DashboardUrl',
      'MasterKeySecretArn',
      'ProviderKeysSecretArn',
      'ProxyUrl',
      'RollupFunctionName',
      'SlackWebhookSecretArn',
      'UsageBucket',
    ]);
    template.hasOutput('ProxyUrl', {
      Value: getAtt(
        logicalIdOf(template, 'AWS::Lambda::Url', { TargetFunctionArn: getAtt(proxyId) }),
        'FunctionUrl',
      ),
    });
  });
});

/** Logical id of the CloudFormation resource of the construct at `<stack>/<path>`. */
const idAt = (path: string) => idAtPath(stack, path);

describe('governance settings from CDK context', () => {
  it('reach the proxy and the admin API alike, and a bad value fails the synth', () => {
    // Prepare
    const governance = governanceEnvironment({ orgMaxBudget: '5000', budgetTimeZone: 'Europe/Berlin' });

    // Act
    const withOrg = Template.fromStack(buildStack({ governance }));
    const bad = () => governanceEnvironment({ budgetTimeZone: 'Mars/Olympus' });

    // Assess
    for (const description of [/^Tollgate proxy/, /^Tollgate admin API/]) {
      const id = functionIdOf(withOrg, description);
      expect(withOrg.toJSON().Resources[id].Properties.Environment.Variables).toMatchObject({
        TOLLGATE_ORG_MAX_BUDGET: '5000',
        TOLLGATE_BUDGET_TIMEZONE: 'Europe/Berlin',
      });
    }
    expect(bad).toThrow(/IANA time zone/);
  });

  it('carry routing rules to the proxy, checked at synth time against the catalog', async () => {
    // Prepare
    const rule = {
      name: 'fast',
      scope: 'global',
      condition: 'model == "fast"',
      targets: [{ model: 'claude-haiku-4-5' }],
    };
    const routingRules = JSON.stringify([rule]);

    // Act
    const governance = await functionEnvironment({ routingRules, routingMaxAttempts: '2' });
    const stack = Template.fromStack(buildStack({ governance }));
    const broken = () =>
      functionEnvironment({ routingRules: JSON.stringify([{ ...rule, condition: 'model ==' }]) });
    const unknown = () =>
      functionEnvironment({ routingRules: JSON.stringify([{ ...rule, targets: [{ model: 'gpt-9' }] }]) });

    // Assess
    const proxy = functionIdOf(stack, /^Tollgate proxy/);
    expect(stack.toJSON().Resources[proxy].Properties.Environment.Variables).toMatchObject({
      TOLLGATE_ROUTING_RULES_JSON: routingRules,
      TOLLGATE_ROUTING_MAX_ATTEMPTS: '2',
    });
    await expect(broken()).rejects.toThrow(/rule 'fast': The condition does not compile/);
    await expect(unknown()).rejects.toThrow(/cannot serve 'gpt-9'/);
  });
});

describe('rollup function', () => {
  let rollupId: string;
  beforeAll(() => {
    rollupId = functionIdOf(template, /^Tollgate rollup/);
  });

  it('runs every hour from an EventBridge schedule', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: Match.arrayWith([Match.objectLike({ Arn: getAtt(rollupId) })]),
    });
  });

  it('may only read its lake and write the one rollup object, the daily aggregates and (erasure) the partitions it rewrites, which the admin API may only read', () => {
    const lakeId = logicalIdOf(template, 'AWS::S3::Bucket', { VersioningConfiguration: Match.anyValue() });
    const s3 = (functionId: string) =>
      statementsOf(template, roleOfFunction(template, functionId)).filter((s) =>
        actionsOf(s).some((a) => a.startsWith('s3:')),
      );
    const writes = s3(rollupId).filter((s) => actionsOf(s).includes('s3:PutObject'));
    const rollupObject = { 'Fn::Join': ['', [getAtt(lakeId), '/rollups/latest.json']] };
    expect(writes.map((s) => s.Resource)).toContainEqual(rollupObject);
    const aggregates = { 'Fn::Join': ['', [getAtt(lakeId), '/aggregates/*']] };
    const objects = (pattern: string) => ({ 'Fn::Join': ['', [getAtt(lakeId), `/${pattern}`]] });
    expect(writes.filter((s) => JSON.stringify(s.Resource).includes(lakeId)).map((s) => s.Resource)).toEqual([
      rollupObject,
      // The aggregates, and an erasure's staging (both written by Athena's UNLOAD with this role).
      [aggregates, objects('erasure/*')],
      // The partitions an erasure rewrites.
      [objects('telemetry/*'), objects('usage/*')],
    ]);
    // The admin API reads the lake (Athena, the rollup object) and writes nothing there.
    const adminOnLake = s3(adminId).filter((s) => JSON.stringify(s.Resource).includes(lakeId));
    expect(JSON.stringify(adminOnLake)).toContain('/rollups/latest.json');
    expect(adminOnLake.flatMap(actionsOf).filter((a) => !/^s3:(Get|List)/.test(a))).toEqual([]);
    const dynamo = statementsOf(template, roleOfFunction(template, rollupId)).flatMap((s) =>
      actionsOf(s).filter((a) => a.startsWith('dynamodb:')),
    );
    // Its writes, each by leading key: alert claims, and recovery's settlements and forgotten in-flight items.
    const tableWrites = statementsOf(template, roleOfFunction(template, rollupId)).filter((s) =>
      actionsOf(s).some((a) => /^dynamodb:.*(Put|Update|Delete|Write)/.test(a)),
    );
    const leading = (action: string, ...prefixes: string[]) =>
      expect.objectContaining({
        Action: action,
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes } },
      });
    expect(tableWrites).toEqual([
      // Alert claims; an erasure job's item, the person's team memberships and its audit entry.
      leading('dynamodb:PutItem', 'ALERT#*', 'ERASURES', 'TEAMS', 'AUDIT#*'),
      // Recovery settles budget counters and gives back a dead request's parallel slots.
      leading('dynamodb:UpdateItem', 'BUDGET#*', 'PARALLEL#*'),
      // Recovery's in-flight items; an erased person's keys (record and lookup) and user record.
      leading('dynamodb:DeleteItem', 'INFLIGHT#*', 'KEYS', 'KEY#*', 'USERS'),
    ]);
    expect(dynamo.filter((a) => /Write/.test(a))).toEqual([]);
  });
});

describe('spilled usage records', () => {
  it('the proxy may write under spill/ only; the rollup function may read, remove and replay them', () => {
    // Prepare
    const lakeId = logicalIdOf(template, 'AWS::S3::Bucket', { VersioningConfiguration: Match.anyValue() });
    const spillObjects = { 'Fn::Join': ['', [getAtt(lakeId), '/spill/*']] };
    const rollupId = functionIdOf(template, /^Tollgate rollup/);
    const lakeStatements = (id: string) =>
      statementsOf(template, roleOfFunction(template, id)).filter((s) =>
        JSON.stringify(s.Resource).includes(lakeId),
      );

    // Act
    const proxy = lakeStatements(proxyId);
    const rollup = lakeStatements(rollupId);

    // Assess
    expect(proxy).toEqual([{ Effect: 'Allow', Action: 's3:PutObject', Resource: spillObjects }]);
    const onSpill = rollup.filter((s) => JSON.stringify(s.Resource) === JSON.stringify(spillObjects));
    expect(onSpill.flatMap(actionsOf).sort()).toEqual(['s3:DeleteObject', 's3:GetObject']);
    const firehose = statementsOf(template, roleOfFunction(template, rollupId)).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('firehose:')),
    );
    expect(firehose.map((s) => s.Resource)).toEqual([getAtt(streamId('usage/'))]);
  });
});

describe('telemetry lake', () => {
  it('derives its Glue columns from the telemetry record schema, partitioned by dt like usage', () => {
    const table =
      template.toJSON().Resources[logicalIdOf(template, 'AWS::Glue::Table', TELEMETRY_TABLE)].Properties
        .TableInput;
    const columns = table.StorageDescriptor.Columns as Array<{ Name: string; Type: string }>;
    expect(columns.map((c) => c.Name)).toEqual(
      telemetryColumns()
        .map((c) => c.name)
        .filter((n) => n !== 'dt'),
    );
    expect(columns).toContainEqual({ Name: 'value', Type: 'double' });
    expect(columns).toContainEqual({ Name: 'agent_cost_micros', Type: 'bigint' });
    expect(columns.map((c) => c.Name)).not.toContain('prompt');
    expect(table.PartitionKeys).toEqual([{ Name: 'dt', Type: 'string' }]);
  });

  it('has its own stream, converting to Parquet against its own table, errors outside its prefix', () => {
    const stream = template.toJSON().Resources[streamId('telemetry/')].Properties;
    const destination = stream.ExtendedS3DestinationConfiguration;
    expect(destination.ErrorOutputPrefix).toBe(
      'errors/telemetry/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/',
    );
    expect(destination.DataFormatConversionConfiguration.SchemaConfiguration.TableName).toEqual({
      Ref: logicalIdOf(template, 'AWS::Glue::Table', TELEMETRY_TABLE),
    });
  });

  it('gives its delivery role the telemetry prefixes and table, not usage', () => {
    const roleId =
      template.toJSON().Resources[streamId('telemetry/')].Properties.ExtendedS3DestinationConfiguration
        .RoleARN['Fn::GetAtt'][0];
    const statements = JSON.stringify(statementsOf(template, roleId));
    expect(statements).toContain('/telemetry/*');
    expect(statements).toContain(logicalIdOf(template, 'AWS::Glue::Table', TELEMETRY_TABLE));
    expect(statements).not.toContain('/usage/*');
    expect(statements).not.toContain(logicalIdOf(template, 'AWS::Glue::Table', USAGE_TABLE));
  });
});

describe('named Athena queries for analysts', () => {
  it('ship the rollup SQL in the workgroup, against the usage database', () => {
    const queries = Object.values(
      template.findResources('AWS::Athena::NamedQuery') as Record<string, Resource>,
    );
    expect(queries.length).toBe(17);
    const names = queries.map((q) => String(q.Properties.Name));
    expect(names).toContain('Tollgate spend by team per day');
    expect(names).toContain('Tollgate agent sessions: outcomes and billed cost');
    expect(names).toContain('Tollgate weekly active people by team');
    for (const q of queries) {
      expect(q.Properties).toMatchObject({
        WorkGroup: { Ref: logicalIdOf(template, 'AWS::Athena::WorkGroup') },
      });
      expect(String(q.Properties.QueryString)).toMatch(/PARTITION BY dt, request_id/);
      expect(String(q.Properties.QueryString)).toMatch(/dt BETWEEN \? AND \?/);
    }
  });
});

describe('Slack forwarder', () => {
  let forwarderId: string;
  beforeAll(() => {
    forwarderId = functionIdOf(template, /^Tollgate Slack forwarder/);
  });

  it('is subscribed to the alerts topic, retried twice, and dead-letters what still fails', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      Endpoint: getAtt(forwarderId),
      TopicArn: { Ref: logicalIdOf(template, 'AWS::SNS::Topic') },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 2 });
    const queueId = idAt('Slack/DeadLetters');
    expect(template.toJSON().Resources[forwarderId].Properties.DeadLetterConfig).toEqual({
      TargetArn: getAtt(queueId),
    });
  });

  it('may read only its own secret and the rollup object, and write nothing', () => {
    const webhookId = logicalIdOf(template, 'AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('Slack incoming webhook'),
    });
    const statements = statementsOf(template, roleOfFunction(template, forwarderId));
    const secrets = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));
    expect(secrets.map((s) => s.Resource)).toEqual([{ Ref: webhookId }]);
    // Top spenders come from the rollup object: no Athena, no Glue, no write anywhere.
    const lakeId = logicalIdOf(template, 'AWS::S3::Bucket', { VersioningConfiguration: Match.anyValue() });
    const queueId = idAt('Slack/DeadLetters');
    expect(statements.filter((s) => !actionsOf(s).some((a) => a.startsWith('secretsmanager:')))).toEqual([
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: getAtt(queueId) },
      {
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: { 'Fn::Join': ['', [getAtt(lakeId), '/rollups/latest.json']] },
      },
    ]);
  });
});
