import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import Provider from 'oidc-provider';

/**
 * A real OpenID provider on 127.0.0.1 for the sign-in tests: oidc-provider, with one confidential
 * client (PKCE required, as oidc-provider always does), a signing key the test owns, and people whose
 * `groups` claim the test sets. Interactions complete by themselves as the person named by
 * `signInAs`, so a browser or a plain fetch can walk the whole code flow. `tamper` rewrites the next
 * ID token the token endpoint answers, re-signed (with the IdP's own key, or another one), to forge
 * the answers a gateway must refuse. With `tls` it serves https (an issuer as a deployment has one),
 * on `port` when the issuer must be known before it starts (a template synthesized with it).
 */
export interface TestIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  signInAs(person: Person): void;
  /** Changes the next ID token: its claims, and with `foreignKey` its signature. */
  tamper(change: { claims?: (claims: JWTPayload) => JWTPayload; foreignKey?: boolean }): void;
  /** The nonce of the last ID token issued. */
  lastNonce(): string | undefined;
  close(): Promise<void>;
}

export interface Person {
  sub: string;
  email: string;
  name: string;
  groups: string[];
}

/** The one client the IdP knows, for a deployment that must name it before the IdP starts. */
export const TEST_IDP_CLIENT = { id: 'tollgate-test', secret: 'tollgate-test-secret-0123456789' } as const;

export async function startTestIdp(
  redirectUris: string | string[],
  options: { port?: number; tls?: { key: Buffer; cert: Buffer } } = {},
): Promise<TestIdp> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const foreign = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(privateKey)), kid: 'test-idp-1', alg: 'RS256', use: 'sig' };
  let person: Person | undefined;
  let change: Parameters<TestIdp['tamper']>[0] | undefined;
  let nonce: string | undefined;

  const server: Server = options.tls ? createTlsServer(options.tls) : createServer();
  server.listen(options.port ?? 0, '127.0.0.1');
  await new Promise((done) => server.once('listening', done));
  const scheme = options.tls ? 'https' : 'http';
  const issuer = `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { id: clientId, secret: clientSecret } = TEST_IDP_CLIENT;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [redirectUris].flat(),
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [jwk] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    claims: { openid: ['sub'], email: ['email'], profile: ['name'], groups: ['groups'] },
    // The claims of the granted scopes go in the ID token, as Okta's and Entra's groups claims do.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, sub) {
      if (!person || person.sub !== sub) return undefined;
      const { email, name, groups } = person;
      return { accountId: sub, claims: async () => ({ sub, email, name, groups }) };
    },
    cookies: { keys: ['test-idp-cookie-key'] },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 600,
      Session: 600,
      Grant: 600,
    },
  });

  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as { id_token?: string } | undefined;
    if (ctx.path !== '/token' || !body?.id_token) return;
    nonce = decodeJwt(body.id_token).nonce as string | undefined;
    if (!change) return;
    const { claims = (c: JWTPayload) => c, foreignKey } = change;
    change = undefined;
    const header = decodeProtectedHeader(body.id_token);
    const signed = await new SignJWT(claims(decodeJwt(body.id_token)))
      .setProtectedHeader({ alg: 'RS256', kid: header.kid })
      .sign(foreignKey ? foreign.privateKey : privateKey);
    ctx.body = { ...body, id_token: signed };
  });

  const callback = provider.callback();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith('/interaction/')) void finishInteraction(req, res);
    else callback(req, res);
  });

  /** Completes the login, then the consent, for the person named by signInAs. */
  async function finishInteraction(req: IncomingMessage, res: ServerResponse) {
    try {
      const details = await provider.interactionDetails(req, res);
      if (!person) throw new Error('signInAs(...) first');
      if (details.prompt.name === 'login') {
        await provider.interactionFinished(req, res, { login: { accountId: person.sub } });
        return;
      }
      const grant = new provider.Grant({ accountId: person.sub, clientId });
      const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } });
    } catch (err) {
      res.statusCode = 500;
      res.end(String(err));
    }
  }

  return {
    issuer,
    clientId,
    clientSecret,
    signInAs: (next) => {
      person = next;
    },
    tamper: (next) => {
      change = next;
    },
    lastNonce: () => nonce,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

/** The gateway's settings for sign-in with this IdP (groups asked for), each group mapped as given. */
export function signInEnv(
  idp: TestIdp,
  groupMap: Array<{ group: string; team_id?: string; role?: string }>,
): Record<string, string> {
  return {
    TOLLGATE_OIDC_ISSUER: idp.issuer,
    TOLLGATE_OIDC_CLIENT_ID: idp.clientId,
    TOLLGATE_OIDC_CLIENT_SECRET: idp.clientSecret,
    TOLLGATE_OIDC_SCOPES: 'openid email profile groups',
    TOLLGATE_OIDC_GROUP_MAP: JSON.stringify(groupMap),
  };
}
