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
import type { Clock } from '../core/ports/clock.ts';

export async function composeSignIn(
  config: Config,
  table: { client: DynamoDBClient; tableName: string },
  clock: Clock,
  /** The client secret read from Secrets Manager (AWS), over the one in the environment. */
  clientSecret?: string,
): Promise<SignInDeps | undefined> {
  const { oidc } = config;
  if (!oidc) return undefined;
  // A mistake in the mapping stops the start, before the IdP is asked anything.
  const configMappings = mappingsFromConfig(oidc.groupMapJson);
  const identity = await createOidcProvider({ ...oidc, clientSecret: clientSecret ?? oidc.clientSecret });
  const stores = signInStores(table.client, table.tableName);
  return {
    identity,
    sessions: createSessions({
      store: stores.sessions,
      clock,
      ttlMs: oidc.sessionHours * 3_600_000,
      secure: config.publicUrl?.startsWith('https:') ?? false,
      origin: config.publicUrl && new URL(config.publicUrl).origin,
    }),
    pending: stores.pending,
    mappings: stores.mappings,
    configMappings,
    redirectUri: config.publicUrl ? `${config.publicUrl}/auth/callback` : undefined,
  };
}
