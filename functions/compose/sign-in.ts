/**
 * OIDC sign-in's dependencies, when the config names an issuer: the IdP (discovered once, at start),
 * the sessions and the group mapping over the table. Only the admin API's side loads this; the
 * proxy never does.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { signInStores } from '../adapters/aws/dynamo-sign-in-stores.ts';
import { createOidcProvider } from '../adapters/oidc/openid-client.ts';
import type { Config } from '../config.ts';
import { mappingsFromConfig } from '../core/auth/groups.ts';
import type { SignInDeps } from '../core/auth/routes.ts';
import { createSessions } from '../core/auth/sessions.ts';
import { ConfigError } from '../core/config-error.ts';
import type { Clock } from '../core/ports/clock.ts';
import { type SignInConfig, signInConfig } from './sign-in-config.ts';

export async function composeSignIn(
  config: Config,
  table: { client: DynamoDBClient; tableName: string },
  clock: Clock,
  /**
   * What Secrets Manager holds (AWS): the client secret, or `{"client_id", "client_secret"}` as JSON
   * (a Cognito app client's, written there by the stack); over the environment's.
   */
  storedSecret?: string,
): Promise<SignInDeps | undefined> {
  // Checked at every start: a mistake in a sign-in variable stops it, naming the variable.
  const signIn = signInConfig(config.signInEnv);
  const { oidc } = signIn;
  if (!oidc) {
    if (signIn.masterKeyOff)
      throw new ConfigError(
        'TOLLGATE_MASTER_KEY_OFF: needs sign-in on (TOLLGATE_OIDC_ISSUER), or no one could administer',
      );
    return undefined;
  }
  // A mistake in the mapping stops the start, before the IdP is asked anything.
  const configMappings = mappingsFromConfig(oidc.groupMapJson);
  if (signIn.masterKeyOff && !configMappings.some((m) => m.role === 'proxy_admin'))
    throw new ConfigError(
      'TOLLGATE_MASTER_KEY_OFF: needs a group mapped to proxy_admin in TOLLGATE_OIDC_GROUP_MAP, or no one could administer',
    );
  const client = clientOf(oidc.clientId, oidc.clientSecret, storedSecret);
  const identity = createOidcProvider({ ...oidc, ...client });
  const stores = signInStores(table.client, table.tableName);
  const originOf = publicOrigin(signIn);
  return {
    identity,
    sessions: createSessions({
      store: stores.sessions,
      clock,
      ttlMs: oidc.sessionHours * 3_600_000,
      // Behind CloudFront (the forwarded host trusted) the dashboard is https only.
      secure: signIn.publicUrl?.startsWith('https:') ?? signIn.trustForwardedHost,
      originOf,
    }),
    pending: stores.pending,
    sessionStore: stores.sessions,
    mappings: stores.mappings,
    configMappings,
    originOf,
    masterKeyOff: signIn.masterKeyOff,
    loginsPerMinute: signIn.loginsPerMinute,
  };
}

function clientOf(
  clientId: string,
  clientSecret: string | undefined,
  stored: string | undefined,
): { clientId: string; clientSecret: string | undefined } {
  if (stored === undefined) return { clientId, clientSecret };
  if (!stored.trim().startsWith('{')) return { clientId, clientSecret: stored };
  const parsed = JSON.parse(stored) as { client_id?: unknown; client_secret?: unknown };
  const id = typeof parsed.client_id === 'string' ? parsed.client_id : clientId;
  if (!id) throw new Error('OIDC sign-in: no client id in TOLLGATE_OIDC_CLIENT_ID or the client secret');
  return {
    clientId: id,
    clientSecret: typeof parsed.client_secret === 'string' ? parsed.client_secret : clientSecret,
  };
}

/**
 * The dashboard's origin for a request: TOLLGATE_PUBLIC_URL when set; behind the dashboard's CloudFront
 * distribution (TOLLGATE_TRUST_FORWARDED_HOST), the viewer's host that its function copies into
 * `x-forwarded-host` — the function cannot be told the distribution's domain, which depends on the
 * function's own URL; else the address the request came to (the local server).
 */
function publicOrigin(config: SignInConfig): (request: Request) => string {
  if (config.publicUrl) {
    const { origin } = new URL(config.publicUrl);
    return () => origin;
  }
  return (request) => {
    const forwarded = config.trustForwardedHost ? request.headers.get('x-forwarded-host')?.trim() : undefined;
    return forwarded && /^[\w.-]+(:\d+)?$/.test(forwarded)
      ? `https://${forwarded}`
      : new URL(request.url).origin;
  };
}
