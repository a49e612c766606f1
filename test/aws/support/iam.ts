/**
 * IAM enforced on moto, and each role of the template made there with exactly its policies.
 *
 * moto enforces IAM once its count of unauthenticated calls reaches `INITIAL_NO_AUTH_ACTION_COUNT`
 * (infinite by default). `POST /moto-api/reset-auth` with a number sets that count at runtime and
 * restarts it (moto/moto_api/_internal/responses.py). The run makes one operator user with an
 * allow-everything policy while enforcement is off, then sets the count to 0: from then on every call —
 * the test's own, as the operator, and every function's — is signed by a known key and checked against
 * its principal's policies. moto knows no account root: a key that is not an IAM user's or an assumed
 * role's is refused (InvalidClientTokenId).
 *
 * What moto 5.2 checks (moto/iam/access_control.py, moto/core/responses.py), and so what a policy
 * given to it means here:
 * - the action, always: `service:Action` from the credential scope and the operation name;
 * - the resource, for S3 only (bucket and object ARNs, `arn:aws:s3:::bucket/key`), SQS (the queue
 *   ARN) and IAM/STS (roles). Every other service hands the check `*`, which a statement naming an ARN
 *   does not match: such a statement would refuse every call. So for DynamoDB, Firehose, SNS, Secrets
 *   Manager, Athena, Bedrock, CloudFront, KMS and the rest, the role's statements are given to moto with
 *   `Resource: "*"` — moto checks that the action is granted, not on what;
 * - conditions never (a condition key it is not handed counts as met): `dynamodb:LeadingKeys` and the
 *   like are not checked;
 * - an explicit Deny wins, as on AWS; resource-based policies (bucket, key, topic policies) are not read.
 */
import { createHash } from 'node:crypto';
import {
  AttachRolePolicyCommand,
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  IAMClient,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { ACCOUNT, type Credentials, DUMMY_CREDENTIALS, REGION } from './moto.ts';
import type { CfnProps, Template } from './template.ts';

/** The services whose calls moto checks against a statement's Resource (see above). */
export const RESOURCE_CHECKED_BY_MOTO = new Set(['s3', 'sqs', 'iam', 'sts']);

const OPERATOR = 'tollgate-test-operator';

/**
 * Makes the operator (allowed everything) and turns enforcement on. Returns the operator's
 * credentials: what the test's own clients sign with from then on.
 */
export async function enforceIam(endpoint: string): Promise<Credentials> {
  const iam = new IAMClient({ region: REGION, endpoint, credentials: DUMMY_CREDENTIALS });
  await iam.send(new CreateUserCommand({ UserName: OPERATOR }));
  await iam.send(
    new PutUserPolicyCommand({
      UserName: OPERATOR,
      PolicyName: 'everything',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
      }),
    }),
  );
  const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: OPERATOR }));
  if (!AccessKey?.AccessKeyId || !AccessKey.SecretAccessKey) throw new Error('moto made no access key');
  const res = await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' });
  if (!res.ok) throw new Error(`turning IAM enforcement on: ${res.status} ${await res.text()}`);
  return { accessKeyId: AccessKey.AccessKeyId, secretAccessKey: AccessKey.SecretAccessKey };
}

export interface PolicyStatement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, unknown>;
}

export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement[];
}

/** A role's permissions as the template gives them: its inline and attached policies. */
export interface RolePolicies {
  /** `AWS::IAM::Policy` and `AWS::IAM::ManagedPolicy` resources naming the role, and its own `Policies`. */
  documents: Array<{ name: string; document: unknown }>;
  /** `ManagedPolicyArns` (unresolved, as in the template). */
  managed: unknown[];
}

const refersTo = (value: unknown, id: string) => JSON.stringify(value) === JSON.stringify({ Ref: id });

