import { mappingsFromConfig } from '../functions/core/auth/groups.ts';

/**
 * Sign-in with the organisation's IdP, as `cdk deploy -c signIn=cognito|oidc -c oidcIssuer=...` takes it.
 * Off without `signIn`. The names are these keys; see `signInSettings`.
 */
export const SIGN_IN_CONTEXT = [
  'signIn',
  'oidcIssuer',
  'oidcClientId',
  'oidcClientSecretArn',
  'oidcScopes',
  'oidcGroupsClaim',
  'oidcGroupMap',
  'cognitoDomainPrefix',
  'masterKey',
] as const;

export interface SignInSettings {
  /**
   * `cognito`: a Cognito user pool in the stack, federated with the org's OIDC IdP, and the gateway
   * signs people in through the pool. `oidc`: the gateway signs people in with the IdP directly.
   */
  kind: 'cognito' | 'oidc';
  /** The org's IdP. */
  issuer: string;
  /** The client the org registered for Tollgate (Cognito's, in `cognito` mode) at the IdP. */
  clientId: string;
  /** A Secrets Manager secret holding that client's secret (plain text). */
  clientSecretArn: string;
  /** Scopes asked of the org's IdP. */
  scopes: string;
  /** The claim listing a person's groups at the org's IdP. */
  groupsClaim: string;
  /** TOLLGATE_OIDC_GROUP_MAP, checked here. */
  groupMapJson: string | undefined;
  /** `cognito`: the prefix of the pool's hosted domain (`<prefix>.auth.<region>.amazoncognito.com`). */
  domainPrefix: string | undefined;
  /** `-c masterKey=off`: the admin API refuses the master key (needs a group mapped to proxy_admin). */
  masterKeyOff: boolean;
}

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/;
const DOMAIN_PREFIX = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** The sign-in settings from context, checked so that a mistake fails the synth; undefined when off. */
export function signInSettings(context: Record<string, unknown>): SignInSettings | undefined {
  const text = (name: (typeof SIGN_IN_CONTEXT)[number]) => {
    const v = context[name];
    return v === undefined || v === null || String(v).trim() === '' ? undefined : String(v).trim();
  };
  const kind = text('signIn');
  if (kind === undefined || kind === 'off') return undefined;
  if (kind !== 'cognito' && kind !== 'oidc')
    throw new Error(`signIn: expected cognito, oidc or off, got '${kind}'`);
  const required = (name: (typeof SIGN_IN_CONTEXT)[number], why: string) => {
    const value = text(name);
    if (!value) throw new Error(`${name}: needed with signIn=${kind} (${why})`);
    return value;
  };
  const issuer = required('oidcIssuer', "the org's IdP, https://...");
  if (!/^https:\/\/[^\s/]+/.test(issuer))
    throw new Error(`oidcIssuer: expected an https URL, got '${issuer}'`);
  const clientSecretArn = required(
    'oidcClientSecretArn',
    "a Secrets Manager secret holding the client's secret",
  );
  if (!SECRET_ARN.test(clientSecretArn))
    throw new Error(
      `oidcClientSecretArn: expected arn:aws:secretsmanager:<region>:<account>:secret:<name>, got '${clientSecretArn}'`,
    );
  const domainPrefix = kind === 'cognito' ? required('cognitoDomainPrefix', 'the hosted domain') : undefined;
  if (
    domainPrefix !== undefined &&
    (!DOMAIN_PREFIX.test(domainPrefix) || /aws|amazon|cognito/.test(domainPrefix))
  )
    throw new Error(
      `cognitoDomainPrefix: expected lower-case letters, digits and hyphens, without aws, amazon or cognito, got '${domainPrefix}'`,
    );
  const groupMapJson = text('oidcGroupMap');
  const mappings = mappingsFromConfig(groupMapJson);
  const masterKey = text('masterKey') ?? 'on';
  if (masterKey !== 'on' && masterKey !== 'off')
    throw new Error(`masterKey: expected on or off, got '${masterKey}'`);
  if (masterKey === 'off' && !mappings.some((m) => m.role === 'proxy_admin'))
    throw new Error(
      'masterKey=off: needs a group mapped to proxy_admin in oidcGroupMap, or no one could administer',
    );
  return {
    kind,
    issuer,
    clientId: required('oidcClientId', 'the client registered at the IdP'),
    clientSecretArn,
    scopes: text('oidcScopes') ?? 'openid email profile',
    groupsClaim: text('oidcGroupsClaim') ?? 'groups',
    groupMapJson,
    domainPrefix,
    masterKeyOff: masterKey === 'off',
  };
}

/** SCIM deprovisioning from the org's IdP, as `cdk deploy -c scimTokenSecretArn=arn:...` takes it. */
export const SCIM_CONTEXT = ['scimTokenSecretArn'] as const;

/**
 * The secret holding the token the IdP presents on `/scim/v2/` (a plain string of at least 32
 * characters, created by the operator); undefined leaves SCIM off. Checked so a mistake fails the synth.
 */
export function scimTokenSecretArn(context: Record<string, unknown>): string | undefined {
  const v = context.scimTokenSecretArn;
  const arn = v === undefined || v === null ? '' : String(v).trim();
  if (arn === '') return undefined;
  if (!SECRET_ARN.test(arn))
    throw new Error(
      `scimTokenSecretArn: expected arn:aws:secretsmanager:<region>:<account>:secret:<name>, got '${arn}'`,
    );
  return arn;
}
