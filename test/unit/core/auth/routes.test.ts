import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../functions/adapters/logger.ts';
import { signInRoutes } from '../../../../functions/core/auth/routes.ts';
import { createSessions } from '../../../../functions/core/auth/sessions.ts';
import type { DocumentStore, Team, User } from '../../../../functions/core/ports/documents.ts';
import {
  type GroupMapping,
  type IdentityProvider,
  IdentityRefused,
  type PendingSignIn,
  type Session,
} from '../../../../functions/core/ports/identity.ts';

function memoryStore<T>(idOf: (doc: T) => string): DocumentStore<T> {
  const docs = new Map<string, T>();
  return {
    idOf,
    get: async (id) => docs.get(id),
    create: async (d) => void docs.set(idOf(d), d),
    update: async (d) => void docs.set(idOf(d), d),
    delete: async (id) => void docs.delete(id),
    list: async () => [...docs.values()],
  };
}

describe('sign-in routes behind a proxy', () => {
  it("exchanges the code with the dashboard's callback URL that /auth/login named, not the request's own URL", async () => {
    // Prepare: the dashboard is served by a CloudFront distribution; the function sees its URL's host.
    const seen: { redirectUri?: string; callbackUrl?: string } = {};
    const identity: IdentityProvider = {
      issuer: 'https://idp.example',
      beginSignIn: async (redirectUri) => {
        seen.redirectUri = redirectUri;
        return {
          url: 'https://idp.example/auth',
          checks: { state: 's-1', nonce: 'n-1', codeVerifier: 'v-1' },
        };
      },
      completeSignIn: async (callbackUrl) => {
        seen.callbackUrl = callbackUrl.href;
        throw new IdentityRefused('stop here');
      },
    };
    const clock = { now: () => new Date('2026-12-01T00:00:00Z') };
    const sessionStore = memoryStore((s: Session) => s.session_hash);
    const originOf = () => 'https://d111.cloudfront.example';
    const routes = signInRoutes(
      {
        identity,
        sessions: createSessions({
          store: sessionStore,
          clock,
          ttlMs: 3_600_000,
          secure: true,
          originOf,
        }),
        pending: memoryStore((p: PendingSignIn) => p.state_hash),
        sessionStore,
        mappings: memoryStore((m: GroupMapping) => m.group),
        configMappings: [],
        masterKeyOff: false,
        originOf,
        loginsPerMinute: 20,
      },
      {
        users: memoryStore((u: User) => u.user_id),
        teams: memoryStore((t: Team) => t.team_id),
        clock,
        log: silentLogger,
        audit: async () => {},
      },
    );
    const functionUrl = 'https://abc.lambda-url.us-east-1.on.aws';

    // Act
    const login = await routes['GET /auth/login'](
      new Request(`${functionUrl}/auth/login`),
      new URL(`${functionUrl}/auth/login`),
      {
        address: '198.51.100.23',
      },
    );
    const stateCookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const callback = new URL(`${functionUrl}/auth/callback?code=c-1&state=s-1&iss=https%3A%2F%2Fidp.example`);
    const answer = await routes['GET /auth/callback'](
      new Request(callback, { headers: { cookie: stateCookie } }),
      callback,
    );

    // Assess
    expect(seen.redirectUri).toBe('https://d111.cloudfront.example/auth/callback');
    expect(answer.status).toBe(401);
    expect(seen.callbackUrl).toBe(
      'https://d111.cloudfront.example/auth/callback?code=c-1&state=s-1&iss=https%3A%2F%2Fidp.example',
    );
  });
});
