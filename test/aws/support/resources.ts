/**
 * The stack's resources created on moto from the synthesized template's own properties (moto's
 * CloudFormation does not know AWS::Lambda::Url, so the template is not deployed): the table with its
 * key schema, indexes and TTL; the buckets; the Firehose stream as configured; the alert topic, with an
 * SQS queue subscribed where the email would be; the Athena workgroup; the secrets. References in the
 * template (Ref, Fn::GetAtt, Fn::Join, Fn::Sub) resolve to what was created, and a function's
 * environment resolves strictly: a variable naming a resource the emulator did not create fails.
 */
import { AthenaClient, CreateWorkGroupCommand } from '@aws-sdk/client-athena';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DynamoDBClient,
  UpdateContinuousBackupsCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateDeliveryStreamCommand,
  type CreateDeliveryStreamCommandInput,
  FirehoseClient,
} from '@aws-sdk/client-firehose';
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  GetRandomPasswordCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createRoles, type EmulatedRole, roleOfFunction } from './iam.ts';
import { ACCOUNT, type AwsEndpoint, type Credentials, REGION } from './moto.ts';
import type { CfnProps, CfnResource, Template } from './template.ts';

/** What a reference to a resource resolves to: its `Ref` value and its `Fn::GetAtt` attributes. */
interface Physical {
  ref: string;
  attrs: Record<string, string>;
}

/** SDK clients pointed at the recording proxy: the test's own (the operator's) or a role's. */
export function clients(moto: AwsEndpoint, credentials: Credentials = moto.credentials) {
  const common = { region: REGION, endpoint: moto.endpoint, credentials };
  return {
    dynamo: new DynamoDBClient(common),
    s3: new S3Client({ ...common, forcePathStyle: true }),
    firehose: new FirehoseClient(common),
    sns: new SNSClient(common),
    sqs: new SQSClient(common),
    secrets: new SecretsManagerClient(common),
    athena: new AthenaClient(common),
  };
}
export type Clients = ReturnType<typeof clients>;

/** A CloudFront distribution is not emulated; alerts only link its domain. */
const OUTSIDE_THE_EMULATOR: Record<string, (id: string) => Physical> = {
  'AWS::CloudFront::Distribution': (id) => ({
    ref: id,
    attrs: { DomainName: `${id.toLowerCase().slice(0, 12)}.cloudfront.example` },
  }),
};

export interface Deployment {
  template: Template;
  /** Physical ids by logical id, for everything created (and the few things outside the emulator). */
  physical: Map<string, Physical>;
  /** The SQS queue subscribed to the alert topic in place of the email address. */
  alertInboxUrl: string;
  resolve(value: unknown): unknown;
  /** Creates a Firehose stream again as the template configures it, after a test deleted it. */
  recreate(logicalId: string): Promise<void>;
  /** A function's `Environment.Variables`, every reference resolved to an emulated resource. */
  functionEnvironment(logicalId: string): Record<string, string>;
  /** Every role of the template, made on moto with its policies and assumed (iam.ts), by logical id. */
  roles: Map<string, EmulatedRole>;
  /** The role a function runs as. */
  roleOf(functionLogicalId: string): EmulatedRole;
  /** The role or user an access key belongs to, for naming the caller of a refused call. */
  principalOf(accessKeyId: string): string;
}

/**
 * Creates every emulated resource of the template. `suffix` keeps the names of two deployments on one
 * moto apart (one per Node line).
 */
