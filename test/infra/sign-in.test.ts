import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { scimTokenSecretArn, signInSettings } from '../../infra/sign-in-context.ts';
import { buildStack, functionIdOf, logicalIdOf, type Resource, statementsOf } from './template.ts';

const IDP_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:tollgate-idp-AbCdEf';
const CONTEXT = {
  oidcIssuer: 'https://login.example.com/oauth2/default',
  oidcClientId: 'tollgate-client',
  oidcClientSecretArn: IDP_SECRET,
  oidcGroupMap:
    '[{"group":"eng-platform","team_id":"platform"},{"group":"tollgate-admins","role":"proxy_admin"}]',
};

function synth(context: Record<string, string>) {
  const stack = buildStack({ signIn: signInSettings(context) });
  const report = new AwsSolutionsChecks(stack.node.scope as never).validateScope(stack);
  return { template: Template.fromStack(stack), report };
}

const adminEnv = (template: Template) =>
  (template.toJSON().Resources[functionIdOf(template, /admin API/)] as Resource).Properties.Environment as {
    Variables: Record<string, unknown>;
  };
const distribution = (template: Template) =>
  (Object.values(template.findResources('AWS::CloudFront::Distribution'))[0] as Resource).Properties
    .DistributionConfig as { CacheBehaviors?: Array<Record<string, unknown>> };

