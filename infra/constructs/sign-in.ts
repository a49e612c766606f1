import { Aws, RemovalPolicy, SecretValue, Stack } from 'aws-cdk-lib';
import {
  FeaturePlan,
  type IUserPoolIdentityProvider,
  OAuthScope,
  ProviderAttribute,
  StringAttribute,
  UserPool,
  type UserPoolClient,
  UserPoolClientIdentityProvider,
  UserPoolIdentityProviderOidc,
  UserPoolIdentityProviderSaml,
  UserPoolIdentityProviderSamlMetadata,
} from 'aws-cdk-lib/aws-cognito';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import {
  AwsCustomResource,
  AwsCustomResourcePolicy,
  Logging,
  PhysicalResourceId,
} from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { ENV } from '../../functions/config.ts';
import type { SamlFederation, SignInSettings } from '../sign-in-context.ts';
import { acknowledge, LAMBDA_BASIC_EXECUTION_FINDING } from './nag.ts';
import { allow } from './node-function.ts';

/** The org's IdP as the user pool names it; the gateway asks Cognito for it by this name. */
const FEDERATED_IDP_NAME = 'org';

export interface SignInProps {
  readonly settings: SignInSettings;
  /** The dashboard's URL (`https://<distribution>`): the callback is `<it>/auth/callback`. */
  readonly dashboardUrl: string;
}

/**
 * Sign-in with the organisation's IdP for the dashboard and the admin API. `cognito`: a user pool
 * federated with the org's OIDC IdP (its client secret read from Secrets Manager at deploy time) or
 * its SAML IdP (from its metadata), a hosted domain, and an app client whose only callback is the
 * dashboard's; its id and secret are written into a secret of the stack, read by the admin function
 * at cold start (naming them in the function's environment would make it wait on the distribution,
 * which waits on the function's URL).
 * `oidc`: the admin function signs people in with the org's IdP directly.
 */
export class SignIn extends Construct {
  public readonly userPool?: UserPool;
  public readonly appClient?: UserPoolClient;
  /** What the admin function reads at cold start: the client secret, or `{client_id, client_secret}`. */
  public readonly clientSecretArn: string;
  /** `<dashboard>/auth/callback`: registered on the app client (cognito), or at the IdP by the operator (oidc). */
  public readonly callbackUrl: string;
  /** The environment the admin function needs. */
  public readonly environment: Record<string, string>;
  /**
   * SAML federation: what the org's IdP needs to know of the pool, its entity id
   * (`urn:amazon:cognito:sp:<pool id>`) and its assertion consumer service URL.
   */
  public readonly samlServiceProvider?: { entityId: string; acsUrl: string };