export async function deploy(moto: AwsEndpoint, template: Template, suffix: string): Promise<Deployment> {
  const c = clients(moto);
  const physical = new Map<string, Physical>();
  const name = (id: string) => `tg-${suffix}-${id}`.slice(0, 63);
  const resolver = makeResolver(template, physical);
  const of = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
  const props = (r: CfnResource) => (r.Properties ?? {}) as CfnProps;

  for (const [id, r] of of('AWS::S3::Bucket')) {
    const bucket = name(id).toLowerCase();
    await c.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    if (props(r).VersioningConfiguration?.Status === 'Enabled')
      await c.s3.send(
        new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
      );
    physical.set(id, {
      ref: bucket,
      attrs: { Arn: `arn:aws:s3:::${bucket}`, DomainName: `${bucket}.s3.amazonaws.com` },
    });
  }

  for (const [id, r] of of('AWS::DynamoDB::Table')) {
    const p = props(r);
    const table = name(id);
    const input: CreateTableCommandInput = {
      TableName: table,
      AttributeDefinitions: p.AttributeDefinitions,
      KeySchema: p.KeySchema,
      BillingMode: p.BillingMode,
      GlobalSecondaryIndexes: p.GlobalSecondaryIndexes,
    };
    await c.dynamo.send(new CreateTableCommand(input));
    const ttl = p.TimeToLiveSpecification as { AttributeName: string; Enabled: boolean } | undefined;
    if (ttl)
      await c.dynamo.send(new UpdateTimeToLiveCommand({ TableName: table, TimeToLiveSpecification: ttl }));
    if (p.PointInTimeRecoverySpecification?.PointInTimeRecoveryEnabled)
      await c.dynamo.send(
        new UpdateContinuousBackupsCommand({
          TableName: table,
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        }),
      );
    physical.set(id, {
      ref: table,
      attrs: { Arn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${table}` },
    });
  }

  for (const [id, r] of of('AWS::SecretsManager::Secret')) {
    const p = props(r);
    let secret = p.SecretString as string | undefined;
    if (secret === undefined && p.GenerateSecretString) {
      const g = p.GenerateSecretString;
      const out = await c.secrets.send(
        new GetRandomPasswordCommand({
          PasswordLength: g.PasswordLength,
          ExcludePunctuation: g.ExcludePunctuation,
          IncludeSpace: g.IncludeSpace,
        }),
      );
      secret = out.RandomPassword;
    }
    const out = await c.secrets.send(
      new CreateSecretCommand({ Name: name(id), Description: p.Description, SecretString: secret }),
    );
    physical.set(id, { ref: out.ARN ?? '', attrs: {} });
  }

  for (const [id, r] of of('AWS::SQS::Queue')) {
    physical.set(id, await createQueue(c.sqs, name(id), props(r)));
  }

  const inbox = await createQueue(c.sqs, name('AlertInbox'), {});
  for (const [id, r] of of('AWS::SNS::Topic')) {
    const p = props(r);
    const attributes: Record<string, string> = {};
    if (p.DisplayName) attributes.DisplayName = p.DisplayName;
    if (p.KmsMasterKeyId) attributes.KmsMasterKeyId = String(resolver(p.KmsMasterKeyId, false));
    const out = await c.sns.send(new CreateTopicCommand({ Name: name(id), Attributes: attributes }));
    const arn = out.TopicArn ?? '';
    physical.set(id, { ref: arn, attrs: { TopicArn: arn, TopicName: name(id) } });
    // The email subscription of a deployment, in a form a test can read back.
    await c.sns.send(new SubscribeCommand({ TopicArn: arn, Protocol: 'sqs', Endpoint: inbox.attrs.Arn }));
  }

  // Named in the template itself; moto's Athena does not check them, so they are not created.
  for (const [id, r] of of('AWS::Glue::Database'))
    physical.set(id, { ref: props(r).DatabaseInput.Name, attrs: {} });
  for (const [id, r] of of('AWS::Glue::Table'))
    physical.set(id, { ref: props(r).TableInput.Name, attrs: {} });

  for (const [id, r] of of('AWS::Athena::WorkGroup')) {
    const p = resolver(props(r), false) as CfnProps;
    const workgroup = `${p.Name}-${suffix}`;
    const config = p.WorkGroupConfiguration ?? {};
    await c.athena.send(
      new CreateWorkGroupCommand({
        Name: workgroup,
        Description: p.Description,
        Configuration: {
          EnforceWorkGroupConfiguration: config.EnforceWorkGroupConfiguration,
          BytesScannedCutoffPerQuery: config.BytesScannedCutoffPerQuery,
          PublishCloudWatchMetricsEnabled: config.PublishCloudWatchMetricsEnabled,
          EngineVersion: config.EngineVersion,
          ResultConfiguration: config.ResultConfiguration,
        },
      }),
    );
    physical.set(id, { ref: workgroup, attrs: {} });
  }

  const streams = new Map<string, CfnProps>();
  for (const [id, r] of of('AWS::KinesisFirehose::DeliveryStream')) {
    const p = resolver(props(r), false) as CfnProps;
    const stream = name(id);
    await createDeliveryStream(c.firehose, stream, p);
    streams.set(id, p);
    physical.set(id, {
      ref: stream,
      attrs: { Arn: `arn:aws:firehose:${REGION}:${ACCOUNT}:deliverystream/${stream}` },
    });
  }

  for (const [id, r] of Object.entries(template.Resources)) {
    const outside = OUTSIDE_THE_EMULATOR[r.Type];
    if (outside) physical.set(id, outside(id));
  }

  // Last, so every policy's references resolve to what was made; lenient, as some name log groups and
  // the CDK assets bucket, which are not made (moto checks those statements by action only, iam.ts).
  const roles = await createRoles({
    endpoint: moto.endpoint,
    operator: moto.credentials,
    template,
    suffix,
    resolve: (value) => resolver(value, false),
  });
  const roleOf = (functionLogicalId: string) => {
    const role = roles.get(roleOfFunction(template, functionLogicalId));
    if (!role) throw new Error(`the role of ${functionLogicalId} was not made on the emulator`);
    return role;
  };

  return {
    roles,
    roleOf,
    principalOf(accessKeyId) {
      if (accessKeyId === moto.credentials.accessKeyId) return 'the test operator';
      for (const role of roles.values()) if (role.credentials.accessKeyId === accessKeyId) return role.path;
      return `an unknown key (${accessKeyId})`;
    },
    template,
    physical,
    alertInboxUrl: inbox.ref,
    resolve: (value) => resolver(value, true),
    async recreate(logicalId) {
      const stream = physical.get(logicalId)?.ref;
      const p = streams.get(logicalId);
      if (!stream || !p) throw new Error(`${logicalId} is not a delivery stream of this deployment`);
      await createDeliveryStream(c.firehose, stream, p);
    },
    functionEnvironment(logicalId) {
      const fn = template.Resources[logicalId];
      if (fn?.Type !== 'AWS::Lambda::Function') throw new Error(`${logicalId} is not a function`);
      const vars = (props(fn).Environment?.Variables ?? {}) as Record<string, unknown>;
      return Object.fromEntries(
        Object.entries(vars).map(([k, v]) => [k, String(resolver(v, true, `${logicalId} ${k}`))]),
      );
    },
  };
}

/** The stream exactly as the template configures it (names resolved), for recreating it after a fault. */
async function createDeliveryStream(
  firehose: FirehoseClient,
  stream: string,
  resolvedProps: CfnProps,
): Promise<void> {
  const input: CreateDeliveryStreamCommandInput = {
    DeliveryStreamName: stream,
    DeliveryStreamType: resolvedProps.DeliveryStreamType,
    ExtendedS3DestinationConfiguration: resolvedProps.ExtendedS3DestinationConfiguration,
    DeliveryStreamEncryptionConfigurationInput: resolvedProps.DeliveryStreamEncryptionConfigurationInput,
  };
  await firehose.send(new CreateDeliveryStreamCommand(input));
}

async function createQueue(sqs: SQSClient, queueName: string, p: CfnProps): Promise<Physical> {
  const attributes: Record<string, string> = {};
  if (p.MessageRetentionPeriod) attributes.MessageRetentionPeriod = String(p.MessageRetentionPeriod);
  if (p.SqsManagedSseEnabled) attributes.SqsManagedSseEnabled = 'true';
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: queueName, Attributes: attributes }),
  );
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  return { ref: QueueUrl ?? '', attrs: { Arn: Attributes?.QueueArn ?? '', QueueName: queueName } };
}

const PSEUDO: Record<string, string> = {
  'AWS::AccountId': ACCOUNT,
  'AWS::Region': REGION,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'Tollgate',
};

/**
 * Resolves CloudFormation intrinsics against what was created. Strict: a reference to a resource the
 * emulator did not create throws, naming it. Lenient (for properties of resources being created, which
 * also name roles and log groups moto does not check): such a reference stays its logical id.
 */
function makeResolver(template: Template, physical: Map<string, Physical>) {
  const resolve = (value: unknown, strict: boolean, where = ''): unknown => {
    if (Array.isArray(value)) return value.map((v) => resolve(v, strict, where));
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    const missing = (id: string, what: string) => {
      if (!strict) return id;
      const type = template.Resources[id]?.Type ?? 'no such resource';
      throw new Error(`${where}: ${what} of ${id} (${type}), which the emulator has not created`);
    };
    if ('Ref' in obj) {
      const id = String(obj.Ref);
      return PSEUDO[id] ?? physical.get(id)?.ref ?? missing(id, 'Ref');
    }
    if ('Fn::GetAtt' in obj) {
      const [id = '', attr = ''] = obj['Fn::GetAtt'] as string[];
      return physical.get(id)?.attrs[attr] ?? missing(id, `Fn::GetAtt ${attr}`);
    }
    if ('Fn::Join' in obj) {
      const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
      return parts.map((p) => String(resolve(p, strict, where))).join(sep);
    }
    if ('Fn::Sub' in obj) {
      const text = obj['Fn::Sub'];
      if (typeof text !== 'string') throw new Error(`${where}: Fn::Sub with variables is not supported`);
      return text.replace(/\$\{([^}]+)\}/g, (_, ref: string) =>
        String(resolve(ref.includes('.') ? { 'Fn::GetAtt': ref.split('.') } : { Ref: ref }, strict, where)),
      );
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, resolve(v, strict, where)]));
  };
  return resolve;
}