describe('sign-in with a Cognito user pool federated with the org IdP (-c signIn=cognito)', () => {
  let template: Template;
  let report: ReturnType<AwsSolutionsChecks['validateScope']>;
  beforeAll(() => {
    ({ template, report } = synth({ ...CONTEXT, signIn: 'cognito', cognitoDomainPrefix: 'acme-tollgate' }));
  });

  it('makes a user pool no one signs up to, federated with the IdP, its secret read from Secrets Manager at deploy', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      Schema: Match.arrayWith([
        Match.objectLike({ Name: 'groups', AttributeDataType: 'String', Mutable: true }),
      ]),
    });
    template.hasResourceProperties('AWS::Cognito::UserPoolIdentityProvider', {
      ProviderType: 'OIDC',
      ProviderName: 'org',
      ProviderDetails: Match.objectLike({
        client_id: 'tollgate-client',
        client_secret: `{{resolve:secretsmanager:${IDP_SECRET}:SecretString:::}}`,
        oidc_issuer: CONTEXT.oidcIssuer,
      }),
      AttributeMapping: { email: 'email', name: 'name', 'custom:groups': 'groups' },
    });
    template.hasResourceProperties('AWS::Cognito::UserPoolDomain', { Domain: 'acme-tollgate' });
  });

  it("registers the dashboard's /auth/callback as the app client's only callback, code flow only, through the org IdP", () => {
    const distributionId = logicalIdOf(template, 'AWS::CloudFront::Distribution');
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: true,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthScopes: ['openid', 'email', 'profile'],
      CallbackURLs: [
        {
          'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }, '/auth/callback']],
        },
      ],
      SupportedIdentityProviders: [{ Ref: logicalIdOf(template, 'AWS::Cognito::UserPoolIdentityProvider') }],
    });
  });

  it('gives the admin function the pool as its issuer and the app client through a secret it alone may read', () => {
    const env = adminEnv(template).Variables;
    const pool = logicalIdOf(template, 'AWS::Cognito::UserPool');
    expect(JSON.stringify(env.TOLLGATE_OIDC_ISSUER)).toContain(pool);
    expect(env.TOLLGATE_OIDC_GROUPS_CLAIM).toBe('custom:groups');
    expect(env.TOLLGATE_OIDC_IDENTITY_PROVIDER).toBe('org');
    expect(env.TOLLGATE_TRUST_FORWARDED_HOST).toBe('true');
    expect(env.TOLLGATE_OIDC_GROUP_MAP).toBe(CONTEXT.oidcGroupMap);
    const secret = logicalIdOf(template, 'AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('app client'),
    });
    expect(env.TOLLGATE_OIDC_CLIENT_SECRET_ARN).toEqual({ Ref: secret });
    const role = (template.toJSON().Resources[functionIdOf(template, /admin API/)] as Resource).Properties
      .Role as { 'Fn::GetAtt': [string] };
    const reads = statementsOf(template, role['Fn::GetAtt'][0]).filter((s) =>
      [s.Action].flat().includes('secretsmanager:GetSecretValue'),
    );
    expect(reads.flatMap((s) => [s.Resource].flat())).toContainEqual({ Ref: secret });
  });

  it("serves the admin API from the dashboard's origin, uncached, with the viewer's host forwarded and no CORS", () => {
    const behaviours = distribution(template).CacheBehaviors ?? [];
    expect(behaviours.map((b) => b.PathPattern)).toEqual(
      expect.arrayContaining(['/auth/*', '/api/*', '/key/*', '/sso/*', '/team/*', '/user/*']),
    );
    for (const b of behaviours) {
      expect(b).toMatchObject({
        ViewerProtocolPolicy: 'https-only',
        AllowedMethods: expect.arrayContaining(['POST', 'DELETE']),
        CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad', // Managed-CachingDisabled
        OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac', // AllViewerExceptHostHeader
      });
      expect(b.FunctionAssociations).toEqual([expect.objectContaining({ EventType: 'viewer-request' })]);
    }
    const url = Object.values(template.findResources('AWS::Lambda::Url') as Record<string, Resource>).find(
      (u) => JSON.stringify(u.Properties.TargetFunctionArn).includes(functionIdOf(template, /admin API/)),
    );
    expect(url?.Properties.Cors).toBeUndefined();
  });

  it('writes the app client id and secret into the secret with its data kept out of the logs', () => {
    const writer = Object.values(template.findResources('Custom::AWS') as Record<string, Resource>).find(
      (r) => JSON.stringify(r.Properties.Create).includes('putSecretValue'),
    );
    expect(JSON.stringify(writer?.Properties.Create)).toContain('\\"logApiResponseData\\":false');
  });

  it('passes cdk-nag with every finding acknowledged with a reason', () => {
    expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources[0]?.constructPath}`)).toEqual(
      [],
    );
  });
});

describe('sign-in with the org IdP directly (-c signIn=oidc)', () => {
  it('makes no user pool and gives the admin function the IdP and its secret', () => {
    const { template, report } = synth({ ...CONTEXT, signIn: 'oidc' });
    template.resourceCountIs('AWS::Cognito::UserPool', 0);
    const env = adminEnv(template).Variables;
    expect(env).toMatchObject({
      TOLLGATE_OIDC_ISSUER: CONTEXT.oidcIssuer,
      TOLLGATE_OIDC_CLIENT_ID: 'tollgate-client',
      TOLLGATE_OIDC_CLIENT_SECRET_ARN: IDP_SECRET,
    });
    expect(report.violations).toEqual([]);
  });

  it('turns the master key off in the admin function with -c masterKey=off', () => {
    const { template } = synth({ ...CONTEXT, signIn: 'oidc', masterKey: 'off' });
    expect(adminEnv(template).Variables.TOLLGATE_MASTER_KEY_OFF).toBe('true');
  });
});

describe('sign-in with a Cognito user pool federated with a SAML IdP (-c signIn=cognito -c samlMetadataUrl)', () => {
  const METADATA_URL = 'https://acme.okta.com/app/exk1a2b3c4d5e6f7g8h9/sso/saml/metadata';
  const SAML = {
    oidcGroupMap: CONTEXT.oidcGroupMap,
    signIn: 'cognito',
    cognitoDomainPrefix: 'acme-tollgate',
    samlMetadataUrl: METADATA_URL,
  };
  let template: Template;
  let report: ReturnType<AwsSolutionsChecks['validateScope']>;
  beforeAll(() => {
    ({ template, report } = synth(SAML));
  });

  it("federates the pool with the IdP's metadata URL, its email and groups attributes mapped as the OIDC variant maps them", () => {
    // Assess
    template.resourceCountIs('AWS::Cognito::UserPoolIdentityProvider', 1);
    template.hasResourceProperties('AWS::Cognito::UserPoolIdentityProvider', {
      ProviderType: 'SAML',
      ProviderName: 'org',
      ProviderDetails: { MetadataURL: METADATA_URL },
      AttributeMapping: { email: 'email', 'custom:groups': 'groups' },
    });
  });

  it("lets the app client sign in through the SAML IdP only, back to the dashboard's /auth/callback", () => {
    // Prepare
    const distributionId = logicalIdOf(template, 'AWS::CloudFront::Distribution');
    const provider = logicalIdOf(template, 'AWS::Cognito::UserPoolIdentityProvider');

    // Assess
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      AllowedOAuthFlows: ['code'],
      CallbackURLs: [
        {
          'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }, '/auth/callback']],
        },
      ],
      SupportedIdentityProviders: [{ Ref: provider }],
    });
    const client = Object.values(template.findResources('AWS::Cognito::UserPoolClient'))[0] as Resource & {
      DependsOn?: string[];
    };
    expect(client.DependsOn).toContain(provider);
  });

  it('gives the admin function the pool as its issuer and its groups from custom:groups, with no IdP secret to read', () => {
    // Act
    const env = adminEnv(template).Variables;

    // Assess
    expect(JSON.stringify(env.TOLLGATE_OIDC_ISSUER)).toContain(
      logicalIdOf(template, 'AWS::Cognito::UserPool'),
    );
    expect(env.TOLLGATE_OIDC_GROUPS_CLAIM).toBe('custom:groups');
    expect(JSON.stringify(template.toJSON())).not.toContain('resolve:secretsmanager');
  });

  it("outputs the entity id and the ACS URL the IdP's app needs", () => {
    // Act
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const pool = logicalIdOf(template, 'AWS::Cognito::UserPool');

    // Assess
    expect(outputs.SamlEntityId?.Value).toEqual({
      'Fn::Join': ['', ['urn:amazon:cognito:sp:', { Ref: pool }]],
    });
    expect(outputs.SamlAcsUrl?.Value).toEqual({
      'Fn::Join': [
        '',
        ['https://acme-tollgate.auth.', { Ref: 'AWS::Region' }, '.amazoncognito.com/saml2/idpresponse'],
      ],
    });
  });

  it('passes cdk-nag with every finding acknowledged with a reason', () => {
    expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources[0]?.constructPath}`)).toEqual(
      [],
    );
  });

  it('puts a metadata file read at synth into the template, with the attributes Entra ID sends', () => {
    // Prepare
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-saml-')), 'entra.xml');
    const xml =
      '<?xml version="1.0"?><EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sts.windows.net/t/"></EntityDescriptor>';
    writeFileSync(file, xml);
    const EMAIL = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress';
    const GROUPS = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups';

    // Act
    const { template: fromFile } = synth({
      ...SAML,
      samlMetadataUrl: '',
      samlMetadataFile: file,
      samlEmailAttribute: EMAIL,
      samlGroupsAttribute: GROUPS,
    });

    // Assess
    fromFile.hasResourceProperties('AWS::Cognito::UserPoolIdentityProvider', {
      ProviderType: 'SAML',
      ProviderDetails: { MetadataFile: xml },
      AttributeMapping: { email: EMAIL, 'custom:groups': GROUPS },
    });
  });
});

