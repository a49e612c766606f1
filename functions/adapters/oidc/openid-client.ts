/**
 * The IdentityProvider port over openid-client (v6): discovery, the authorization code flow with
 * PKCE, and the ID token's checks. openid-client checks `iss`, `aud`, `azp`, `exp`, `iat` and the
 * nonce; its non-repudiation option adds the signature against the issuer's JWKS, which the library
 * skips by default for tokens fetched over TLS (https://github.com/panva/openid-client, "Advanced
 * Configuration"). Tollgate wants that check everywhere, loopback test IdPs included.
 */
import * as oidc from 'openid-client';
import {
  type IdentityClaims,
  type IdentityProvider,
  IdentityRefused,
  IdentityUnavailable,
  type SignInChecks,
} from '../../core/ports/identity.ts';

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string | undefined;
  scopes: string;
  /** The claim that lists a person's groups (`groups`, `cognito:groups`...). */
  groupsClaim: string;
  /** `identity_provider` on the authorization request (Cognito: skip its page, go to the org's IdP). */
  identityProvider?: string | undefined;
}

/**
 * The issuer is discovered at the first sign-in, not at start, and again after a failed discovery: an
 * IdP that is down stops sign-in only, never the gateway or the admin API's keys. A plain-http issuer
 * is accepted only on a loopback address (tests, a local IdP).
 */
export function createOidcProvider(settings: OidcSettings): IdentityProvider {
  const server = new URL(settings.issuer);
  const execute = [oidc.enableNonRepudiationChecks];
  if (server.protocol === 'http:' && isLoopback(server.hostname)) execute.push(oidc.allowInsecureRequests);
  const auth = settings.clientSecret ? oidc.ClientSecretBasic(settings.clientSecret) : oidc.None();
  let discovered: Promise<oidc.Configuration> | undefined;
  const configuration = () => {
    discovered ??= oidc
      .discovery(server, settings.clientId, undefined, auth, { execute })
      .catch((err: unknown) => {
        discovered = undefined;
        throw new IdentityUnavailable(`The identity provider at ${settings.issuer} could not be reached.`, {
          cause: err,
        });
      });
    return discovered;
  };

  return {
    issuer: settings.issuer,
    async beginSignIn(redirectUri) {
      const config = await configuration();
      const checks: SignInChecks = {
        state: oidc.randomState(),
        nonce: oidc.randomNonce(),
        codeVerifier: oidc.randomPKCECodeVerifier(),
      };
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: settings.scopes,
        response_type: 'code',
        state: checks.state,
        nonce: checks.nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(checks.codeVerifier),
        code_challenge_method: 'S256',
        ...(settings.identityProvider && { identity_provider: settings.identityProvider }),
      });
      return { url: url.href, checks };
    },
    async completeSignIn(callbackUrl, checks) {
      const config = await configuration();
      let claims: oidc.IDToken | undefined;
      try {
        const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: checks.codeVerifier,
          expectedState: checks.state,
          expectedNonce: checks.nonce,
          idTokenExpected: true,
        });
        claims = tokens.claims();
      } catch (err) {
        throw new IdentityRefused(describeFailure(err), { cause: err });
      }
      if (!claims) throw new IdentityRefused('The identity provider sent no ID token.');
      return identityOf(claims, settings.groupsClaim);
    },
  };
}

function identityOf(claims: oidc.IDToken, groupsClaim: string): IdentityClaims {
  const groups = claims[groupsClaim];
  const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);
  return {
    issuer: claims.iss,
    subject: claims.sub,
    email: text(claims.email)?.toLowerCase() ?? null,
    name: text(claims.name),
    groups: groupsOf(groups),
  };
}

/**
 * A list of group names; Cognito passes a federated IdP's groups through a custom attribute, a string
 * (`[eng, admins]` or `eng,admins`), so a string is split on commas.
 */
function groupsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string');
  if (typeof value !== 'string') return [];
  return value
    .replace(/^\s*\[|\]\s*$/g, '')
    .split(',')
    .map((g) => g.trim().replace(/^"|"$/g, ''))
    .filter((g) => g !== '');
}

/** The library's reason, without the token or the code (its messages name the claim that failed). */
function describeFailure(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? `${message} (${code})` : message;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}