export function rolePolicies(template: Template, roleId: string): RolePolicies {
  const role = template.Resources[roleId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleId} is not a role`);
  const props = (role.Properties ?? {}) as CfnProps;
  const documents: RolePolicies['documents'] = (props.Policies ?? []).map(
    (p: { PolicyName: string; PolicyDocument: unknown }) => ({
      name: p.PolicyName,
      document: p.PolicyDocument,
    }),
  );
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::IAM::Policy' && r.Type !== 'AWS::IAM::ManagedPolicy') continue;
    const p = (r.Properties ?? {}) as CfnProps;
    if ((p.Roles ?? []).some((ref: unknown) => refersTo(ref, roleId)))
      documents.push({ name: id, document: p.PolicyDocument });
  }
  return { documents, managed: props.ManagedPolicyArns ?? [] };
}

const serviceOf = (action: string) => action.split(':')[0] ?? '';
const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * A resolved policy as moto can check it: each statement split by service, and the Resource of the
 * services moto does not check by resource widened to `*` (it would refuse them all otherwise).
 */
export function asMotoChecksIt(doc: PolicyDocument): PolicyDocument {
  const statements: PolicyStatement[] = [];
  for (const s of doc.Statement) {
    const byService = new Map<string, string[]>();
    for (const action of list(s.Action)) {
      const service = action === '*' ? '*' : serviceOf(action);
      byService.set(service, [...(byService.get(service) ?? []), action]);
    }
    for (const [service, actions] of byService) {
      const keep = RESOURCE_CHECKED_BY_MOTO.has(service);
      statements.push({ ...s, Action: actions, Resource: keep ? list(s.Resource) : '*' });
    }
  }
  return { Version: '2012-10-17', Statement: statements };
}

export interface EmulatedRole {
  logicalId: string;
  /** The role's CDK path, e.g. `Tollgate/Proxy/Function/ServiceRole/Resource`: how failures name it. */
  path: string;
  name: string;
  arn: string;
  /** What the role's policies are on AWS, references resolved. */
  policies: Array<{ name: string; document: PolicyDocument }>;
  credentials: Credentials;
}

/**
 * Every `AWS::IAM::Role` of the template made on moto with its policies (resolved, then as moto checks
 * them) and its managed policies attached, and assumed by the operator: the credentials Lambda would
 * hand a function of that role. The trust policy is not the template's: there the Lambda (or Firehose)
 * service assumes the role, here the operator does.
 */
export async function createRoles(opts: {
  endpoint: string;
  operator: Credentials;
  template: Template;
  suffix: string;
  resolve: (value: unknown) => unknown;
}): Promise<Map<string, EmulatedRole>> {
  const common = { region: REGION, endpoint: opts.endpoint, credentials: opts.operator };
  const iam = new IAMClient(common);
  const sts = new STSClient(common);
  const operatorArn = `arn:aws:iam::${ACCOUNT}:user/${OPERATOR}`;
  const roles = new Map<string, EmulatedRole>();
  for (const [id, r] of Object.entries(opts.template.Resources)) {
    if (r.Type !== 'AWS::IAM::Role') continue;
    const hash = createHash('sha256').update(id).digest('hex').slice(0, 8);
    const name = `tg-${opts.suffix}-${id.slice(0, 40)}-${hash}`;
    const { Role } = await iam.send(
      new CreateRoleCommand({
        RoleName: name,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: operatorArn }, Action: 'sts:AssumeRole' }],
        }),
      }),
    );
    const given = rolePolicies(opts.template, id);
    const policies = given.documents.map(({ name: policyName, document }) => ({
      name: policyName,
      document: opts.resolve(document) as PolicyDocument,
    }));
    for (const p of policies)
      await iam.send(
        new PutRolePolicyCommand({
          RoleName: name,
          PolicyName: p.name.slice(0, 128),
          PolicyDocument: JSON.stringify(asMotoChecksIt(p.document)),
        }),
      );
    // AWS managed policies exist on moto when it runs with MOTO_IAM_LOAD_MANAGED_POLICIES=true.
    for (const arn of given.managed)
      await iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: String(opts.resolve(arn)) }));
    const { Credentials: c } = await sts.send(
      new AssumeRoleCommand({ RoleArn: Role?.Arn, RoleSessionName: id.slice(0, 64) }),
    );
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) throw new Error(`assuming ${id} failed`);
    roles.set(id, {
      logicalId: id,
      path: String(r.Metadata?.['aws:cdk:path'] ?? id),
      name,
      arn: Role?.Arn ?? '',
      policies,
      credentials: {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
      },
    });
  }
  return roles;
}

/** The role a function runs as: its `Role` property, `Fn::GetAtt [role, Arn]`. */
export function roleOfFunction(template: Template, functionId: string): string {
  const role = (template.Resources[functionId]?.Properties as CfnProps | undefined)?.Role;
  const id = role?.['Fn::GetAtt']?.[0];
  if (typeof id !== 'string') throw new Error(`${functionId} has no role of this template`);
  return id;
}
