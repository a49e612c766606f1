/**
 * Browser sessions after an OIDC sign-in: an HttpOnly, SameSite=Lax cookie on the dashboard's own
 * origin (Secure, with the `__Host-` prefix, when served over https), whose value is stored only as a
 * hash. State-changing requests made with the cookie carry a CSRF token derived from it (an HMAC of
 * the session's secret, so nothing more is stored) and, when the browser sends one, an Origin that is
 * the gateway's own.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseCookie, stringifySetCookie } from 'cookie';
import { GatewayError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { Session, SessionStore } from '../ports/identity.ts';

export const CSRF_HEADER = 'x-csrf-token';

export interface SessionOptions {
  store: SessionStore;
  clock: Clock;
  ttlMs: number;
  /** Served over https: the cookies are Secure and `__Host-` prefixed. */
  secure: boolean;
  /**
   * The dashboard's origin for a request (behind CloudFront the request's own URL is the function's);
   * unset, the origin of the request's URL.
   */
  originOf?: (request: Request) => string;
}

export interface Sessions {
  /** A new session for the person: the Set-Cookie header that carries it. */
  start(user_id: string, team_id: string | null): Promise<string>;
  /** The live session the request's cookie names, or undefined (none, unknown, expired). */
  current(headers: Headers): Promise<Session | undefined>;
  /** Whether the request carries a session cookie at all (live or not). */
  presented(headers: Headers): boolean;
  /** The CSRF token the page sends back with every change, for the session in the request. */
  csrfToken(headers: Headers): string | undefined;
  /** 403 unless the request carries the session's CSRF token and, if any, this origin. */
  checkCsrf(request: Request): void;
  /** Ends the request's session; the Set-Cookie header that clears it. */
  end(headers: Headers): Promise<string>;
  /** A short-lived cookie (the sign-in's `state`), with the session cookie's attributes. */
  cookie(name: string, value: string, maxAgeSeconds: number): string;
  read(headers: Headers, name: string): string | undefined;
}

export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export function createSessions(options: SessionOptions): Sessions {
  const { store, clock, secure } = options;
  const name = (base: string) => (secure ? `__Host-${base}` : base);
  const SESSION = 'tollgate_session';
  const cookie = (base: string, value: string, maxAge: number) =>
    stringifySetCookie({
      name: name(base),
      value,
      httpOnly: true,
      secure,
      sameSite: 'lax',
      path: '/',
      maxAge,
    });
  const read = (headers: Headers, base: string) => {
    const header = headers.get('cookie');
    return header ? parseCookie(header)[name(base)] || undefined : undefined;
  };
  const csrfOf = (token: string) => createHmac('sha256', token).update('tollgate-csrf').digest('base64url');

  return {
    async start(user_id, team_id) {
      const token = randomBytes(32).toString('base64url');
      const now = clock.now();
      await store.create({
        session_hash: hashSecret(token),
        user_id,
        team_id,
        created_at: now.toISOString(),
        expires_at: new Date(now.getTime() + options.ttlMs).toISOString(),
      });
      return cookie(SESSION, token, Math.floor(options.ttlMs / 1000));
    },
    async current(headers) {
      const token = read(headers, SESSION);
      if (!token) return undefined;
      const session = await store.get(hashSecret(token));
      if (!session) return undefined;
      if (Date.parse(session.expires_at) <= clock.now().getTime()) {
        await store.delete(session.session_hash);
        return undefined;
      }
      return session;
    },
    presented: (headers) => read(headers, SESSION) !== undefined,
    csrfToken(headers) {
      const token = read(headers, SESSION);
      return token ? csrfOf(token) : undefined;
    },
    checkCsrf(request) {
      const token = read(request.headers, SESSION);
      const sent = request.headers.get(CSRF_HEADER) ?? '';
      const origin = request.headers.get('origin');
      const own = options.originOf?.(request) ?? new URL(request.url).origin;
      if (origin !== null && origin !== own)
        throw new GatewayError('permission', `A change from another origin (${origin}) is refused.`);
      if (!token || !sameText(sent, csrfOf(token)))
        throw new GatewayError(
          'permission',
          `A change made with a sign-in session needs its CSRF token in the ${CSRF_HEADER} header (GET /auth/session).`,
        );
    },
    async end(headers) {
      const token = read(headers, SESSION);
      if (token) await store.delete(hashSecret(token));
      return cookie(SESSION, '', 0);
    },
    cookie,
    read,
  };
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
