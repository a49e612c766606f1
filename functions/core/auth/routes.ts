/**
 * Sign-in with the organisation's IdP (OpenID Connect, authorization code with PKCE): `/auth/login`
 * sends the browser to the IdP, `/auth/callback` checks what comes back and opens a session,
 * `/auth/session` tells the page who is signed in (and its CSRF token), `/auth/logout` ends it.
 */

import type { ClientInfo } from '../client.ts';
import { GatewayError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { TeamStore, UserStore } from '../ports/documents.ts';
import {
  type GroupMapping,
  type GroupMappingStore,
  type IdentityClaims,
  type IdentityProvider,
  IdentityRefused,
  IdentityUnavailable,
  type PendingSignInStore,
  type SessionStore,
} from '../ports/identity.ts';
import type { Logger } from '../ports/logging.ts';
import { orderMappings, placementOf } from './groups.ts';
import { createLoginLimiter } from './login-limit.ts';
import { onboard, SignInDenied } from './onboard.ts';
import { messagePage } from './pages.ts';
import { hashSecret, type Sessions } from './sessions.ts';

export interface SignInDeps {
  identity: IdentityProvider;
  sessions: Sessions;
  pending: PendingSignInStore;
  /** The store behind `sessions`, for sweeping expired ones where the table has no TTL. */
  sessionStore: SessionStore;
  mappings: GroupMappingStore;
  configMappings: GroupMapping[];
  /** The master key refused: admins sign in (its attempts are still audited). */
  masterKeyOff: boolean;
  /** The dashboard's origin for a request: the IdP sends the browser back to `<it>/auth/callback`. */
  originOf(request: Request): string;
  /** Sign-ins one client address may start per minute (TOLLGATE_LOGIN_PER_MINUTE). */
  loginsPerMinute: number;
}

interface Stores {
  users: UserStore;
  teams: TeamStore;
  clock: Clock;
  log: Logger;
  audit(user_id: string, action: string, details?: Record<string, unknown>): Promise<void>;
  /** With SCIM on: whether the IdP has deactivated or deleted this person (core/scim/deprovision.ts). */
  deactivatedAtIdp?: (claims: IdentityClaims) => Promise<boolean>;
}

/** A sign-in has ten minutes to come back from the IdP. */
const SIGN_IN_TTL_MS = 10 * 60_000;
const SIGN_IN_COOKIE = 'tollgate_signin';

export function signInRoutes(deps: SignInDeps, stores: Stores) {
  const { identity, sessions, pending } = deps;
  const limiter = createLoginLimiter({ perMinute: deps.loginsPerMinute });

  const login = async (request: Request, url: URL, client: ClientInfo) => {
    // Before anything is written: each sign-in started stores a pending record.
    const taken = limiter.take(client.address ?? 'unknown', stores.clock.now().getTime());
    if (!taken.allowed) {
      stores.log.warn('auth.login_rate_limited', { retry_after_s: taken.retryAfterSeconds });
      return messagePage(
        429,
        'Too many sign-ins',
        `Too many sign-ins were started from your address in the last minute. Try again in ${taken.retryAfterSeconds} seconds.`,
        [['retry-after', String(taken.retryAfterSeconds)]],
      );
    }
    const return_to = url.searchParams.get('return_to') ?? undefined;
    let begun: Awaited<ReturnType<IdentityProvider['beginSignIn']>>;
    try {
      begun = await identity.beginSignIn(`${deps.originOf(request)}/auth/callback`);
    } catch (err) {
      if (!(err instanceof IdentityUnavailable)) throw err;
      stores.log.error('auth.idp_unavailable', { error: String(err.cause ?? err) });
      return messagePage(
        503,
        'Sign-in is unavailable',
        `${err.message} Try again shortly, or sign in with a key.`,
      );
    }
    const { url: target, checks } = begun;
    await pending.create({
      state_hash: hashSecret(checks.state),
      nonce: checks.nonce,
      code_verifier: checks.codeVerifier,
      return_to: localPath(return_to),
      expires_at: new Date(stores.clock.now().getTime() + SIGN_IN_TTL_MS).toISOString(),
    });
    // The state in a cookie too: a callback is only taken from the browser that started the sign-in.
    const cookie = sessions.cookie(SIGN_IN_COOKIE, checks.state, SIGN_IN_TTL_MS / 1000);
    return new Response(null, { status: 302, headers: { location: target, 'set-cookie': cookie } });
  };

  const callback = async (request: Request, url: URL) => {
    const clear = sessions.cookie(SIGN_IN_COOKIE, '', 0);
    const state = url.searchParams.get('state') ?? '';
    const refused = (status: number, title: string, message: string) =>
      messagePage(status, title, message, [['set-cookie', clear]]);
    if (url.searchParams.has('error'))
      return refused(
        401,
        'Sign-in was not completed',
        `The identity provider answered: ${url.searchParams.get('error')}.`,
      );
    if (!state || sessions.read(request.headers, SIGN_IN_COOKIE) !== state)
      return refused(
        400,
        'Sign-in not recognised',
        'This sign-in was not started in this browser. Sign in again.',
      );
    const started = await pending.get(hashSecret(state));
    // Used once: deleted before anything else, so a replayed callback finds nothing.
    if (started) await pending.delete(started.state_hash);
    if (!started || Date.parse(started.expires_at) <= stores.clock.now().getTime())
      return refused(
        400,
        'Sign-in expired or already used',
        'This sign-in link was already used or is too old. Sign in again.',
      );
    try {
      // The code is exchanged with the redirect_uri it was issued for, the dashboard's that `/auth/login`
      // named (RFC 6749 §4.1.3: identical). Behind CloudFront the request's own URL is the function URL's.
      const returnedTo = new URL(`${deps.originOf(request)}/auth/callback${url.search}`);
      const claims = await identity.completeSignIn(returnedTo, {
        state,
        nonce: started.nonce,
        codeVerifier: started.code_verifier,
      });
      if (await stores.deactivatedAtIdp?.(claims))
        throw new SignInDenied(
          403,
          'Your account is deactivated',
          'Your identity provider has deactivated your access to Tollgate. Ask an admin if this is a mistake.',
        );
      const place = placementOf(
        claims.groups,
        orderMappings(deps.configMappings, await deps.mappings.list()),
      );
      if (!place)
        throw new SignInDenied(
          403,
          'No team for your groups',
          'You signed in, but none of your groups is mapped to a Tollgate team. Ask an admin to map one of your groups to your team.',
        );
      const { user, created } = await onboard(stores, claims, place, stores.clock.now());
      const cookie = await sessions.start(user.user_id, place.team_id);
      await stores.audit(user.user_id, created ? 'user.sign_in_created' : 'user.sign_in', {
        team_id: place.team_id,
        role: place.role,
      });
      const headers = new Headers([
        ['location', started.return_to],
        ['set-cookie', clear],
        ['set-cookie', cookie],
      ]);
      return new Response(null, { status: 303, headers });
    } catch (err) {
      if (err instanceof SignInDenied) return refused(err.status, err.title, err.message);
      if (err instanceof IdentityUnavailable) return refused(503, 'Sign-in is unavailable', err.message);
      if (!(err instanceof IdentityRefused)) throw err;
      stores.log.warn('auth.sign_in_refused', { reason: err.message });
      return refused(
        401,
        'Sign-in refused',
        `The identity provider's answer did not pass a check: ${err.message}`,
      );
    }
  };

  return {
    'GET /auth/login': login,
    'GET /auth/callback': callback,
    'GET /auth/session': async (request: Request) => {
      const session = await sessions.current(request.headers);
      if (!session) throw new GatewayError('authentication', 'Not signed in.');
      const user = await stores.users.get(session.user_id);
      if (!user || user.blocked)
        throw new GatewayError('permission', `User '${session.user_id}' is blocked or gone.`);
      return Response.json({
        user_id: user.user_id,
        user_email: user.user_email,
        user_role: user.user_role,
        team_id: session.team_id,
        expires_at: session.expires_at,
        csrf_token: sessions.csrfToken(request.headers),
      });
    },
    // CSRF is checked for it like every change made with a session (api.ts).
    'POST /auth/logout': async (request: Request) => {
      const session = await sessions.current(request.headers);
      const cookie = await sessions.end(request.headers);
      if (session) await stores.audit(session.user_id, 'user.sign_out');
      return Response.json({ signed_out: true }, { headers: { 'set-cookie': cookie } });
    },
  };
}

/** Only a path on this origin: anything else (`//evil.example`, `https://...`) goes to the dashboard. */
function localPath(value: string | undefined): string {
  return value && value.length <= 512 && /^\/(?![/\\])[^\s]*$/.test(value) ? value : '/';
}