describe('sign-in settings from context', () => {
  it('is off by default, and the stack is as before: no pool, the admin API on its own URL', () => {
    const template = Template.fromStack(buildStack());
    template.resourceCountIs('AWS::Cognito::UserPool', 0);
    expect(distribution(template).CacheBehaviors).toBeUndefined();
    expect(signInSettings({})).toBeUndefined();
  });

  it.each([
    [{ ...CONTEXT, signIn: 'saml' }, /signIn: expected cognito, oidc or off/],
    [
      { ...CONTEXT, signIn: 'oidc', oidcIssuer: 'http://login.example.com' },
      /oidcIssuer: expected an https URL/,
    ],
    [
      { ...CONTEXT, signIn: 'oidc', oidcClientSecretArn: 'hunter2' },
      /oidcClientSecretArn: expected arn:aws:secretsmanager/,
    ],
    [{ ...CONTEXT, signIn: 'cognito' }, /cognitoDomainPrefix: needed with signIn=cognito/],
    [{ ...CONTEXT, signIn: 'cognito', cognitoDomainPrefix: 'my-cognito' }, /without aws, amazon or cognito/],
    [{ ...CONTEXT, signIn: 'oidc', oidcGroupMap: '[{"group":"x"}]' }, /TOLLGATE_OIDC_GROUP_MAP: entry 1/],
    [
      { ...CONTEXT, signIn: 'oidc', masterKey: 'off', oidcGroupMap: '[{"group":"eng","team_id":"eng"}]' },
      /masterKey=off: needs a group mapped to proxy_admin/,
    ],
    [
      {
        ...CONTEXT,
        signIn: 'cognito',
        cognitoDomainPrefix: 'acme',
        samlMetadataUrl: 'https://idp.example/md',
      },
      /^signIn=cognito: federate with one IdP, OIDC \(oidcIssuer, oidcClientId, oidcClientSecretArn\) or SAML \(samlMetadataUrl\), not both$/,
    ],
    [
      { signIn: 'cognito', cognitoDomainPrefix: 'acme', oidcGroupMap: CONTEXT.oidcGroupMap },
      /^signIn=cognito: needs an IdP to federate with, OIDC \(.*\) or SAML \(samlMetadataUrl or samlMetadataFile\)$/,
    ],
    [
      { signIn: 'cognito', cognitoDomainPrefix: 'acme', samlGroupsAttribute: 'memberOf' },
      /^samlMetadataUrl or samlMetadataFile: needed for SAML federation \(the IdP's metadata\), got neither$/,
    ],
    [
      { signIn: 'cognito', cognitoDomainPrefix: 'acme', samlMetadataFile: '/nonexistent/idp.xml' },
      /^samlMetadataFile: cannot read '\/nonexistent\/idp.xml' \(ENOENT\)$/,
    ],
    [
      { signIn: 'cognito', cognitoDomainPrefix: 'acme', samlMetadataUrl: 'http://idp.example/md' },
      /^samlMetadataUrl: expected an https URL/,
    ],
    [
      { signIn: 'oidc', samlMetadataUrl: 'https://idp.example/md' },
      /^samlMetadataUrl: SAML federation needs signIn=cognito/,
    ],
  ])('refuses a mistake at synth: %j', (context, message) => {
    expect(() => signInSettings(context)).toThrow(message);
  });
});

describe('SCIM deprovisioning (-c scimTokenSecretArn)', () => {
  const SCIM_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:tollgate-scim-AbCdEf';
  let template: Template;
  beforeAll(() => {
    const stack = buildStack({
      signIn: signInSettings({ ...CONTEXT, signIn: 'oidc' }),
      scimTokenSecretArn: scimTokenSecretArn({ scimTokenSecretArn: SCIM_SECRET }),
    });
    template = Template.fromStack(stack);
  });

  it('gives the admin function the secret holding the IdP token, and leave to read that one secret', () => {
    // Act
    const env = adminEnv(template).Variables;
    const role = (template.toJSON().Resources[functionIdOf(template, /admin API/)] as Resource).Properties
      .Role as { 'Fn::GetAtt': [string] };
    const reads = statementsOf(template, role['Fn::GetAtt'][0]).filter((s) =>
      [s.Action].flat().includes('secretsmanager:GetSecretValue'),
    );

    // Assess
    expect(env.TOLLGATE_SCIM_TOKEN_SECRET_ARN).toBe(SCIM_SECRET);
    expect(env.TOLLGATE_SCIM_TOKEN).toBeUndefined();
    expect(reads.flatMap((s) => [s.Resource].flat())).toContain(SCIM_SECRET);
  });

  it("serves /scim/* from the dashboard's origin, and its viewer function passes on the viewer's address", () => {
    // Act
    const paths = (distribution(template).CacheBehaviors ?? []).map((b) => b.PathPattern);
    const code = Object.values(
      template.findResources('AWS::CloudFront::Function') as Record<string, Resource>,
    )
      .map((f) => String(f.Properties.FunctionCode))
      .join('\n');

    // Assess
    expect(paths).toContain('/scim/*');
    expect(code).toContain("r.headers['x-tollgate-viewer-address'] = { value: event.viewer.ip }");
  });

  it('leaves SCIM off without the setting, and refuses a setting that is not a secret ARN', () => {
    // Act
    const env = adminEnv(synth({ ...CONTEXT, signIn: 'oidc' }).template).Variables;

    // Assess
    expect(env.TOLLGATE_SCIM_TOKEN_SECRET_ARN).toBeUndefined();
    expect(() => scimTokenSecretArn({ scimTokenSecretArn: 'hunter2' })).toThrow(
      /scimTokenSecretArn: expected arn:aws:secretsmanager/,
    );
    expect(scimTokenSecretArn({})).toBeUndefined();
  });
});
