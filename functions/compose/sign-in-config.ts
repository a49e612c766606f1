/**
 * Sign-in's settings, parsed from the variables `loadConfig` kept as given (`Config.signInEnv`) when the
 * admin side starts: the proxy never signs anyone in, and parsing them in config.ts would weigh on its
 * bundle. Nothing here reads the environment itself.
 */
import { configError } from '../core/config-error.ts';
import * as z from '../core/zod-mini.ts';

/** Sign-in with the organisation's IdP, from `signInConfig`. */
export interface SignInConfig {
  /**
   * Where people reach the dashboard (`https://tollgate.example.com`): the OIDC callback is
   * `<publicUrl>/auth/callback`, and cookies are Secure when it is https. Unset locally: the address
   * the request came to.
   */
  publicUrl: string | undefined;
  /**
   * Behind the dashboard's CloudFront distribution: the dashboard's origin is `https://` and the
   * viewer's host, which a CloudFront function copies into `x-forwarded-host` (AWS, set by CDK).
   */
  trustForwardedHost: boolean;
  /** Sign-in with the organisation's IdP (OpenID Connect); null (off) unless an issuer is set. */
  oidc: OidcConfig | null;
  /**
   * The master key refused (TOLLGATE_MASTER_KEY_OFF): admins sign in. Needs sign-in on and a group
   * mapped to `proxy_admin` in config, so no deployment locks its admins out.
   */
  masterKeyOff: boolean;
  /** Sign-ins one client address may start per minute, per instance (TOLLGATE_LOGIN_PER_MINUTE). */
  loginsPerMinute: number;
}

export interface OidcConfig {
  issuer: string;
  clientId: string;
  clientSecret: string | undefined;
  /**
   * AWS: the secret holding the client secret, or `{"client_id", "client_secret"}` as JSON (a Cognito
   * app client's), read at cold start (TOLLGATE_OIDC_CLIENT_SECRET_ARN).
   */
  clientSecretArn: string | undefined;
  scopes: string;
  groupsClaim: string;
  /** JSON list of `{group, team_id?, role?}` (TOLLGATE_OIDC_GROUP_MAP). */
  groupMapJson: string | undefined;
  /**
   * Sent as `identity_provider` on the authorization request (TOLLGATE_OIDC_IDENTITY_PROVIDER): a
   * Cognito user pool then goes straight to the org's IdP instead of showing its own page with one
   * button on it. Other issuers ignore the parameter.
   */
  identityProvider: string | undefined;
  sessionHours: number;
}

const optional = z.pipe(
  z.optional(z.string()),
  z.transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim())),
);
const text = (fallback: string) => z._default(z.string(), fallback);
const flag = (fallback: 'true' | 'false') => z._default(z.enum(['true', 'false']), fallback);
/** An http(s) URL; checked with the platform's URL parser (zod's own URL check would weigh on the proxy's bundle). */
const webUrl = z.optional(
  z
    .string()
    .check(z.refine((v) => /^https?:\/\/[^\s/]/.test(v) && URL.canParse(v), 'expected an http(s) URL')),
);

const SignInEnvSchema = z.object({
  TOLLGATE_PUBLIC_URL: webUrl,
  TOLLGATE_TRUST_FORWARDED_HOST: flag('false'),
  TOLLGATE_OIDC_ISSUER: webUrl,
  TOLLGATE_OIDC_CLIENT_ID: optional,
  TOLLGATE_OIDC_CLIENT_SECRET: optional,
  TOLLGATE_OIDC_CLIENT_SECRET_ARN: optional,
  TOLLGATE_OIDC_SCOPES: text('openid email profile'),
  TOLLGATE_OIDC_GROUPS_CLAIM: text('groups'),
  TOLLGATE_OIDC_GROUP_MAP: optional,
  TOLLGATE_OIDC_IDENTITY_PROVIDER: optional,
  TOLLGATE_SESSION_HOURS: z._default(z.coerce.number().check(z.positive(), z.lte(24 * 30)), 8),
  TOLLGATE_MASTER_KEY_OFF: flag('false'),
  TOLLGATE_LOGIN_PER_MINUTE: z._default(z.coerce.number().check(z.int(), z.positive()), 20),
});

/** Sign-in's settings from the variables `loadConfig` kept (`signInEnv`); a mistake is a ConfigError naming one. */
export function signInConfig(env: Record<string, string | undefined>): SignInConfig {
  const parsed = SignInEnvSchema.safeParse(env);
  if (!parsed.success) throw configError('env', parsed.error.issues, undefined, parsed.error);
  const e = parsed.data;
  return {
    publicUrl: e.TOLLGATE_PUBLIC_URL?.replace(/\/+$/, ''),
    trustForwardedHost: e.TOLLGATE_TRUST_FORWARDED_HOST === 'true',
    oidc: oidcConfig(e),
    masterKeyOff: e.TOLLGATE_MASTER_KEY_OFF === 'true',
    loginsPerMinute: e.TOLLGATE_LOGIN_PER_MINUTE,
  };
}

function oidcConfig(e: z.infer<typeof SignInEnvSchema>): OidcConfig | null {
  if (!e.TOLLGATE_OIDC_ISSUER) return null;
  // On AWS the client id may come with its secret, as JSON in Secrets Manager (a Cognito app client's).
  if (!e.TOLLGATE_OIDC_CLIENT_ID && !e.TOLLGATE_OIDC_CLIENT_SECRET_ARN)
    throw configError('env', [
      {
        code: 'custom',
        path: ['TOLLGATE_OIDC_CLIENT_ID'],
        message: 'needed when TOLLGATE_OIDC_ISSUER is set',
        input: undefined,
      },
    ]);
  return {
    issuer: e.TOLLGATE_OIDC_ISSUER,
    clientId: e.TOLLGATE_OIDC_CLIENT_ID ?? '',
    clientSecret: e.TOLLGATE_OIDC_CLIENT_SECRET,
    clientSecretArn: e.TOLLGATE_OIDC_CLIENT_SECRET_ARN,
    scopes: e.TOLLGATE_OIDC_SCOPES,
    groupsClaim: e.TOLLGATE_OIDC_GROUPS_CLAIM,
    groupMapJson: e.TOLLGATE_OIDC_GROUP_MAP,
    identityProvider: e.TOLLGATE_OIDC_IDENTITY_PROVIDER,
    sessionHours: e.TOLLGATE_SESSION_HOURS,
  };
}