  constructor(scope: Construct, id: string, props: SignInProps) {
    super(scope, id);
    const { settings } = props;
    this.callbackUrl = `${props.dashboardUrl}/auth/callback`;
    const shared = {
      ...(settings.groupMapJson && { [ENV.oidcGroupMap]: settings.groupMapJson }),
      [ENV.trustForwardedHost]: 'true',
      ...(settings.masterKeyOff && { [ENV.masterKeyOff]: 'true' }),
    };
    if (settings.kind === 'oidc') {
      this.clientSecretArn = settings.clientSecretArn;
      this.environment = {
        ...shared,
        [ENV.oidcIssuer]: settings.issuer,
        [ENV.oidcClientId]: settings.clientId,
        [ENV.oidcClientSecretArn]: settings.clientSecretArn,
        [ENV.oidcScopes]: settings.scopes,
        [ENV.oidcGroupsClaim]: settings.groupsClaim,
      };
      return;
    }
    const pool = this.federatedPool(settings);
    const client = this.appClient!;
    const secret = new Secret(this, 'AppClient', {
      description: "Tollgate's Cognito app client: {client_id, client_secret}, written at deploy",
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.writeClientSecret(secret, client, pool);
    this.clientSecretArn = secret.secretArn;
    this.environment = {
      ...shared,
      [ENV.oidcIssuer]: `https://cognito-idp.${Aws.REGION}.amazonaws.com/${pool.userPoolId}`,
      [ENV.oidcClientSecretArn]: secret.secretArn,
      [ENV.oidcScopes]: 'openid email profile',
      // The org's groups reach the pool's ID token through a custom attribute.
      [ENV.oidcGroupsClaim]: 'custom:groups',
      // Straight to the org's IdP: the pool's own page would only show one button for it.
      [ENV.oidcIdentityProvider]: FEDERATED_IDP_NAME,
    };
    acknowledge(
      secret,
      "Cognito issues the app client's secret; it is rewritten on each deploy, not rotated.",
      'AwsSolutions-SMG4',
    );
  }

  /** The admin function may read the client secret. */
  grantRead(fn: IFunction): void {
    allow(fn, ['secretsmanager:GetSecretValue'], [this.clientSecretArn]);
  }

  private federatedPool(settings: SignInSettings): UserPool {
    const pool = new UserPool(this, 'Users', {
      // People come from the org's IdP only: no sign-up, no passwords of the pool's own in use.
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      customAttributes: { groups: new StringAttribute({ mutable: true, maxLen: 2048 }) },
      passwordPolicy: {
        minLength: 14,
        requireDigits: true,
        requireLowercase: true,
        requireUppercase: true,
        requireSymbols: true,
      },
      featurePlan: FeaturePlan.ESSENTIALS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    (this as { userPool?: UserPool }).userPool = pool;
    const idp =
      settings.federation === 'saml'
        ? this.samlIdp(pool, settings.saml, settings.domainPrefix ?? '')
        : new UserPoolIdentityProviderOidc(this, 'OrgIdp', {
            userPool: pool,
            name: FEDERATED_IDP_NAME,
            issuerUrl: settings.issuer,
            clientId: settings.clientId,
            // A dynamic reference: CloudFormation reads the secret at deploy; the template never holds it.
            clientSecret: SecretValue.secretsManager(settings.clientSecretArn).unsafeUnwrap(),
            scopes: settings.scopes.split(/\s+/),
            attributeMapping: {
              email: ProviderAttribute.other('email'),
              fullname: ProviderAttribute.other('name'),
              custom: { 'custom:groups': ProviderAttribute.other(settings.groupsClaim) },
            },
          });
    pool.addDomain('Domain', { cognitoDomain: { domainPrefix: settings.domainPrefix ?? '' } });
    const client = pool.addClient('Dashboard', {
      generateSecret: true,
      authFlows: {},
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
        callbackUrls: [this.callbackUrl],
        logoutUrls: [`${this.callbackUrl.replace(/\/auth\/callback$/, '')}/`],
      },
      supportedIdentityProviders: [UserPoolClientIdentityProvider.custom(idp.providerName)],
    });
    client.node.addDependency(idp);
    (this as { appClient?: UserPoolClient }).appClient = client;
    acknowledge(
      pool,
      "People sign in through the org's IdP, which owns MFA and risk checks; the pool holds no passwords in use.",
      'AwsSolutions-COG2',
      'AwsSolutions-COG3',
      'AwsSolutions-COG8',
    );
    return pool;
  }

  /**
   * The org's SAML IdP on the pool. Its groups reach the ID token through the same `custom:groups`
   * attribute as an OIDC IdP's (Cognito writes a multi-valued SAML attribute as `[a, b]`, which the
   * gateway splits). https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-saml-idp.html
   */
  private samlIdp(
    pool: UserPool,
    saml: SamlFederation['saml'],
    domainPrefix: string,
  ): IUserPoolIdentityProvider {
    const { metadata } = saml;
    (this as { samlServiceProvider?: { entityId: string; acsUrl: string } }).samlServiceProvider = {
      entityId: `urn:amazon:cognito:sp:${pool.userPoolId}`,
      acsUrl: `https://${domainPrefix}.auth.${Aws.REGION}.amazoncognito.com/saml2/idpresponse`,
    };
    return new UserPoolIdentityProviderSaml(this, 'OrgSamlIdp', {
      userPool: pool,
      name: FEDERATED_IDP_NAME,
      metadata:
        'url' in metadata
          ? UserPoolIdentityProviderSamlMetadata.url(metadata.url)
          : UserPoolIdentityProviderSamlMetadata.file(metadata.xml),
      attributeMapping: {
        email: ProviderAttribute.other(saml.emailAttribute),
        custom: { 'custom:groups': ProviderAttribute.other(saml.groupsAttribute) },
      },
    });
  }

  /** `{client_id, client_secret}` into the stack's secret, once the app client exists. */
  private writeClientSecret(secret: Secret, client: UserPoolClient, pool: UserPool): void {
    const value = Stack.of(this).toJsonString({
      client_id: client.userPoolClientId,
      client_secret: client.userPoolClientSecret.unsafeUnwrap(),
    });
    const call = {
      service: 'SecretsManager',
      action: 'putSecretValue',
      parameters: { SecretId: secret.secretArn, SecretString: value },
      physicalResourceId: PhysicalResourceId.of(`${pool.node.addr}-app-client`),
      // The secret must not reach the custom resource's logs.
      logging: Logging.withDataHidden(),
    };
    const writer = new AwsCustomResource(this, 'WriteAppClient', {
      onCreate: call,
      onUpdate: call,
      policy: AwsCustomResourcePolicy.fromSdkCalls({ resources: [secret.secretArn] }),
      installLatestAwsSdk: false,
    });
    writer.node.addDependency(client);
    // AwsCustomResource's handler is a CDK-managed singleton function at stack level.
    const handler = Stack.of(this).node.children.find((c) =>
      c.node.id.startsWith('AWS679f53fac002430cb0da5b7982bd2287'),
    );
    if (handler)
      acknowledge(
        handler,
        "CDK AwsCustomResource handler, managed by aws-cdk-lib: its logging role; its one call is scoped to the app client's secret.",
        LAMBDA_BASIC_EXECUTION_FINDING,
      );
  }
}
