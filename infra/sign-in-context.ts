import { readFileSync } from 'node:fs';
import { mappingsFromConfig } from '../functions/core/auth/groups.ts';

/** A Cognito pool federated with a SAML IdP: any of these asks for it. */
const SAML_KEYS = [
  'samlMetadataUrl',
  'samlMetadataFile',
  'samlEmailAttribute',
  'samlGroupsAttribute',
] as const;
/** The org's OIDC IdP: any of these asks for it. */
const OIDC_IDP_KEYS = [
  'oidcIssuer',
  'oidcClientId',
  'oidcClientSecretArn',
  'oidcScopes',
  'oidcGroupsClaim',
] as const;

/**
 * Sign-in with the organisation's IdP, as `cdk deploy -c signIn=cognito|oidc -c oidcIssuer=...` takes it
 * (or, for a Cognito pool federated over SAML, `-c signIn=cognito -c samlMetadataUrl=...`).
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
  ...SAML_KEYS,
] as const;

/** What the two kinds share: the pool's domain, the group mapping, the master key's switch. */
interface SignInCommon {
  /** TOLLGATE_OIDC_GROUP_MAP, checked here. */
  groupMapJson: string | undefined;
  /** `cognito`: the prefix of the pool's hosted domain (`<prefix>.auth.<region>.amazoncognito.com`). */
  domainPrefix: string | undefined;
  /** `-c masterKey=off`: the admin API refuses the master key (needs a group mapped to proxy_admin). */
  masterKeyOff: boolean;
}

/**
 * `cognito`: a Cognito user pool in the stack, federated with the org's IdP over OIDC (`federation:
 * 'oidc'`) or SAML (`federation: 'saml'`), and the gateway signs people in through the pool.
 * `oidc`: the gateway signs people in with the org's OIDC IdP directly.
 */
export type SignInSettings = SignInCommon & (OidcFederation | SamlFederation);

export interface SamlFederation {
  kind: 'cognito';
  federation: 'saml';
  /** The org's SAML IdP, described by its metadata: fetched by Cognito from a URL, or a file read at synth. */
  saml: {
    metadata: { url: string } | { file: string; xml: string };
    /** The SAML attribute holding a person's email (Okta: as named in the app's attribute statements). */
    emailAttribute: string;
    /** The SAML attribute listing a person's groups (multi-valued). */
    groupsAttribute: string;
  };
}

interface OidcFederation {
  kind: 'cognito' | 'oidc';
  federation: 'oidc';
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
  type Key = (typeof SIGN_IN_CONTEXT)[number];
  const required = (name: Key, why: string) => {
    const value = text(name);
    if (!value) throw new Error(`${name}: needed with signIn=${kind} (${why})`);
    return value;
  };
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
  const common = { groupMapJson, domainPrefix, masterKeyOff: masterKey === 'off' };

  const asked = (keys: readonly Key[]) => keys.filter((k) => text(k) !== undefined);
  const saml = asked(SAML_KEYS);
  if (saml.length > 0) {
    if (kind !== 'cognito')
      throw new Error(
        `${saml.join(', ')}: SAML federation needs signIn=cognito (the pool speaks SAML, Tollgate OIDC)`,
      );
    const oidc = asked(OIDC_IDP_KEYS);
    if (oidc.length > 0)
      throw new Error(
        `signIn=cognito: federate with one IdP, OIDC (${oidc.join(', ')}) or SAML (${saml.join(', ')}), not both`,
      );
    return { kind, federation: 'saml', saml: samlFederation(text), ...common };
  }
  if (kind === 'cognito' && asked(OIDC_IDP_KEYS).length === 0)
    throw new Error(
      'signIn=cognito: needs an IdP to federate with, OIDC (oidcIssuer, oidcClientId, oidcClientSecretArn) or SAML (samlMetadataUrl or samlMetadataFile)',
    );

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
  return {
    kind,
    federation: 'oidc',
    issuer,
    clientId: required('oidcClientId', 'the client registered at the IdP'),
    clientSecretArn,
    scopes: text('oidcScopes') ?? 'openid email profile',
    groupsClaim: text('oidcGroupsClaim') ?? 'groups',
    ...common,
  };
}

/**
 * The SAML IdP's metadata (a URL Cognito fetches, or a file read now and put in the template) and the
 * attributes that carry a person's email and groups. The defaults are the names an Okta app's attribute
 * statements are usually given; Entra ID sends its claim URIs unless they are renamed (README, Sign-in).
 */
function samlFederation(
  text: (name: (typeof SAML_KEYS)[number]) => string | undefined,
): SamlFederation['saml'] {
  const url = text('samlMetadataUrl');
  const file = text('samlMetadataFile');
  if (url === undefined && file === undefined)
    throw new Error(
      "samlMetadataUrl or samlMetadataFile: needed for SAML federation (the IdP's metadata), got neither",
    );
  if (url !== undefined && file !== undefined)
    throw new Error("samlMetadataUrl, samlMetadataFile: give the SAML IdP's metadata one way, not both");
  let metadata: SamlFederation['saml']['metadata'];
  if (url !== undefined) {
    if (!/^https:\/\/[^\s/]+/.test(url) || !URL.canParse(url))
      throw new Error(`samlMetadataUrl: expected an https URL, got '${url}'`);
    metadata = { url };
  } else {
    const path = file as string;
    let xml: string;
    try {
      xml = readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(
        `samlMetadataFile: cannot read '${path}' (${(err as NodeJS.ErrnoException).code ?? err})`,
      );
    }
    if (!/<([\w-]+:)?EntityDescriptor[\s>]/.test(xml))
      throw new Error(`samlMetadataFile: '${path}' is not SAML metadata (no EntityDescriptor element)`);
    metadata = { file: path, xml };
  }
  return {
    metadata,
    emailAttribute: text('samlEmailAttribute') ?? 'email',
    groupsAttribute: text('samlGroupsAttribute') ?? 'groups',
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
